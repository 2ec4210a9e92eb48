# What the virtual device (`htctl vdev`, MicroPython unix on a desktop) runs: the radio build plus the
# desktop HAL (virtual pins, the modem emulator over TCP, WAV audio) and the desktop TCP/TLS byte stream.
include("radio.py")
package("hal", files=("sim.py", "netstream.py"), base_path="..")
