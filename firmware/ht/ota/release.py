# A release manifest and the checks a radio makes before it spends a byte of its data plan on one
# (docs/OTA.md). The manifest is JSON signed as-is by the release key:
#   {"v": "0.2.0", "floor": "0.1.0", "min_boot": 1, "target": "xtensawin", "boards": ["LILYGO_T_A7670"],
#    "cs": 2048, "total": 123456, "files": [[path, size, sha256 hex], ...]}
# floor: the lowest version a radio running this release may later move to (anti-rollback: an old
# release with a known hole, even signed, cannot be replayed). min_boot: the bootstrap it needs.
# On the wire (the retained message ht/<f>/o/<rid>/m) it is the signature followed by the JSON.
import json
import binascii
from ht.ota import rsa


def version_tuple(v):
    # "1.2.10" -> (1, 2, 10); anything after a '-' or '+' is ignored for ordering.
    out = []
    for p in str(v).split("-")[0].split("+")[0].split("."):
        out.append(int(p) if p.isdigit() else 0)
    return tuple(out)


def older(a, b):
    return version_tuple(a) < version_tuple(b)


class Context:
    # What the radio knows about itself: running version and its floor, bootstrap version, .mpy target,
    # board name, free flash in bytes.
    def __init__(self, version, floor, boot, target, board, free):
        self.version = version
        self.floor = floor
        self.boot = boot
        self.target = target
        self.board = board
        self.free = free


def split(blob, key):
    # wire message -> (signature, manifest bytes)
    b = bytes(blob)
    return b[:key.k], b[key.k:]


def check(blob, key, ctx):
    # -> (manifest dict, None) or (None, reason). The reason is what presence and the registry show.
    sig, raw = split(blob, key)
    if not rsa.verify(key, raw, sig):
        return None, "bad signature"
    try:
        m = json.loads(raw)
        files = m["files"]
        v = m["v"]
        for f in files:
            if len(f) != 3 or len(binascii.unhexlify(f[2])) != 32 or f[1] < 0 or ".." in f[0]:
                raise ValueError
    except (ValueError, KeyError, TypeError, IndexError):
        return None, "bad manifest"
    if m.get("target") != ctx.target:
        return None, "other target %s" % m.get("target")
    boards = m.get("boards") or []
    if boards and ctx.board not in boards:
        return None, "other board"
    if m.get("min_boot", 1) > ctx.boot:
        return None, "bootstrap %d < %d" % (ctx.boot, m.get("min_boot", 1))
    if v == ctx.version:
        return None, "already running v%s" % v
    if ctx.floor and older(v, ctx.floor):
        return None, "downgrade v%s below v%s" % (v, ctx.floor)
    need = sum(f[1] for f in files)
    if ctx.free is not None and need > ctx.free:
        return None, "no space: %d KB > %d KB free" % (need // 1024 + 1, ctx.free // 1024)
    m["total"] = need
    return m, None


def chunks(size, cs):
    return (size + cs - 1) // cs
