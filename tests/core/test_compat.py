# Portable: runs under CPython (pytest) and MicroPython (tests/mpy_runner.py).
from ht import compat


def test_ticks_diff_is_signed_and_wraps():
    t0 = compat.ticks_ms()
    later = compat.ticks_add(t0, 1500)
    assert compat.ticks_diff(later, t0) == 1500
    assert compat.ticks_diff(t0, later) == -1500


def test_ticks_add_across_the_wrap():
    edge = compat.ticks_add(0, -10)  # 10 ms before the counter wraps to zero
    after = compat.ticks_add(edge, 25)
    assert compat.ticks_diff(after, edge) == 25
    assert after < edge  # it really wrapped


def test_const_returns_value():
    assert compat.const(7) == 7


def test_asleep_ms_waits_in_asyncio_on_either_interpreter():
    import asyncio

    async def main():
        t0 = compat.ticks_ms()
        await compat.asleep_ms(20)
        return compat.ticks_diff(compat.ticks_ms(), t0)

    assert asyncio.run(main()) >= 19   # never shorter than asked (longer is fine on a busy machine)


def test_kernel_selector_gives_viper_on_micropython_and_the_pure_twin_otherwise():
    import sys
    from ht.compat import kernel, is_viper
    for name in ("ht.voice.adpcm", "ht.voice.adpcmt", "ht.voice.ulaw", "ht.voice.g726", "ht.voice.plc",
                 "ht.voice.pcmcopy"):
        pure = kernel(name, False)
        assert pure.__name__ == name + "_pure" and not is_viper(pure)
        k = kernel(name)
        # MicroPython unix (x64) has the native emitter; CPython has no `micropython` module.
        assert is_viper(k) == (sys.implementation.name == "micropython"), name
        assert k.__name__ == name + ("_viper" if is_viper(k) else "_pure")
