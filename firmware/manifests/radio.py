# What ships to an ESP32 radio: `htctl deploy` copies exactly these files (compiled to .mpy), and the same
# file can be passed to a MicroPython build as FROZEN_MANIFEST to freeze them into a firmware image.
# Written in MicroPython's manifest language (package/module/include, paths relative to this file).
module("main.py", base_path="..")
module("bootstrap.py", base_path="..")                         # picks the release to boot; never sent OTA
package("ht", base_path="..")                                   # the pure core, every domain package
package("hal", files=("__init__.py", "esp32.py"), base_path="..")  # the ESP32 HAL only: no desktop twin
