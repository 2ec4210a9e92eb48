# Floor records: what the talkgroup's arbiter publishes on ht/<fleet>/tg/<tg>/g (docs/FLOOR.md section 3).
# The arbiter is the only publisher of that topic, and MQTT keeps one publisher's order on every broker
# and every cluster, so every radio sees the records in the arbiter's order; (epoch, seq) numbers them so a
# radio applies each once and ignores duplicates and late copies.
# Layout: 19-byte big-endian header, then talkgroup and unit as length-prefixed UTF-8 (unit empty on IDLE).
#   magic 'G' | version | kind | priority | reason | epoch u32 | seq u32 | burst u32 | lease ms u16 | tg | unit
import struct

from ht.compat import const
from ht.radio.floormsg import _name, _take_name     # the same length-prefixed names

GRANT = const(1)     # unit holds the floor for burst, for lease_ms after this record arrives
IDLE = const(2)      # the floor is free (reason says why; also the slow idle beacon)
REJECT = const(3)    # unit's request (burst) was refused; priority = the holder's
KIND_NAMES = {GRANT: "grant", IDLE: "idle", REJECT: "reject"}

# reason: why a record was sent
R_NONE = const(0)       # GRANT: a new grant, a renewal or a beacon; IDLE: beacon
R_RELEASED = const(1)   # IDLE: the holder released
R_TIMEOUT = const(2)    # IDLE: the burst hit the talk timeout
R_EXPIRED = const(3)    # IDLE: the holder's lease ran out (holder gone)
R_BUSY = const(4)       # REJECT: equal or lower priority than the holder
R_DENIED = const(5)     # REJECT: the holder has a higher priority
REASON_NAMES = {R_NONE: "", R_RELEASED: "released", R_TIMEOUT: "timeout", R_EXPIRED: "expired",
                R_BUSY: "busy", R_DENIED: "denied"}

_MAGIC = const(0x47)
_VERSION = const(1)
_HDR = ">BBBBBIIIH"
_HDR_LEN = const(19)


class Record:
    def __init__(self, kind, tg, unit, prio, burst, epoch, seq, lease_ms=0, reason=0):
        self.kind = kind
        self.tg = tg
        self.unit = unit      # GRANT: the holder; REJECT: the refused unit; IDLE: ""
        self.prio = prio
        self.burst = burst
        self.epoch = epoch
        self.seq = seq
        self.lease_ms = lease_ms
        self.reason = reason

    def newer(self, epoch, seq):
        # True when this record comes after (epoch, seq): a new epoch restarts seq.
        return self.epoch > epoch or (self.epoch == epoch and self.seq > seq)

    def fields(self):
        return (self.kind, self.tg, self.unit, self.prio, self.burst, self.epoch, self.seq, self.lease_ms,
                self.reason)

    def __eq__(self, other):
        return isinstance(other, Record) and self.fields() == other.fields()

    def __repr__(self):
        return "Record(%s %s tg=%s p%d b%d e%d s%d l%d %s)" % (
            KIND_NAMES.get(self.kind, "?"), self.unit, self.tg, self.prio, self.burst, self.epoch, self.seq,
            self.lease_ms, REASON_NAMES.get(self.reason, "?"))


def pack(r):
    if r.kind not in KIND_NAMES:
        raise ValueError("bad record kind")
    if r.reason not in REASON_NAMES:
        raise ValueError("bad record reason")
    tg = _name(r.tg, "talkgroup", False)
    unit = _name(r.unit or "", "unit", r.kind == IDLE)
    hdr = struct.pack(_HDR, _MAGIC, _VERSION, r.kind, r.prio & 0xFF, r.reason, r.epoch & 0xFFFFFFFF,
                      r.seq & 0xFFFFFFFF, r.burst & 0xFFFFFFFF, min(r.lease_ms, 0xFFFF))
    return hdr + bytes((len(tg),)) + tg + bytes((len(unit),)) + unit


def parse(buf):
    if len(buf) < _HDR_LEN + 3:
        raise ValueError("record too short")
    magic, ver, kind, prio, reason, epoch, seq, burst, lease = struct.unpack(_HDR, bytes(buf[:_HDR_LEN]))
    if magic != _MAGIC:
        raise ValueError("not a floor record")
    if ver != _VERSION:
        raise ValueError("record version %d" % ver)
    if kind not in KIND_NAMES:
        raise ValueError("bad record kind %d" % kind)
    if reason not in REASON_NAMES:
        raise ValueError("bad record reason %d" % reason)
    tg, i = _take_name(buf, _HDR_LEN, "talkgroup", False, "record")
    unit, i = _take_name(buf, i, "unit", kind == IDLE, "record")
    if i != len(buf):
        raise ValueError("trailing bytes in record")
    return Record(kind, tg, unit, prio, burst, epoch, seq, lease, reason)
