# Portable: runs under CPython (pytest) and MicroPython (tests/mpy_runner.py).
# The firmware's board loader reads the repository's real board files.
from ht import board

BOARDS = ("LILYGO_T_A7670", "LILYGO_T_SIM7600", "DIY_DEVKITC_EC200U")


def _root():
    # Repository root from this file's path, so the test runs from any working directory.
    i = __file__.rfind("tests/core")
    return __file__[:i] if i >= 0 else ""


def _load(name):
    return board.load_path("%sboards/%s/board.json" % (_root(), name))


def test_real_boards_load_with_their_dialects():
    dialects = [board.dialect(_load(n)) for n in BOARDS]
    assert dialects == ["A7670", "SIM7600", "EC200U"]


def test_pin_lookup_matches_the_vendor_pinout():
    b = _load("LILYGO_T_A7670")
    assert board.uart(b) == (1, 26, 27, 115200)
    assert board.pin(b, "modem.pwrkey") == 4
    assert board.pin(b, "modem.poweron") == 12
    assert board.active(b, "modem.reset") == 1
    assert board.pin(b, "battery") == 35
    assert board.pin(b, "modem.flight") is None
    s = _load("LILYGO_T_SIM7600")
    assert board.uart(s)[1:3] == (27, 26)
    assert board.pin(s, "modem.dtr") == 32
    assert board.pulse_ms(s, "modem.pwrkey") >= 500


def test_buttons_carry_pull_and_active_level():
    b = _load("DIY_DEVKITC_EC200U")
    assert board.pull(b, "buttons.ptt") == "up"
    assert board.active(b, "buttons.ptt") == 0
    assert board.firmware_offset(b) == 0x1000
    assert board.battery_divider(b) == 2.0


def test_roles_lists_every_pin_once_per_role():
    b = _load("LILYGO_T_SIM7600")
    rs = board.roles(b)
    names = [r[0] for r in rs]
    assert len(names) == len(set(names))
    assert ("leds.status", 12, "out") in rs
    assert ("audio.mic.sd", 39, "in") in rs


def _expect_error(text, words):
    try:
        board.load(text)
    except ValueError as e:
        assert words in str(e), str(e)
    else:
        assert False, "accepted: " + text


def test_refuses_what_the_hal_cannot_run():
    _expect_error("{oops", "JSON")
    _expect_error("[]", "object")
    _expect_error('{"modem": {"dialect": "SIM800"}}', "dialect")
    _expect_error('{"modem": {"dialect": "A7670"}}', "modem.uart.tx")
    with open(_root() + "boards/LILYGO_T_A7670/board.json") as f:
        text = f.read()
    _expect_error(text.replace('"pwrkey": {"pin": 4', '"pwrkey": {"pin": "4"'), "modem.pwrkey")
