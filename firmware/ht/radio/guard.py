# Voice receive guard: every voice frame is checked here before it reaches a jitter buffer.
# The broker's ACL pins a unit to its own topic, so the topic names the sender; the frame must agree
# (source id and talkgroup), carry a valid tag when the fleet has a key, and be new for that source.
# Replay window: RFC 4303 3.4.3 style over the 16-bit sequence (which continues across bursts), kept
# as "last sequence seen in slot seq mod 64" so checking allocates nothing.
import hashlib
from array import array
from ht.voice import frame
from ht.compat import const

_WIN = const(64)
_MAXSRC = const(16)      # sources remembered; the least recently heard one is forgotten first

OK = 0
SPOOFED = 100
REPLAYED = 101


def unit_num(name):
    # Frame source id (24 bits) for a unit name: its digits when it is a number, else a hash.
    s = str(name)
    if s.isdigit() and int(s) <= 0xFFFFFF:
        return int(s)
    return int.from_bytes(hashlib.sha256(s.encode()).digest()[:3], "big")


def tg_num(name):
    # Frame talkgroup (16 bits) for a talkgroup name, the same way.
    s = str(name)
    if s.isdigit() and int(s) <= 0xFFFF:
        return int(s)
    return int.from_bytes(hashlib.sha256(s.encode()).digest()[:2], "big")


class SourceIds:
    # unit name -> frame source id, worked out once per name: hashing a name per voice frame would
    # allocate on the receive path.
    def __init__(self):
        self._n = {}

    def get(self, unit):
        n = self._n.get(unit)
        if n is None:
            n = self._n[unit] = unit_num(unit)
        return n


def seq_diff(a, b):
    return ((a - b + 32768) & 0xFFFF) - 32768


class VoiceGuard:
    def __init__(self, key=None):
        self.key = frame.as_key(key)
        self.frame = frame.Frame()     # the frame last checked: AudioPath hands it on to a Receiver
        self.src = array("i", [-1] * _MAXSRC)     # source id per window
        self.top = array("i", [0] * _MAXSRC)      # highest sequence accepted
        self.used = array("i", [0] * _MAXSRC)     # recency stamp for replacement
        self.seen = array("i", [-1] * (_MAXSRC * _WIN))
        self._stamp = 0
        self.rejected = array("i", [0] * len(frame.REASONS))
        self.spoofed = 0
        self.replayed = 0
        self.accepted = 0

    def check(self, data, unit_id, tg_id):
        # -> OK, a frame reason (bad tag, bad length ...), SPOOFED or REPLAYED. Counts every reject.
        f = self.frame
        r = frame.parse(data, f, self.key)
        if r:
            self.rejected[r] += 1
            return r
        if f.unit != unit_id or f.talkgroup != tg_id:
            self.spoofed += 1
            return SPOOFED
        if not self._fresh(f.unit, f.seq):
            self.replayed += 1
            return REPLAYED
        self.accepted += 1
        return OK

    def _slot(self, uid):
        src = self.src
        old = 0
        for i in range(_MAXSRC):
            if src[i] == uid:
                return i, False
            if self.used[i] < self.used[old]:
                old = i
        src[old] = uid
        base = old * _WIN
        for k in range(_WIN):
            self.seen[base + k] = -1
        return old, True

    def _fresh(self, uid, seq):
        i, new = self._slot(uid)
        self._stamp += 1
        self.used[i] = self._stamp
        k = i * _WIN + (seq & (_WIN - 1))
        if new:
            self.top[i] = seq
        else:
            d = seq_diff(seq, self.top[i])
            if d > 0:
                self.top[i] = seq
            elif d <= -_WIN or self.seen[k] == seq:
                return False
        self.seen[k] = seq
        return True

    def forget(self, uid):
        # The source started a new session (its presence came again): a rebooted radio restarts its
        # sequence anywhere, so its window starts afresh.
        for i in range(_MAXSRC):
            if self.src[i] == uid:
                self.src[i] = -1
                self.used[i] = 0

    def stats(self):
        s = {"accepted": self.accepted, "spoofed": self.spoofed, "replayed": self.replayed}
        for r in range(1, len(frame.REASONS)):
            if self.rejected[r]:
                s[frame.REASONS[r]] = self.rejected[r]
        return s
