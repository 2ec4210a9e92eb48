# Firmware-side reader of boards/<VENDOR_PRODUCT>/board.json — the same file htctl validates in full
# (host_tools/htctl/boards.py adds the ESP32 pin rules). Here only what the HAL needs: parse, refuse a file
# that lacks a pin the radio cannot work without, and look pins up by role ("modem.pwrkey").
# Pure: text is passed in, or a path is read when load_path() is called; nothing happens at import time.
import json

DIALECTS = ("A7670", "SIM7600", "EC200U")

# Every pin role a board may declare: (role, direction, required). Direction "in" pins may sit on the
# ESP32's input-only GPIO 34-39; "out" pins may not (host validator). One table for host and device.
PIN_ROLES = (
    ("modem.uart.tx", "out", True),
    ("modem.uart.rx", "in", True),
    ("modem.pwrkey", "out", True),
    ("modem.poweron", "out", False),
    ("modem.reset", "out", False),
    ("modem.dtr", "out", False),
    ("modem.flight", "out", False),
    ("modem.ri", "in", False),
    ("modem.status", "in", False),
    ("audio.mic.sck", "out", True),
    ("audio.mic.ws", "out", True),
    ("audio.mic.sd", "in", True),
    ("audio.amp.bclk", "out", True),
    ("audio.amp.lrc", "out", True),
    ("audio.amp.din", "out", True),
    ("audio.amp.sd_mode", "out", False),
    ("buttons.ptt", "in", True),
    ("buttons.emergency", "in", True),
    ("buttons.vol_up", "in", False),
    ("buttons.vol_down", "in", False),
    ("battery", "adc", False),
    ("battery.charge", "in", False),     # the charger's status output, where a board wires it
)


def _get(board, role):
    node = board
    for part in role.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def pin_of(value):
    # A role is either a bare GPIO number (UART, I2S) or an object {"pin": n, "active": …} (controls).
    if isinstance(value, dict):
        value = value.get("pin")
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def roles(board):
    # (role, pin, direction) for every pin the board declares, LEDs included (any name under "leds").
    out = []
    for role, direction, _ in PIN_ROLES:
        v = _get(board, role)
        if v is not None:
            out.append((role, pin_of(v), direction))
    leds = board.get("leds") or {}
    if isinstance(leds, dict):
        for name in sorted(leds):
            out.append(("leds." + name, pin_of(leds[name]), "out"))
    return out


def load(text):
    # Raise ValueError naming the first problem; the HAL cannot run a radio on a half-described board.
    try:
        board = json.loads(text)
    except ValueError:
        raise ValueError("board: not valid JSON")
    if not isinstance(board, dict):
        raise ValueError("board: top level must be an object")
    modem = board.get("modem")
    if not isinstance(modem, dict):
        raise ValueError("board: missing modem")
    if modem.get("dialect") not in DIALECTS:
        raise ValueError("board: modem.dialect must be one of %s" % ", ".join(DIALECTS))
    for role, _, required in PIN_ROLES:
        v = _get(board, role)
        if v is None:
            if required:
                raise ValueError("board: missing %s" % role)
        elif pin_of(v) is None:
            raise ValueError("board: %s is not a GPIO number" % role)
    return board


def load_path(path):
    with open(path) as f:
        return load(f.read())


def pin(board, role):
    # GPIO number for a role, or None if the board does not have it (optional controls).
    v = _get(board, role)
    return None if v is None else pin_of(v)


def active(board, role, default=1):
    # Logic level that means "asserted" (pressed, on, in reset). Bare numbers are active-high.
    v = _get(board, role)
    if isinstance(v, dict) and "active" in v:
        return 1 if v["active"] else 0
    return default


def pulse_ms(board, role, default=0):
    v = _get(board, role)
    if isinstance(v, dict):
        return v.get("pulse_ms", default)
    return default


def pull(board, role):
    # "up" / "down" / "none" / "external" — the HAL only asks the chip for "up" and "down".
    v = _get(board, role)
    if isinstance(v, dict):
        return v.get("pull", "none")
    return "none"


def firmware_offset(board):
    off = board.get("firmware_offset", "0x1000")
    return int(off, 16) if isinstance(off, str) else off


def dialect(board):
    return board["modem"]["dialect"]


def uart(board):
    # (uart id, tx, rx, baud) for the modem link.
    u = board["modem"]["uart"]
    return u.get("id", 1), u["tx"], u["rx"], u.get("baud", 115200)


def battery_divider(board):
    b = board.get("battery")
    return b.get("divider", 1.0) if isinstance(b, dict) else 1.0


def mic_sensitivity(board):
    # dBFS of the microphone at 94 dB SPL (INMP441 datasheet: -26), 16-bit full scale: the HAL keeps the
    # top 16 bits of its 24, which leaves dBFS unchanged. The front end's calibrated gain starts from it.
    m = board.get("audio", {}).get("mic", {})
    v = m.get("sensitivity_dbfs") if isinstance(m, dict) else None
    return v if isinstance(v, int) and not isinstance(v, bool) else -26
