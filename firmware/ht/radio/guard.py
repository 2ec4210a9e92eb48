# Voice receive guard: every voice frame is checked here before it reaches a jitter buffer.
# The broker's ACL pins a unit to its own topic, so the topic names the sender; the frame must agree
# (source id and talkgroup), carry a valid tag (a radio without the fleet key takes no voice at all), and be
# new for that source. "New" is ordered by (sender epoch, sequence): the epoch (frame version 2) is raised
# by the sender at every boot and at every wrap of its 16-bit sequence, so a rebooted radio is heard at
# once (a higher epoch) and an old recording never is (a lower epoch, or an old sequence of this one).
# Within an epoch: RFC 4303 3.4.3 window, "last sequence seen in slot seq mod 64", for 16 sources. What a
# source sent last ((epoch, top sequence), 12 bytes) is remembered for 128 sources, so neither presence
# nor a crowd of other talkers resets it (issue 11: both did). Checking allocates nothing.
import hashlib
from array import array
from ht.voice import frame
from ht.compat import const

_WIN = const(64)
_MAXSRC = const(16)      # sources with a 64-frame window; the least recently heard one loses its window first
_MEM = const(128)        # sources whose (epoch, top sequence) is remembered after their window went
_EHALF = const(0x800000)

OK = 0
SPOOFED = 100
REPLAYED = 101
NO_KEY = 102


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


def epoch_diff(a, b):
    # 24-bit serial arithmetic (RFC 1982): > 0 when epoch a is after b
    return ((a - b + _EHALF) & 0xFFFFFF) - _EHALF


class VoiceGuard:
    def __init__(self, key=None):
        # key None: the radio has no fleet key and refuses every frame (NO_KEY); the radio says why.
        self.key = frame.as_key(key)
        self.frame = frame.Frame()     # the frame last checked: AudioPath hands it on to a Receiver
        self.m_uid = array("i", [-1] * _MEM)      # remembered sources
        self.m_ep = array("i", [0] * _MEM)        # ... their latest epoch
        self.m_top = array("i", [0] * _MEM)       # ... the highest sequence accepted in it
        self.m_used = array("i", [0] * _MEM)      # recency stamp
        self.m_win = array("b", [-1] * _MEM)      # ... the window it holds, or -1
        self.w_mem = array("i", [-1] * _MAXSRC)   # window -> remembered source
        self.seen = array("i", [-1] * (_MAXSRC * _WIN))
        self._stamp = 0
        self._last = 0                            # the source found last (a burst hits it 50 times a second)
        self.rejected = array("i", [0] * len(frame.REASONS))
        self.spoofed = 0
        self.replayed = 0
        self.accepted = 0
        self.nokey = 0

    def check(self, data, unit_id, tg_id):
        # -> OK, a frame reason (bad tag, bad length ...), SPOOFED, REPLAYED or NO_KEY. Counts every reject.
        if self.key is None:
            self.nokey += 1
            return NO_KEY
        f = self.frame
        r = frame.parse(data, f, self.key)
        if r:
            self.rejected[r] += 1
            return r
        if f.unit != unit_id or f.talkgroup != tg_id:
            self.spoofed += 1
            return SPOOFED
        if not self._fresh(f.unit, f.epoch, f.seq):
            self.replayed += 1
            return REPLAYED
        self.accepted += 1
        return OK

    def _find(self, uid):
        m = self._last
        if self.m_uid[m] == uid:
            return m
        mu = self.m_uid
        for i in range(_MEM):
            if mu[i] == uid:
                self._last = i
                return i
        return -1

    def _remember(self, uid):
        # A new source takes the entry heard longest ago (and gives up its window).
        used = self.m_used
        old = 0
        for i in range(_MEM):
            if self.m_uid[i] < 0:
                old = i
                break
            if used[i] < used[old]:
                old = i
        w = self.m_win[old]
        if w >= 0:
            self.w_mem[w] = -1
            self.m_win[old] = -1
        self.m_uid[old] = uid
        self._last = old
        return old

    def _window(self, m, seq):
        # A fresh window for source m (the least recently heard window's owner keeps its (epoch, top)).
        w = self.m_win[m]
        if w < 0:
            w = 0
            best = -1
            for i in range(_MAXSRC):
                o = self.w_mem[i]
                if o < 0:
                    w = i
                    break
                if best < 0 or self.m_used[o] < best:
                    best = self.m_used[o]
                    w = i
            o = self.w_mem[w]
            if o >= 0:
                self.m_win[o] = -1
            self.w_mem[w] = m
            self.m_win[m] = w
        base = w * _WIN
        for k in range(_WIN):
            self.seen[base + k] = -1
        self.seen[base + (seq & (_WIN - 1))] = seq
        self.m_top[m] = seq

    def _fresh(self, uid, ep, seq):
        m = self._find(uid)
        self._stamp += 1
        if m < 0:
            m = self._remember(uid)
            self.m_used[m] = self._stamp
            self.m_ep[m] = ep
            self._window(m, seq)
            return True
        d = epoch_diff(ep, self.m_ep[m])
        if d < 0:
            return False                  # an earlier boot (or sequence lap) of this source: a recording
        self.m_used[m] = self._stamp
        if d > 0:
            self.m_ep[m] = ep             # rebooted (or its sequence wrapped): a new window
            self._window(m, seq)
            return True
        w = self.m_win[m]
        if w < 0:
            # Same epoch, window lost to other talkers: only what is past the top it reached is new.
            if seq_diff(seq, self.m_top[m]) <= 0:
                return False
            self._window(m, seq)
            return True
        k = w * _WIN + (seq & (_WIN - 1))
        dq = seq_diff(seq, self.m_top[m])
        if dq > 0:
            self.m_top[m] = seq
        elif dq <= -_WIN or self.seen[k] == seq:
            return False
        self.seen[k] = seq
        return True

    def stats(self):
        s = {"accepted": self.accepted, "spoofed": self.spoofed, "replayed": self.replayed}
        if self.nokey:
            s["no key"] = self.nokey
        for r in range(1, len(frame.REASONS)):
            if self.rejected[r]:
                s[frame.REASONS[r]] = self.rejected[r]
        return s
