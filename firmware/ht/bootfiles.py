# The files a radio boots from (config.json, board.json) are untrusted bytes: an erased flash page
# (0xFF), a write cut by a flat battery, a non-UTF-8 byte, a deeply nested document that overflows
# MicroPython's json recursion. Issue 11 found 3 of 6 such files stopping the boot at the REPL. This
# module never raises: each file is checked before json sees it, a copy that booted well is kept as
# "last known good" (written by `htctl provision` and after each good boot), and when nothing is usable
# the radio boots on factory defaults in the "provision" readiness stage (tone + presence say so).
# File access is handed in (read(name) -> bytes|None, write(name, bytes)) so tests drive it on any
# interpreter without a flash.
from ht.compat import const
import ht.config as C
import ht.board as B

CONFIG = "config.json"
CONFIG_LKG = "config.lkg.json"
BOARD = "board.json"
BOARD_LKG = "board.lkg.json"
_MAX_BYTES = const(16384)   # a full config is ~1.5 KB, a board ~1 KB; more is not one of ours
_MAX_DEPTH = const(4)       # config: {section: {field: [items]}} is 3 deep


def read_file(name):
    try:
        with open(name, "rb") as f:
            return f.read(_MAX_BYTES + 1)
    except Exception:
        return None


def write_file(name, data):
    # write a temporary file, then rename: a reset half-way leaves the old copy whole
    import os
    tmp = name + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, name)


def text_of(data):
    # bytes -> str, or None when they cannot be a JSON file of ours
    if data is None or len(data) > _MAX_BYTES:
        return None
    try:
        t = data.decode()
    except Exception:
        return None
    return t if shallow(t) else None


def shallow(t):
    # nesting depth outside strings stays within _MAX_DEPTH (json.loads recurses per level)
    depth = 0
    q = esc = False
    for c in t:
        if q:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                q = False
        elif c == '"':
            q = True
        elif c == "{" or c == "[":
            depth += 1
            if depth > _MAX_DEPTH:
                return False
        elif c == "}" or c == "]":
            depth -= 1
    return True


def parse_config(data):
    # -> (Config, errors) when it names a unit, else (None, errors)
    t = text_of(data)
    if t is None:
        return None, ["config: unreadable (missing, not UTF-8, too large or too deep)"]
    try:
        cfg, errors = C.load(t)
    except Exception as e:   # MemoryError, RuntimeError (recursion) on MicroPython: not a working file
        return None, ["config: %s" % repr(e)]
    if not cfg.get("unit.id"):
        return None, errors + ["config: no unit.id"]
    return cfg, errors


def parse_board(data):
    t = text_of(data)
    if t is None:
        return None, "board: unreadable (missing, not UTF-8, too large or too deep)"
    try:
        return B.load(t), None
    except Exception as e:
        return None, str(e)


def choose_config(read=read_file):
    # -> (cfg, source, notes); source: "config", "last-known-good" or "defaults" (needs provisioning)
    cfg, notes = parse_config(read(CONFIG))
    if cfg is not None:
        return cfg, "config", notes
    lkg, more = parse_config(read(CONFIG_LKG))
    if lkg is not None:
        return lkg, "last-known-good", notes + ["config: booting on the last known good copy"] + more
    return C.defaults(), "defaults", notes + ["config: nothing usable; factory defaults, needs provisioning"]


def choose_board(read=read_file):
    # -> (board or None, source, note); None: no board description to run hardware with
    b, why = parse_board(read(BOARD))
    if b is not None:
        return b, "board", None
    lkg, _ = parse_board(read(BOARD_LKG))
    if lkg is not None:
        return lkg, "last-known-good", why + "; booting on the last known good board"
    return None, "none", why


def keep_good(read=read_file, write=write_file):
    # After a good boot: config.json and board.json that parsed cleanly become the last known good
    # copies. Written only when they differ (flash wear). Returns the names written.
    out = []
    for name, lkg, ok in ((CONFIG, CONFIG_LKG, _config_clean), (BOARD, BOARD_LKG, _board_clean)):
        data = read(name)
        if data is not None and ok(data) and read(lkg) != data:
            try:
                write(lkg, data)
                out.append(lkg)
            except Exception:
                pass   # a full or read-only flash must not stop the radio
    return out


def save_config(cfg, write=write_file):
    # A setting the radio changed itself (the fleet key rotated over the air, docs/PROVISION.md): config.json
    # and its last-known-good copy both, so a reset cannot bring the old key back.
    data = C.dump(cfg).encode()
    write(CONFIG, data)
    write(CONFIG_LKG, data)


def _config_clean(data):
    cfg, errors = parse_config(data)
    return cfg is not None and not errors


def _board_clean(data):
    return parse_board(data)[0] is not None
