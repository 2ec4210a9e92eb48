# Floor-control messages: a compact binary record carried on the talkgroup's floor topic.
# Layout (docs/FLOOR.md): 17-byte big-endian header, then talkgroup and unit as length-prefixed UTF-8.
#   magic 'F' | version | kind | priority | reason | epoch u32 | burst u32 | sender time u32 | tg | unit
# Binary, not JSON, because every press costs a claim and every second of talk a heartbeat on a metered SIM.
import struct

from ht.compat import const

CLAIM = const(1)
RELEASE = const(2)
HEARTBEAT = const(3)
KIND_NAMES = {CLAIM: "claim", RELEASE: "release", HEARTBEAT: "heartbeat"}

# Priority levels: a higher claim pre-empts a lower holder (normal < Command Center < emergency).
PRIO_NORMAL = const(1)
PRIO_COMMAND = const(2)
PRIO_EMERGENCY = const(3)
PRIO_NAMES = {PRIO_NORMAL: "normal", PRIO_COMMAND: "command", PRIO_EMERGENCY: "emergency"}

# Why a burst ended (RELEASE only; 0 elsewhere).
REASON_USER = const(0)
REASON_TIMEOUT = const(1)
REASON_HOTMIC = const(2)

_MAGIC = const(0x46)
_VERSION = const(1)
_HDR = ">BBBBBIII"
_HDR_LEN = const(17)
_MAX_NAME = const(64)


class FloorMsg:
    def __init__(self, kind, unit, prio, epoch, burst, tg, t_ms=0, reason=0):
        self.kind = kind
        self.unit = unit
        self.prio = prio
        self.epoch = epoch
        self.burst = burst
        self.tg = tg
        self.t_ms = t_ms
        self.reason = reason

    def key(self):
        # A claim's identity: QoS 1 may deliver it twice (PUBLISH retried with DUP after a lost PUBACK).
        return (self.unit, self.burst)

    def __eq__(self, other):
        return isinstance(other, FloorMsg) and self.fields() == other.fields()

    def fields(self):
        return (self.kind, self.unit, self.prio, self.epoch, self.burst, self.tg, self.t_ms, self.reason)

    def __repr__(self):
        return "FloorMsg(%s %s p%d e%d b%d tg=%s r%d)" % (
            KIND_NAMES.get(self.kind, "?"), self.unit, self.prio, self.epoch, self.burst, self.tg, self.reason)


def _name(s, what, empty=False):
    # A talkgroup or unit as its length-prefixed bytes (ht.radio.grant packs its records with it too).
    b = s.encode() if isinstance(s, str) else bytes(s)
    if len(b) > _MAX_NAME or (not b and not empty):
        raise ValueError("bad %s length" % what)
    return b


def pack(m):
    if m.kind not in KIND_NAMES:
        raise ValueError("bad floor kind")
    if m.prio not in PRIO_NAMES:
        raise ValueError("bad priority")
    tg = _name(m.tg, "talkgroup")
    unit = _name(m.unit, "unit")
    hdr = struct.pack(_HDR, _MAGIC, _VERSION, m.kind, m.prio, m.reason & 0xFF, m.epoch & 0xFFFFFFFF,
                      m.burst & 0xFFFFFFFF, m.t_ms & 0xFFFFFFFF)
    return hdr + bytes((len(tg),)) + tg + bytes((len(unit),)) + unit


def _take_name(buf, i, what, empty=False, msg="floor msg"):
    # The reverse of _name: -> (text, index after it). empty: a zero length is allowed (an IDLE record's unit).
    if i >= len(buf):
        raise ValueError("%s truncated" % msg)
    n = buf[i]
    if n > _MAX_NAME or (n == 0 and not empty) or i + 1 + n > len(buf):
        raise ValueError("bad %s field" % what)
    try:
        s = bytes(buf[i + 1:i + 1 + n]).decode()
    except UnicodeError:
        raise ValueError("%s not UTF-8" % what)
    return s, i + 1 + n


def parse(buf, sender=None):
    # sender: the unit id from the topic (ht/<f>/tg/<tg>/f/<unit>), which the broker ACL vouches for; a
    # payload naming anyone else is a forgery and is refused.
    if len(buf) < _HDR_LEN + 4:
        raise ValueError("floor msg too short")
    magic, ver, kind, prio, reason, epoch, burst, t_ms = struct.unpack(_HDR, bytes(buf[:_HDR_LEN]))
    if magic != _MAGIC:
        raise ValueError("not a floor msg")
    if ver != _VERSION:
        raise ValueError("floor msg version %d" % ver)
    if kind not in KIND_NAMES:
        raise ValueError("bad floor kind %d" % kind)
    if prio not in PRIO_NAMES:
        raise ValueError("bad priority %d" % prio)
    tg, i = _take_name(buf, _HDR_LEN, "talkgroup")
    unit, i = _take_name(buf, i, "unit")
    if i != len(buf):
        raise ValueError("trailing bytes in floor msg")
    if sender is not None and sender != unit:
        raise ValueError("floor msg from %s names %s" % (sender, unit))
    return FloorMsg(kind, unit, prio, epoch, burst, tg, t_ms, reason)
