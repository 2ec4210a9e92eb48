# What the jitter buffer (ht/voice/jitter.py) learns and counts, as an object the buffer owns:
# RFC 3550 interarrival jitter, the excess-transit history the playout-delay policy learns from,
# the buffering-delay histogram and the counters. Everything is preallocated here, once: the buffer
# calls transit() and delay() per frame, and those only index into arrays and add small ints.
from array import array
from ht.compat import const

_EXCESS = const(128)     # transit samples kept for the delay policy
_DBIN = const(5)         # delay histogram: 5 ms bins up to 1275 ms
_NBIN = const(256)


def seq_diff(a, b):
    # a - b as a signed 16-bit distance (RFC 1982 serial-number arithmetic).
    return ((a - b + 32768) & 0xFFFF) - 32768


class JitterStats:
    def __init__(self, min_delay_ms=40, max_delay_ms=200, start_delay_ms=80, quantile=950, margin_ms=10):
        self.min_delay = min_delay_ms
        self.max_delay = max_delay_ms
        self.start_delay = start_delay_ms
        self.quantile = quantile
        self.margin = margin_ms
        self.excess = array("H", [0] * _EXCESS)
        self.excess_n = 0
        self.dhist = array("i", [0] * _NBIN)
        self.qhist = array("H", [0] * 101)
        self.prev_arr = -1
        self.prev_t = 0
        self.b_min = 0x3FFFFFFF
        self.clump = 0           # 1 while the frames a link stall held back are arriving (not learned from)
        self.pend = -1           # the excess of a frame that came after a silence, until the next tells
        self.clear()

    def clear(self):
        self.received = 0
        self.late = 0
        self.duplicate = 0
        self.reordered = 0
        self.busy = 0
        self.oversize = 0
        self.skipped = 0   # received, then dropped unplayed to make room (counted once, as received)
        self.stalls = 0
        self.played = 0
        self.missing = 0
        self.expected_done = 0
        self.received_done = 0
        self.delay_sum = 0
        self.delay_n = 0
        self.jitter16 = 0
        for i in range(_NBIN):
            self.dhist[i] = 0

    def new_burst(self):
        if self.pend >= 0:
            self._keep(self.pend)
        self.pend = -1
        self.b_min = 0x3FFFFFFF
        self.prev_arr = -1
        self.clump = 0

    def transit(self, t, stall=0, tight=False, held=False):
        # t: this packet's transit relative to the burst's anchor (ms). RFC 3550 A.8 interarrival
        # jitter (x16, arrival order) and the excess transit over the burst's fastest packet, which
        # the delay policy learns from.
        # A link stall (frames held, then delivered in order in a clump) is not learned from: the
        # buffer plays it as a pause within its own burst (jitter.py, _stalled) or, if shorter, the
        # depth or a few concealed frames cover it; it says nothing about the jitter the next burst's
        # start must cover. Learned, one 300 ms stall set the next bursts' delay to the 200 ms bound
        # (the console's m2e figures, docs/DESK.md). clump: set by the buffer when it replays one;
        # held: this frame, next in order, came after a silence of a stall (the buffer's view): if
        # the next arrives right behind it (`tight`, back to back) it is a clump, else a lone late
        # frame, which is jitter and is learned. A clump lasts while its frames come back to back
        # or `stall` ms or more over the burst's fastest.
        if self.prev_arr >= 0:
            d = t - self.prev_t
            if d < 0:
                d = -d
            self.jitter16 += d - ((self.jitter16 + 8) >> 4)
        self.prev_arr = 1
        self.prev_t = t
        if t < self.b_min:
            self.b_min = t
        e = t - self.b_min
        if self.pend >= 0:
            if tight:
                self.clump = 1
            else:
                self._keep(self.pend)
            self.pend = -1
        if held and not self.clump:
            self.pend = e if e < 1000 else 1000
            return
        if self.clump:
            if e >= stall or tight:
                return
            self.clump = 0
        self._keep(e)

    def _keep(self, e):
        n = self.excess_n
        self.excess[n % _EXCESS] = e if e < 1000 else 1000
        # Wrap the count (keeping "full" visible) so it never outgrows a small int.
        self.excess_n = n + 1 if n < 2 * _EXCESS else _EXCESS + 1

    def policy(self):
        # Delay for a new burst: the chosen quantile of recent excess transit, plus a
        # margin, bounded. Before any history: start_delay.
        n = self.excess_n
        if n < 16:
            return self.start_delay
        if n > _EXCESS:
            n = _EXCESS
        qh = self.qhist
        for i in range(101):
            qh[i] = 0
        for i in range(n):
            qh[self.excess[i] // 10] += 1
        need = (n * self.quantile + 999) // 1000
        acc = 0
        b = 0
        while b < 100:
            acc += qh[b]
            if acc >= need:
                break
            b += 1
        d = b * 10 + 10 + self.margin
        if d < self.min_delay:
            d = self.min_delay
        if d > self.max_delay:
            d = self.max_delay
        return d

    def delay(self, d):
        # One frame played d ms after it arrived.
        if d < 0:
            d = 0
        self.played += 1
        self.delay_sum += d
        self.delay_n += 1
        if self.delay_sum > 0x10000000:
            # Weeks of talk without clear(): halve both, keep the mean, stay a small int (a long
            # int would allocate on every frame).
            self.delay_sum >>= 1
            self.delay_n >>= 1
        b = d // _DBIN
        self.dhist[b if b < _NBIN else _NBIN - 1] += 1

    # -- reports (allocate: call from the UI, not per frame) ------------------------------
    def lost(self, open_expected=0, open_received=0):
        # open_*: the burst still playing, which the buffer knows about.
        return self.expected_done + open_expected - self.received_done - open_received

    def delay_p(self, q):
        n = self.played
        if not n:
            return 0
        need = n * q
        acc = 0
        for b in range(_NBIN):
            acc += self.dhist[b]
            if acc >= need:
                return b * _DBIN + _DBIN / 2
        return _NBIN * _DBIN

    def report(self, lost):
        return {
            "received": self.received, "lost": lost, "late": self.late,
            "duplicate": self.duplicate, "reordered": self.reordered, "busy": self.busy,
            "oversize": self.oversize, "skipped": self.skipped, "stalls": self.stalls,
            "played": self.played, "missing": self.missing,
            "delay_mean_ms": (self.delay_sum / self.delay_n) if self.delay_n else 0,
            "delay_p95_ms": self.delay_p(0.95), "jitter_ms": self.jitter16 / 16,
        }
