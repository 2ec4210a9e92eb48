# The only module that knows which interpreter it runs on. Everything else imports
# time helpers and `const` from here so the same code runs on CPython 3.11,
# MicroPython unix and the ESP32.
import sys

IS_MPY = sys.implementation.name == "micropython"

if IS_MPY:
    from micropython import const
    import time as _t

    ticks_ms = _t.ticks_ms
    ticks_us = _t.ticks_us
    ticks_diff = _t.ticks_diff
    ticks_add = _t.ticks_add
    sleep_ms = _t.sleep_ms

    def mem_alloc():
        import gc
        return gc.mem_alloc()

else:
    import time as _t

    def const(x):
        return x

    # CPython has no wrapping tick counter; emulate the ESP32's (period 2**30) so
    # wrap-around bugs show up on the desktop instead of after 12 days in the field.
    TICKS_PERIOD = 1 << 30
    _TICKS_MAX = TICKS_PERIOD - 1
    _TICKS_HALF = TICKS_PERIOD // 2

    def ticks_ms():
        return int(_t.monotonic() * 1000) & _TICKS_MAX

    def ticks_us():
        return int(_t.monotonic() * 1000000) & _TICKS_MAX

    def ticks_add(ticks, delta):
        return (ticks + delta) & _TICKS_MAX

    def ticks_diff(a, b):
        return ((a - b + _TICKS_HALF) & _TICKS_MAX) - _TICKS_HALF

    def sleep_ms(ms):
        _t.sleep(ms / 1000)

    def mem_alloc():
        return 0


# asyncio's millisecond sleep: MicroPython has asyncio.sleep_ms (no float maths, no wrapper per call),
# CPython only sleep(seconds). The pure core (codecs, frames) must still load where asyncio is absent
# (a bare build, or MICROPYPATH without .frozen), so a missing asyncio only leaves asleep_ms out.
try:
    import asyncio as _asyncio
except ImportError:
    _asyncio = None

if _asyncio is not None and IS_MPY:
    asleep_ms = _asyncio.sleep_ms
elif _asyncio is not None:
    def asleep_ms(ms):
        return _asyncio.sleep(ms / 1000)


# Hot-loop kernels come in pairs with one naming scheme: `<name>_viper.py` (native code, @micropython.viper)
# and `<name>_pure.py` (its bit-identical twin in plain Python). kernel("ht.voice.adpcm") is the one place
# that picks: the viper module where this port compiles native code, else the twin. A port without a
# native emitter raises SyntaxError/ValueError/NotImplementedError on import, CPython an ImportError (no
# `micropython` module). viper=False forces the twin, so tests run both branches on every interpreter.
_NO_NATIVE = (ImportError, SyntaxError, ValueError, NotImplementedError)


def _module(dotted):
    m = __import__(dotted)
    for part in dotted.split(".")[1:]:
        m = getattr(m, part)
    return m


def kernel(name, viper=True):
    if viper:
        try:
            return _module(name + "_viper")
        except _NO_NATIVE:
            pass
    return _module(name + "_pure")


def is_viper(mod):
    return mod.__name__.endswith("_viper")


_ARCHS = ("", "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp", "xtensa",
          "xtensawin", "rv32imc", "rv64imc")


def mpy_arch():
    # The native .mpy architecture this interpreter loads ("xtensawin" on an ESP32), "py" for none (CPython):
    # a release is built for one (docs/OTA.md). sys.implementation._mpy: version | arch << 10.
    m = getattr(sys.implementation, "_mpy", None)
    if m is None:
        return "py"
    a = (m >> 10) & 0x0F
    return _ARCHS[a] if a < len(_ARCHS) and a else "py"
