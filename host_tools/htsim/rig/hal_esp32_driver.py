# hal/esp32.py under MicroPython unix with rig/fakes/machine.py standing in for `machine` (the fakes folder
# is on MICROPYPATH: tests/firmware/test_hal_esp32.py passes it): the real
# asyncio.StreamReader polls the fake I2S/UART. Prints one JSON line. Run by tests/firmware/test_hal_esp32.py.
import sys
import json
import asyncio
import machine as fake
sys.modules["machine"] = fake   # what hal.esp32 imports is the fake, whatever the port has built in
from array import array  # noqa: E402 (after the fake machine is in place)
from ht import board as B  # noqa: E402
from hal import esp32  # noqa: E402


async def one(path):
    fake.reset_fake()
    board = B.load_path(path)
    hal = esp32.HAL(board)
    out = {}
    mic = hal.mic()
    n = 160
    raw = bytearray()
    for i in range(n):
        v = (i * 100 - 8000) & 0xFFFF
        raw += bytes((0, 0x55, v & 0xFF, v >> 8))    # 32-bit slots, sample in the top 16 bits
    pcm = array("h", [0] * n)
    mic.i2s.rx_data += raw[:300]                      # a partial frame first: readinto must wait
    t = asyncio.create_task(mic.readinto(pcm))
    await asyncio.sleep_ms(20)
    out["waited"] = not t.done()
    mic.i2s.rx_data += raw[300:]
    await asyncio.wait_for_ms(t, 1000)
    out["pcm_ok"] = list(pcm) == [i * 100 - 8000 for i in range(n)]
    hal.input_flag.clear()
    hal.pins["buttons.ptt"].drive(1)                 # released level first (external pull-ups read 0 here)
    hal.pins["buttons.ptt"].drive(B.active(board, "buttons.ptt", 0))
    await asyncio.wait_for_ms(hal.input_flag.wait(), 1000)
    out["irq_flag"] = True
    out["pressed"] = hal.button("ptt")()
    u = hal.modem_uart()
    await u.write(b"AT\r")
    uart = [c for c in fake.calls if c[0] == "UART"][0][1]
    out["uart"] = list(uart[:4])
    return out


async def main():
    res = {}
    for path in sys.argv[1:]:
        res[path] = await one(path)
    print("RESULT " + json.dumps(res))

asyncio.run(main())
