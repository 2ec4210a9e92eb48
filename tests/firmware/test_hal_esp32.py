"""hal/esp32.py with htsim/rig/fakes/machine.py injected as `machine`: every board file builds a HAL whose pins,
I2S, UART and ADC are configured from board.json; the PTT IRQ sets the input flag; I2S microphone frames
reach the app through the real MicroPython asyncio stream (driver under MicroPython unix)."""
import importlib
import json
import pathlib
import sys

import pytest

from fixtures.mpy import run_mpy
from htsim import rig

ROOT = pathlib.Path(__file__).resolve().parents[2]
BOARDS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "boards").glob("*/board.json"))


@pytest.fixture
def esp32(monkeypatch):
    monkeypatch.syspath_prepend(str(rig.FAKES_DIR))
    import machine as fake
    fake.reset_fake()
    monkeypatch.setitem(sys.modules, "machine", fake)
    sys.modules.pop("hal.esp32", None)
    mod = importlib.import_module("hal.esp32")
    yield mod, fake
    sys.modules.pop("hal.esp32", None)


@pytest.mark.parametrize("path", BOARDS)
def test_hal_pins_and_peripherals_come_from_the_board_file(esp32, path):
    mod, fake = esp32
    from ht import board as B
    board = B.load_path(str(ROOT / path))
    hal = mod.HAL(board)
    for role in ("buttons.ptt", "buttons.emergency"):
        p = hal.pins[role]
        assert p.id == B.pin(board, role) and p.mode == fake.Pin.IN
        assert p.trigger == fake.Pin.IRQ_FALLING | fake.Pin.IRQ_RISING
    # PTT IRQ: does almost nothing but set the flag the app can wait on
    hal.input_flag.clear()
    ptt = hal.pins["buttons.ptt"]
    ptt.drive(1)
    ptt.drive(B.active(board, "buttons.ptt", 0))
    assert hal.input_flag.is_set() and hal.button("ptt")() is True
    # modem controls start released at the board's polarity and follow ht.modem.lifecycle's asserted/released
    pins = hal.modem_pins()
    assert "pwrkey" in pins
    pk = hal.pins["modem.pwrkey"]
    act = B.active(board, "modem.pwrkey", 1)
    assert pk.value() == 1 - act
    pins["pwrkey"](1)
    assert pk.value() == act
    pins["pwrkey"](0)
    assert pk.value() == 1 - act
    # speaker: I2S TX at 8 kHz on the amp pins, non-blocking (irq); a tone is synthesised into it
    spk = hal.speaker()
    a = board["audio"]["amp"]
    assert spk.i2s.pins == (a["bclk"], a["lrc"], a["din"]) and spk.i2s.rate == 8000 and spk.i2s.bits == 16
    assert spk.i2s.mode == fake.I2S.TX and spk.i2s.handler is not None
    hal.tone(1000, 60)
    while spk.tones or spk.busy:
        spk.i2s.complete()
        if not spk.tones:
            spk.i2s.complete()
            break
    assert len(spk.i2s.written) == 2 * 480       # 60 ms of 16-bit samples
    # battery through the divider
    if B.pin(board, "battery") is not None:
        assert hal.battery_mv() == int(2000 * B.battery_divider(board))
    assert hal.unique_id() == "240ac4123456"


def test_fake_machine_refuses_what_the_chip_would(esp32):
    _, fake = esp32
    fake.reset_fake()
    with pytest.raises(ValueError):
        fake.Pin(7, fake.Pin.OUT)                       # SPI flash
    with pytest.raises(ValueError):
        fake.Pin(35, fake.Pin.OUT)                      # input only
    with pytest.raises(TypeError):
        fake.I2S(0, sck=5, ws=fake.Pin(18), sd=fake.Pin(19), mode=fake.I2S.RX, bits=32, format=0, rate=8000,
                 ibuf=1024)
    with pytest.raises(ValueError):
        fake.I2S(0, sck=fake.Pin(18), ws=fake.Pin(19), sd=fake.Pin(21), mode=fake.I2S.RX, bits=24,
                 format=0, rate=8000, ibuf=1024)
    fake.UART(1, 115200, tx=26, rx=27)
    with pytest.raises(ValueError):
        fake.Pin(26, fake.Pin.OUT)                      # already the UART's


@pytest.mark.mpy
def test_mic_frames_and_ptt_irq_under_micropython():
    r = run_mpy([rig.program("hal_esp32_driver")] + BOARDS, timeout=60, extra_paths=[rig.FAKES_DIR])
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
    assert line, r.stdout + r.stderr
    res = json.loads(line[0][7:])
    assert sorted(res) == BOARDS
    for path, out in res.items():
        assert out["waited"] and out["pcm_ok"] and out["irq_flag"] and out["pressed"], (path, out)


def test_watchdog_is_started_once_fed_by_the_caller_and_kept_fed_at_the_repl(esp32):
    mod, fake = esp32
    from ht import board as B
    hal = mod.HAL(B.load_path(str(ROOT / BOARDS[0])))
    feed = hal.watchdog(30000)
    assert hal.watchdog(30000) == feed or hal._wdt.timeout == 30000
    assert [c for c in fake.calls if c[0] == "WDT"] == [("WDT", (30000,))]
    feed()
    feed()
    assert hal._wdt.feeds == 2
    hal.watchdog_idle()
    hal._wdt_timer.callback(hal._wdt_timer)
    assert hal._wdt.feeds == 3 and hal._wdt_timer.period == 1000
