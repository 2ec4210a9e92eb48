"""Boards as data: the board.json schema, the ESP32 pin rules, and finding board files.

The firmware reads the same file with ``ht.board`` (minimal checks, pin lookup); this module is the full
validator a technician runs before trusting a new board file (``htctl boards check``). Every problem is an
:class:`Issue` with the JSON path of the field it is about, so "modem.uart.baud: missing" points at the fix.
"""
from __future__ import annotations

import json
import os
import pathlib
from collections import namedtuple
from collections.abc import Iterable, Sequence
from typing import Any

from .errors import NotFoundError, UserError
from .firmware import htboard

DIALECTS = htboard.DIALECTS
Issue = namedtuple("Issue", "level path message")  # level: "error" | "warning"

# ---- ESP32 facts (ESP32 datasheet v4.x §2.2 pin description, §2.4 strapping pins; ESP32 ECO errata) ----
ESP32_GPIOS = frozenset(list(range(0, 20)) + [21, 22, 23, 25, 26, 27] + list(range(32, 40)))
FLASH_PINS = frozenset(range(6, 12))           # wired to the module's SPI flash: touching them hangs the chip
PSRAM_PINS = frozenset((16, 17))               # WROVER modules wire PSRAM CS/CLK here
CONSOLE_PINS = frozenset((1, 3))               # UART0: MicroPython REPL and esptool flashing over USB
INPUT_ONLY = frozenset(range(34, 40))          # no output driver and no internal pull resistors
ADC1_PINS = frozenset(range(32, 40))
ADC2_PINS = frozenset((0, 2, 4, 12, 13, 14, 15, 25, 26, 27))
STRAPPING = {
    0: "BOOT strap: held low at reset the chip waits for flashing instead of booting",
    2: "strap: must be low or floating at reset to enter download mode",
    5: "SDIO timing strap: keep it high (default pull-up) at reset",
    12: "MTDI strap: high at reset selects 1.8 V flash and the module will not boot",
    15: "MTDO strap: low at reset silences the boot log",
}
# Shortest PWRKEY pulse each modem family turns on with (MODEMS.md "power"). A board's pulse must clear it by
# PWRKEY_MARGIN: one exactly at the threshold turns the modem on only sometimes (timer jitter, the modem's
# own debounce), which in the field is a radio that boots without its modem.
PWRKEY_MIN_MS = {"A7670": 50, "SIM7600": 500, "EC200U": 500}
PWRKEY_MARGIN = 1.2


# ---- the schema, as data ------------------------------------------------------------------------------
class F:
    """One field: ``kind`` in int/str/number/hex/gpio/enum/obj/map, ``required``, and kind options."""

    def __init__(self, kind: str, required: bool = True, choices: Sequence[Any] | None = None,
                 fields: dict[str, F] | None = None, item: F | None = None, lo: float | None = None,
                 hi: float | None = None) -> None:
        self.kind, self.required, self.choices = kind, required, choices
        self.fields, self.item, self.lo, self.hi = fields, item, lo, hi


def _level(required=True):
    return F("enum", required, choices=(0, 1))


def CONTROL(required: bool = False, pulse: bool = False) -> F:
    # Any control may be pulsed; PWRKEY/RESET must say for how long (the modem ignores a short pulse).
    fields = {"pin": F("gpio"), "active": _level(), "pulse_ms": F("int", pulse, lo=1, hi=10000)}
    return F("obj", required, fields=fields)


def BUTTON(required: bool = True) -> F:
    return F("obj", required, fields={"pin": F("gpio"), "pull": F("enum", choices=("up", "down", "none", "external")),
                                      "active": _level()})


SCHEMA = F("obj", fields={
    "schema": F("enum", choices=(1,)),
    "name": F("str"),
    "title": F("str", False),
    "mcu": F("enum", choices=("esp32",)),
    "flash_mb": F("enum", choices=(4, 8, 16)),
    "psram_mb": F("enum", choices=(0, 2, 4, 8)),
    "firmware_offset": F("hex"),
    "modem": F("obj", fields={
        "model": F("str"),
        "dialect": F("enum", choices=DIALECTS),
        "uart": F("obj", fields={"id": F("enum", choices=(1, 2)), "tx": F("gpio"), "rx": F("gpio"),
                                 "baud": F("enum", choices=(9600, 19200, 38400, 57600, 115200, 230400,
                                                            460800, 921600))}),
        "pwrkey": CONTROL(True, pulse=True),
        "poweron": CONTROL(),
        "reset": CONTROL(pulse=True),
        "dtr": CONTROL(),
        "flight": CONTROL(),
        "ri": CONTROL(),
        "status": CONTROL(),
    }),
    "audio": F("obj", fields={
        # bits: the I2S slot width the HAL reads (the INMP441's 24 bits come left-justified in 32-bit slots);
        # sensitivity_dbfs: dBFS at 94 dB SPL, what the front end's calibrated gain starts from (docs/HAL.md)
        "mic": F("obj", fields={"part": F("str"), "i2s": F("enum", choices=(0, 1)),
                                "sck": F("gpio"), "ws": F("gpio"), "sd": F("gpio"),
                                "bits": F("enum", False, choices=(16, 32)),
                                "sensitivity_dbfs": F("int", False, lo=-60, hi=-10)}),
        "amp": F("obj", fields={"part": F("str"), "i2s": F("enum", choices=(0, 1)), "bclk": F("gpio"),
                                "lrc": F("gpio"), "din": F("gpio"), "sd_mode": CONTROL()}),
    }),
    "buttons": F("obj", fields={"ptt": BUTTON(), "emergency": BUTTON(), "vol_up": BUTTON(False),
                                "vol_down": BUTTON(False)}),
    "leds": F("map", item=CONTROL(True)),
    "battery": F("obj", False, fields={"pin": F("gpio"), "divider": F("number", lo=1.0, hi=20.0),
                                       "charge": CONTROL()}),
    # current draw per state for the battery bench (bench/bench_power.py), each group with its source
    "power": F("obj", False, fields={"ma": F("map", item=F("number", lo=0.0, hi=3000.0)),
                                     "source": F("map", item=F("str")), "cell_mah": F("int", lo=100, hi=20000)}),
})


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _check_field(spec, value, path, issues):
    err = lambda msg: issues.append(Issue("error", path, msg))  # noqa: E731
    k = spec.kind
    if k == "obj":
        if not isinstance(value, dict):
            return err("must be an object")
        for name, sub in spec.fields.items():
            p = "%s.%s" % (path, name) if path else name
            if name not in value:
                if sub.required:
                    issues.append(Issue("error", p, "missing"))
            else:
                _check_field(sub, value[name], p, issues)
        for name in value:
            if name not in spec.fields:
                issues.append(Issue("error", "%s.%s" % (path, name) if path else name,
                                    "unknown field (allowed: %s)" % ", ".join(spec.fields)))
    elif k == "map":
        if not isinstance(value, dict):
            return err("must be an object")
        for name, v in value.items():
            _check_field(spec.item, v, "%s.%s" % (path, name), issues)
    elif k == "enum":
        if isinstance(value, bool) or value not in spec.choices:
            err("must be one of %s, not %s" % (", ".join(map(str, spec.choices)), json.dumps(value)))
    elif k == "str":
        if not isinstance(value, str) or not value.strip():
            err("must be a non-empty string")
    elif k in ("int", "gpio"):
        if not _is_int(value):
            return err("must be an integer%s" % (" GPIO number" if k == "gpio" else ""))
        if k == "gpio" and value not in ESP32_GPIOS:
            err("GPIO %d does not exist on the ESP32" % value)
        if spec.lo is not None and not spec.lo <= value <= spec.hi:
            err("must be between %s and %s" % (spec.lo, spec.hi))
    elif k == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return err("must be a number")
        if not spec.lo <= value <= spec.hi:
            err("must be between %s and %s" % (spec.lo, spec.hi))
    elif k == "hex":
        try:
            if not isinstance(value, str) or not value.lower().startswith("0x") or int(value, 16) < 0:
                raise ValueError
        except ValueError:
            err('must be a hex string like "0x1000"')


def _pin_rules(board, issues):
    psram = isinstance(board.get("psram_mb"), int) and board["psram_mb"] > 0
    used = {}
    for role, pin, direction in htboard.roles(board):
        if pin is None or pin not in ESP32_GPIOS:
            continue  # already reported by the schema walk
        where = "battery.pin" if role == "battery" else role
        if pin in FLASH_PINS:
            issues.append(Issue("error", where, "GPIO %d is wired to the SPI flash (GPIO 6-11 are reserved)" % pin))
        if pin in CONSOLE_PINS:
            issues.append(Issue("error", where, "GPIO %d is UART0, the USB console used for the REPL and "
                                               "flashing" % pin))
        if psram and pin in PSRAM_PINS:
            issues.append(Issue("error", where, "GPIO %d is used by PSRAM on this module (psram_mb > 0)" % pin))
        if direction == "out" and pin in INPUT_ONLY:
            issues.append(Issue("error", where, "GPIO %d is input-only (34-39) and cannot drive %s" % (pin, role)))
        if pin in STRAPPING:
            issues.append(Issue("warning", where, "GPIO %d: %s" % (pin, STRAPPING[pin])))
        if direction == "adc":
            if pin in ADC2_PINS:
                issues.append(Issue("warning", where, "GPIO %d is on ADC2, which reads garbage while Wi-Fi is "
                                                      "on; prefer ADC1 (GPIO 32-39)" % pin))
            elif pin not in ADC1_PINS:
                issues.append(Issue("error", where, "GPIO %d has no ADC" % pin))
        if role.startswith("buttons.") and pin in INPUT_ONLY and htboard.pull(board, role) in ("up", "down"):
            issues.append(Issue("error", role + ".pull", "GPIO %d has no internal pull resistor; wire one and "
                                                         'set pull to "external"' % pin))
        if pin in used:
            issues.append(Issue("error", where, "GPIO %d used twice: %s and %s" % (pin, used[pin], where)))
        else:
            used[pin] = where


def _board_rules(board, issues):
    audio = board.get("audio") if isinstance(board.get("audio"), dict) else {}
    mic, amp = audio.get("mic"), audio.get("amp")
    if isinstance(mic, dict) and isinstance(amp, dict) and "i2s" in mic and mic.get("i2s") == amp.get("i2s"):
        issues.append(Issue("error", "audio.amp.i2s", "mic and amp need separate I2S peripherals "
                                                      "(MicroPython's I2S is receive-only or transmit-only)"))
    modem = board.get("modem") if isinstance(board.get("modem"), dict) else {}
    pk, dialect = modem.get("pwrkey"), modem.get("dialect")
    if isinstance(pk, dict) and _is_int(pk.get("pulse_ms")) and dialect in PWRKEY_MIN_MS:
        low = PWRKEY_MIN_MS[dialect]
        if pk["pulse_ms"] < low * PWRKEY_MARGIN:
            issues.append(Issue("warning", "modem.pwrkey.pulse_ms",
                                "%s needs a PWRKEY pulse of at least %d ms; use %d ms or more for margin"
                                % (dialect, low, int(low * PWRKEY_MARGIN))))


def validate(board: Any) -> list[Issue]:
    """All problems with a board dict: a list of Issue, errors first. No errors = the firmware can use it."""
    issues = []
    _check_field(SCHEMA, board, "", issues)
    if isinstance(board, dict):
        _pin_rules(board, issues)
        _board_rules(board, issues)
    issues.sort(key=lambda i: (i.level != "error",))
    return issues


def errors(issues: Iterable[Issue]) -> list[Issue]:
    return [i for i in issues if i.level == "error"]


# ---- files --------------------------------------------------------------------------------------------
def loads(text: str, source: str = "board.json") -> dict[str, Any]:
    try:
        board = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError("%s is not valid JSON: %s (line %d, column %d)" % (source, exc.msg, exc.lineno, exc.colno),
                        hint="fix the syntax; `python -m json.tool %s` shows it too" % source)
    if not isinstance(board, dict):
        raise UserError("%s: the top level must be a JSON object" % source)
    return board


def dumps(board: dict[str, Any]) -> str:
    """Canonical text of a board file (what `htctl boards show --json` prints and the files use)."""
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


def load_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / "board.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError("board file not found: %s" % path, hint="run `htctl boards list` to see known boards")
    except OSError as exc:
        raise UserError("cannot read %s: %s" % (path, exc.strerror or exc))
    return loads(text, str(path))


def list_boards(boards_dir: str | os.PathLike[str]) -> list[tuple[str, pathlib.Path]]:
    """[(name, path)] for every <VENDOR_PRODUCT>/board.json under boards_dir, sorted by name."""
    d = pathlib.Path(boards_dir)
    if not d.is_dir():
        raise NotFoundError("boards folder not found: %s" % d, hint="pass --boards-dir or set $HTCTL_BOARDS")
    return sorted((p.parent.name, p) for p in d.glob("*/board.json"))


def resolve(name_or_path: str | os.PathLike[str], boards_dir: str | os.PathLike[str]) -> pathlib.Path:
    """A board given by name (``LILYGO_T_A7670``, case-insensitive) or by a path to a file/folder."""
    p = pathlib.Path(name_or_path)
    if p.suffix == ".json" or p.is_dir() or p.exists():
        return p / "board.json" if p.is_dir() else p
    known = dict((n.upper(), path) for n, path in list_boards(boards_dir))
    if str(name_or_path).upper() in known:
        return known[str(name_or_path).upper()]
    raise NotFoundError("no board named %s" % name_or_path,
                        hint="known boards: %s" % (", ".join(sorted(known)) or "(none)"))


def load_board(name_or_path: str | os.PathLike[str], boards_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Load and validate; a board with errors is refused (UserError listing them)."""
    path = resolve(name_or_path, boards_dir)
    board = load_file(path)
    errs = errors(validate(board))
    if errs:
        raise UserError("board file %s has %d error(s): %s" % (path, len(errs), "; ".join(
            "%s: %s" % (e.path, e.message) for e in errs[:5])), hint="run `htctl boards check %s`" % path)
    return board


def summary(board: dict[str, Any]) -> list[tuple[str, Any]]:
    """A flat, human view: role -> "GPIO n" plus the headline facts."""
    rows = [("mcu", board.get("mcu")), ("flash / PSRAM", "%s MB / %s MB" % (board.get("flash_mb"),
                                                                             board.get("psram_mb"))),
            ("firmware offset", board.get("firmware_offset")),
            ("modem", "%s (%s dialect)" % (board["modem"].get("model"), board["modem"].get("dialect"))),
            ("modem baud", board["modem"].get("uart", {}).get("baud"))]
    for role, pin, direction in htboard.roles(board):
        extra = []
        if htboard.active(board, role, None) is not None and not role.startswith(("modem.uart", "audio.mic")):
            extra.append("active %s" % ("high" if htboard.active(board, role) else "low"))
        if role.startswith("buttons."):
            extra.append("pull %s" % htboard.pull(board, role))
        if htboard.pulse_ms(board, role):
            extra.append("pulse %d ms" % htboard.pulse_ms(board, role))
        if role == "battery":
            extra.append("divider x%s" % htboard.battery_divider(board))
        rows.append((role, "GPIO %s (%s%s)" % (pin, direction, ", " + ", ".join(extra) if extra else "")))
    return rows
