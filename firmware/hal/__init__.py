# The one hardware seam. create() gives hal.esp32 on the radio and hal.sim everywhere else (the virtual
# device under MicroPython unix, CPython tests). Both expose the surface in docs/HAL.md; nothing in ht/
# may know which one it got.
import sys

# ht/modem.py speaks in levels AT THE MODEM PIN (PWRKEY 0 = pressed, POWERON 1 = supply on, RESET 1 = in
# reset, DTR 0 = asserted). board.json gives the GPIO level that asserts each control ("active"), because
# LilyGO drives PWRKEY and RESET through transistors that invert. This table joins the two conventions.
MODEM_ASSERTED = {"pwrkey": 0, "poweron": 1, "reset": 1, "dtr": 0}


def gpio_level(active, asserted, level):
    # GPIO level that puts the modem pin at `level`.
    return active if (1 if level else 0) == asserted else 1 - active


def create(board, **kw):
    if sys.platform == "esp32":
        from hal import esp32 as impl
    else:
        from hal import sim as impl
    return impl.HAL(board, **kw)
