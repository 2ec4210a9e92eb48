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
