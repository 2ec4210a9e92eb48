"""Virtual device: the firmware under the MicroPython unix interpreter, with its REPL on a pty.

``mpremote connect /dev/pts/N …`` and ``htctl deploy --port /dev/pts/N`` drive it exactly like a radio on
/dev/ttyUSB0. The pieces:

* a **flash folder** mounted as the device's ``/`` (``os.VfsPosix``), so ``fs ls``/``fs cp`` see only the
  device's files and ``boot.py``/``main.py`` run from there after every reset, like on the ESP32;
* the **interpreter** (``.venv/bin/micropython -i -c <boot code>``) on a private pty that is its controlling
  terminal, so Ctrl-C interrupts running code through SIGINT exactly as the UART interrupt char does;
* a **bridge** thread between that pty and the pty the user sees. The unix port already speaks the friendly
  REPL, the raw REPL and raw-paste itself (checked: Ctrl-A gives ``raw REPL; CTRL-B to exit``, Ctrl-E ``A``
  Ctrl-A gives ``R\\x01`` + a 128-byte window), so the bridge does not re-implement them. What the unix port
  lacks is soft reset: Ctrl-D at an empty prompt makes it *exit*. The bridge restarts it, prints
  ``MPY: soft reboot`` like ports/esp32/main.c, runs boot.py (and main.py only when the friendly REPL was
  active, as pyexec does), and when the raw REPL was active re-enters it before handing the line back, so
  ``mpremote soft-reset`` and mpremote's automatic soft reset work unmodified.
* Output is translated ``\\n`` -> ``\\r\\n`` (the ESP32's stdout is "cooked" the same way), and buffered
  while nobody has the port open (a USB-serial adapter drops it instead; we keep the last 256 KiB).

Modules: ``device`` (VirtualDevice: flash folder, modem wiring, lifecycle), ``bridge`` (the pty thread and
soft reset), ``termflags`` (boot code and the terminal flags it signals with), ``transcript`` (what it printed).

Python API::

    with VirtualDevice(board="LILYGO_T_A7670", flash_dir=tmp, modem=emu) as dev:
        port = dev.port                       # "/dev/pts/7"
        dev.wait_output(rb"HT firmware", 10)  # transcript of everything the device printed
"""
from .device import DEFAULT_BOARD, VirtualDevice, install_firmware, micropython_exe

__all__ = ["VirtualDevice", "install_firmware", "micropython_exe", "DEFAULT_BOARD"]
