# CPython only (the portable runner never reads this): the bootstrap is a top-level module of firmware/,
# not an installed package, so its folder joins the import path here; MicroPython finds it on MICROPYPATH.
import sys

from htctl.firmware import FIRMWARE_DIR

if str(FIRMWARE_DIR) not in sys.path:
    sys.path.append(str(FIRMWARE_DIR))
