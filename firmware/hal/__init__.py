# The one hardware seam. create() gives hal.esp32 on the radio and hal.sim everywhere else (the virtual
# device under MicroPython unix, CPython tests). Both expose the surface in docs/HAL.md; nothing in ht/
# may know which one it got.
import sys

# ht/modem/lifecycle.py drives modem controls as "asserted" (1) / "released" (0): PWRKEY 1 = key pressed, POWERON 1 =
# supply on, RESET 1 = held in reset, DTR 1 = asserted. board.json gives the GPIO level that asserts each
# control ("active"), because LilyGO drives PWRKEY and RESET through transistors that invert.
MODEM_CONTROLS = ("pwrkey", "poweron", "reset", "dtr")


def gpio_level(active, asserted):
    # GPIO level that asserts (or releases) a control wired with the given "active" level.
    return active if asserted else 1 - active


def create(board, **kw):
    if sys.platform == "esp32":
        from hal import esp32 as impl
    else:
        from hal import sim as impl
    return impl.HAL(board, **kw)
