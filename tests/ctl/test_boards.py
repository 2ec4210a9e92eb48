"""Boards as data: the schema/validator (ESP32 pin rules), board files, `htctl boards`, round-trips."""
import copy
import json
import pathlib

import pytest
from hypothesis import given, settings, strategies as st

from htctl import boards
from htctl.errors import EXIT_FAILED, EXIT_NOT_FOUND, EXIT_OK, NotFoundError, UserError
from ht import board as fwboard
from fixtures.cli import run_htctl as run

ROOT = pathlib.Path(__file__).resolve().parents[2]
BOARDS_DIR = ROOT / "boards"
NAMES = ["DIY_DEVKITC_EC200U", "LILYGO_T_A7670", "LILYGO_T_SIM7600"]


def real(name="LILYGO_T_A7670"):
    return boards.load_file(BOARDS_DIR / name / "board.json")


def issues_at(board, level="error"):
    return {(i.path, i.message) for i in boards.validate(board) if i.level == level}


def paths(board, level="error"):
    return {p for p, _ in issues_at(board, level)}


# ---- the shipped boards ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_shipped_boards_have_no_errors(name):
    b = real(name)
    assert boards.errors(boards.validate(b)) == []
    assert b["name"] == name  # folder name and file agree
    assert fwboard.load(boards.dumps(b)) == b  # the firmware reads the same file


def test_lilygo_pins_match_the_vendor_pinout():
    a = real("LILYGO_T_A7670")
    assert (a["modem"]["uart"]["tx"], a["modem"]["uart"]["rx"]) == (26, 27)
    assert [a["modem"][k]["pin"] for k in ("pwrkey", "poweron", "reset", "dtr", "ri")] == [4, 12, 5, 25, 33]
    assert a["battery"]["pin"] == 35
    s = real("LILYGO_T_SIM7600")
    assert (s["modem"]["uart"]["tx"], s["modem"]["uart"]["rx"]) == (27, 26)
    assert [s["modem"][k]["pin"] for k in ("pwrkey", "dtr", "flight", "status", "ri")] == [4, 32, 25, 34, 33]
    assert s["leds"]["status"]["pin"] == 12


def test_strapping_pins_on_shipped_boards_are_warned_not_refused():
    warned = paths(real("LILYGO_T_A7670"), "warning")
    assert {"modem.poweron", "modem.reset"} <= warned  # GPIO 12 and 5 are the vendor's choice


# ---- the rules ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("gpio", [6, 7, 8, 9, 10, 11])
def test_flash_pins_refused(gpio):
    b = real()
    b["audio"]["amp"]["din"] = gpio
    errs = issues_at(b)
    assert any(p == "audio.amp.din" and "SPI flash" in m for p, m in errs)


@pytest.mark.parametrize("gpio", [34, 35, 36, 39])
def test_input_only_pins_refused_as_outputs_but_fine_as_inputs(gpio):
    b = real("DIY_DEVKITC_EC200U")
    b["battery"]["pin"] = 32
    for role in ("ri", "status"):
        b["modem"].pop(role)
    b["audio"]["mic"]["sd"] = 4 if gpio != 4 else 5
    b["modem"]["pwrkey"]["pin"] = 0
    b["audio"]["mic"]["sd"] = gpio  # input: fine
    b["audio"]["mic"].update(sck=34 if gpio != 34 else 35)  # output on an input-only pin: refused
    errs = issues_at(b)
    assert any(p == "audio.mic.sck" and "input-only" in m for p, m in errs)
    assert "audio.mic.sd" not in {p for p, _ in errs}


@pytest.mark.parametrize("gpio", [0, 2, 5, 12, 15])
def test_strapping_pins_warned(gpio):
    b = real("DIY_DEVKITC_EC200U")
    b["leds"] = {"tx": {"pin": gpio, "active": 1}}
    if gpio == 2:
        b["leds"] = {"status": {"pin": 2, "active": 1}}
    assert "leds.%s" % ("status" if gpio == 2 else "tx") in paths(b, "warning")
    assert boards.errors(boards.validate(b)) == []


def test_pin_used_twice_refused_naming_both_roles():
    b = real()
    b["buttons"]["ptt"]["pin"] = 26  # modem TX
    msgs = [m for p, m in issues_at(b) if "twice" in m]
    assert msgs and "modem.uart.tx" in msgs[0] and "buttons.ptt" in msgs[0]


def test_unknown_dialect_refused():
    b = real()
    b["modem"]["dialect"] = "SIM800"
    assert "modem.dialect" in paths(b)


@pytest.mark.parametrize("path", ["modem.uart.baud", "modem.pwrkey", "buttons.ptt.pull", "audio.mic.sd", "mcu",
                                  "firmware_offset", "modem.pwrkey.pulse_ms"])
def test_missing_field_refused_with_its_path(path):
    b = real()
    node = b
    *parents, leaf = path.split(".")
    for p in parents:
        node = node[p]
    del node[leaf]
    assert (path, "missing") in issues_at(b)


def test_unknown_field_and_wrong_types_reported_with_path():
    b = real()
    b["modem"]["pwrky"] = {"pin": 4}
    b["modem"]["uart"]["baud"] = "115200"
    b["battery"]["divider"] = 0.5
    b["audio"]["amp"]["lrc"] = 24
    p = paths(b)
    assert {"modem.pwrky", "modem.uart.baud", "battery.divider", "audio.amp.lrc"} <= p


def test_psram_pins_console_pins_pullups_and_adc():
    b = real()  # WROVER: PSRAM on 16/17
    b["audio"]["amp"]["lrc"] = 16
    b["audio"]["amp"]["bclk"] = 1
    b["buttons"]["emergency"]["pull"] = "up"  # GPIO 36 has no internal pull-up
    b["battery"]["pin"] = 23
    errs = issues_at(b)
    assert ("audio.amp.lrc", "GPIO 16 is used by PSRAM on this module (psram_mb > 0)") in errs
    assert any(p == "audio.amp.bclk" and "UART0" in m for p, m in errs)
    assert any(p == "buttons.emergency.pull" and "pull resistor" in m for p, m in errs)
    assert ("battery.pin", "GPIO 23 has no ADC") in errs
    b2 = real("DIY_DEVKITC_EC200U")  # no PSRAM: 16/17 are free (and used for the modem UART)
    assert boards.errors(boards.validate(b2)) == []


def test_same_i2s_peripheral_and_short_pwrkey():
    b = real("LILYGO_T_SIM7600")
    b["audio"]["amp"]["i2s"] = 0
    b["modem"]["pwrkey"]["pulse_ms"] = 100
    assert "audio.amp.i2s" in paths(b)
    assert "modem.pwrkey.pulse_ms" in paths(b, "warning")


@pytest.mark.parametrize("name", NAMES)
def test_shipped_boards_press_pwrkey_with_margin(name):
    # A pulse exactly at the modem's minimum is a coin toss (timer jitter, the modem's own debounce):
    # the radio would sometimes not switch its modem on. 20 % above the minimum is the board rule.
    b = real(name)
    assert "modem.pwrkey.pulse_ms" not in paths(b, "warning")
    b["modem"]["pwrkey"]["pulse_ms"] = boards.PWRKEY_MIN_MS[b["modem"]["dialect"]]
    assert "modem.pwrkey.pulse_ms" in paths(b, "warning")


def test_load_board_refuses_invalid_and_resolve_finds_by_name(tmp_path):
    assert boards.resolve("lilygo_t_a7670", BOARDS_DIR).parent.name == "LILYGO_T_A7670"
    with pytest.raises(NotFoundError) as e:
        boards.resolve("NOPE", BOARDS_DIR)
    assert "LILYGO_T_A7670" in e.value.hint
    bad = real()
    bad["modem"]["dialect"] = "X"
    f = tmp_path / "board.json"
    f.write_text(boards.dumps(bad))
    with pytest.raises(UserError) as e:
        boards.load_board(str(f), BOARDS_DIR)
    assert "modem.dialect" in e.value.message
    f.write_text("{ not json")
    with pytest.raises(UserError) as e:
        boards.load_file(f)
    assert "line 1" in e.value.message


# ---- round-trip --------------------------------------------------------------------------------------
_gpio = st.sampled_from(sorted(boards.ESP32_GPIOS))
_ctrl = st.fixed_dictionaries({"pin": _gpio, "active": st.sampled_from([0, 1])},
                              optional={"pulse_ms": st.integers(1, 10000)})
_button = st.fixed_dictionaries({"pin": _gpio, "pull": st.sampled_from(["up", "down", "none", "external"]),
                                 "active": st.sampled_from([0, 1])})
_text = st.text(min_size=1, max_size=20)
BOARD = st.fixed_dictionaries({
    "schema": st.just(1), "name": _text, "mcu": st.just("esp32"), "flash_mb": st.sampled_from([4, 8, 16]),
    "psram_mb": st.sampled_from([0, 2, 4, 8]), "firmware_offset": st.sampled_from(["0x1000", "0x0"]),
    "modem": st.fixed_dictionaries({
        "model": _text, "dialect": st.sampled_from(boards.DIALECTS),
        "uart": st.fixed_dictionaries({"id": st.sampled_from([1, 2]), "tx": _gpio, "rx": _gpio,
                                       "baud": st.sampled_from([115200, 921600])}),
        "pwrkey": st.fixed_dictionaries({"pin": _gpio, "active": st.sampled_from([0, 1]),
                                         "pulse_ms": st.integers(1, 10000)})},
        optional={"dtr": _ctrl, "ri": _ctrl, "flight": _ctrl}),
    "audio": st.fixed_dictionaries({
        "mic": st.fixed_dictionaries({"part": _text, "i2s": st.just(0), "sck": _gpio, "ws": _gpio, "sd": _gpio}),
        "amp": st.fixed_dictionaries({"part": _text, "i2s": st.just(1), "bclk": _gpio, "lrc": _gpio,
                                      "din": _gpio})}),
    "buttons": st.fixed_dictionaries({"ptt": _button, "emergency": _button}, optional={"vol_up": _button}),
    "leds": st.dictionaries(st.sampled_from(["status", "tx", "net"]), _ctrl, max_size=3),
}, optional={"title": _text, "battery": st.fixed_dictionaries({"pin": _gpio, "divider": st.floats(1.0, 20.0)})})


@settings(max_examples=150, deadline=None)
@given(BOARD)
def test_board_dump_load_round_trip(b):
    text = boards.dumps(b)
    assert boards.loads(text) == b
    assert fwboard.load(text) == b  # the firmware reads exactly what the host wrote
    assert boards.dumps(boards.loads(text)) == text
    # Only pin rules can fail on a schema-shaped board, and a failure always names a real path.
    for i in boards.validate(b):
        assert i.path and i.level in ("error", "warning")
        if i.level == "error":
            assert "missing" not in i.message and "unknown field" not in i.message


@settings(max_examples=100, deadline=None)
@given(BOARD, st.data())
def test_any_pin_reused_is_refused(b, data):
    roles = [r for r in fwboard.roles(b)]
    first, second = data.draw(st.lists(st.sampled_from(roles), min_size=2, max_size=2, unique=True))
    # point the second role at the first role's pin
    node, path = b, second[0].split(".")
    for p in path[:-1]:
        node = node[p]
    if isinstance(node[path[-1]], dict):
        node[path[-1]]["pin"] = first[1]
    else:
        node[path[-1]] = first[1]
    assert any("used twice" in i.message for i in boards.validate(b) if i.level == "error")


# ---- CLI ---------------------------------------------------------------------------------------------
def test_cli_list_and_json():
    code, out, _ = run(["boards", "list"])
    assert code == EXIT_OK
    for n in NAMES:
        assert n in out
    code, out, _ = run(["boards", "list", "--json"])
    data = json.loads(out)
    assert [d["name"] for d in data] == NAMES and {d["status"] for d in data} == {"ok"}


def test_cli_show_table_and_json():
    code, out, _ = run(["boards", "show", "LILYGO_T_SIM7600"])
    assert code == 0 and "modem.pwrkey" in out and "GPIO 4" in out and "SIM7600" in out
    code, out, _ = run(["boards", "show", "LILYGO_T_SIM7600", "--json"])
    assert json.loads(out) == real("LILYGO_T_SIM7600")


def test_cli_check_all_ok_shows_warnings():
    code, out, _ = run(["boards", "check"])
    assert code == EXIT_OK
    assert "warning: modem.poweron: GPIO 12" in out


def test_cli_check_bad_board_exits_nonzero_and_lists_errors(tmp_path):
    b = real()
    b["modem"]["dialect"] = "SIM800"
    b["audio"]["amp"]["din"] = 7
    f = tmp_path / "board.json"
    f.write_text(boards.dumps(b))
    code, out, err = run(["boards", "check", str(f)])
    assert code == EXIT_FAILED
    assert "error: modem.dialect" in out and "error: audio.amp.din" in out
    assert err.startswith("error: 1 of 1 board file(s) have errors") and "Hint:" in err
    code, out, _ = run(["boards", "check", str(f), "--json"])
    rep = json.loads(out)
    assert rep[0]["errors"] == 2


def test_cli_check_corrupt_json_and_missing_file(tmp_path):
    f = tmp_path / "board.json"
    f.write_text('{"schema": 1,,}')
    code, out, err = run(["boards", "check", str(f)])
    assert code == EXIT_FAILED and "not valid JSON" in out and "Traceback" not in err
    code, _, err = run(["boards", "check", str(tmp_path / "nope.json")])
    assert code == EXIT_NOT_FOUND and "Hint:" in err
    code, _, err = run(["boards", "show", "NOPE"])
    assert code == EXIT_NOT_FOUND and "known boards" in err


def test_cli_boards_dir_option(tmp_path):
    d = tmp_path / "MY_BOARD"
    d.mkdir()
    b = copy.deepcopy(real())
    b["name"] = "MY_BOARD"
    (d / "board.json").write_text(boards.dumps(b))
    code, out, _ = run(["boards", "list", "--json", "--boards-dir", str(tmp_path)])
    assert [r["name"] for r in json.loads(out)] == ["MY_BOARD"]


# ---- the validator accepts every sane board and pinpoints one bad pin ---------------------------------
_SAFE_OUT = [4, 13, 14, 16, 17, 18, 19, 21, 22, 23, 25, 26, 27, 32, 33]   # no strap, flash, console, input-only
_SAFE_IN = [34, 35, 36, 39]


@st.composite
def sane_boards(draw):
    b = real("DIY_DEVKITC_EC200U")  # no PSRAM: 16/17 usable
    b["leds"] = {}
    # battery first: it needs one of the few ADC1 pins
    roles = sorted(fwboard.roles(b), key=lambda r: r[0] != "battery")
    outs = draw(st.permutations(_SAFE_OUT))
    ins = draw(st.permutations(_SAFE_IN + [p for p in _SAFE_OUT]))
    used = set()
    for role, _, direction in roles:
        pool = outs if direction == "out" else ins
        pin = next(p for p in pool if p not in used)
        used.add(pin)
        node, path = b, role.split(".")
        for part in path[:-1]:
            node = node[part]
        if role == "battery":
            used.discard(pin)
            b["battery"]["pin"] = draw(st.sampled_from(sorted(boards.ADC1_PINS)))
            used.add(b["battery"]["pin"])
        elif isinstance(node[path[-1]], dict):
            node[path[-1]]["pin"] = pin
            if role.startswith("buttons."):
                node[path[-1]]["pull"] = "external" if pin in boards.INPUT_ONLY else draw(
                    st.sampled_from(["up", "down", "none", "external"]))
        else:
            node[path[-1]] = pin
    return b


@settings(max_examples=100, deadline=None)
@given(sane_boards(), st.data())
def test_sane_boards_pass_and_one_misplaced_output_is_pinpointed(b, data):
    issues = boards.validate(b)
    assert boards.errors(issues) == [], issues
    outputs = [r for r, p, d in fwboard.roles(b) if d == "out"]
    role = data.draw(st.sampled_from(outputs))
    free_input_only = [p for p in sorted(boards.INPUT_ONLY) if p not in {q for _, q, _ in fwboard.roles(b)}]
    if not free_input_only:
        return
    node, path = b, role.split(".")
    for part in path[:-1]:
        node = node[part]
    if isinstance(node[path[-1]], dict):
        node[path[-1]]["pin"] = free_input_only[0]
    else:
        node[path[-1]] = free_input_only[0]
    errs = boards.errors(boards.validate(b))
    assert [(e.path, "input-only" in e.message) for e in errs] == [(role, True)]
