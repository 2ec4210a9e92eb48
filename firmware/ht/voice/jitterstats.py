# Statistics and the playout-delay policy of the jitter buffer (ht/voice/jitter.py), kept
# apart so each file stays small: RFC 3550 interarrival jitter, the excess-transit
# history the delay policy learns from, the buffering-delay histogram and counters.
# Mixed into JitterBuffer; everything works on its preallocated arrays.
from ht.compat import const, ticks_diff

_EXCESS = const(128)     # transit samples kept for the delay policy
_DBIN = const(5)         # delay histogram: 5 ms bins up to 1275 ms
_NBIN = const(256)


def seq_diff(a, b):
    # a - b as a signed 16-bit distance (RFC 1982 serial-number arithmetic).
    return ((a - b + 32768) & 0xFFFF) - 32768


class JitterStats:
    def clear_stats(self):
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
        self.bursts = 0
        self.expected_done = 0
        self.received_done = 0
        self.delay_sum = 0
        self.delay_n = 0
        self.jitter16 = 0
        for i in range(_NBIN):
            self.dhist[i] = 0
        self.b_recv = 0
        self.b_start = 0
        self.b_high = 0

    def _transit(self, seq, now):
        # RFC 3550 A.8 interarrival jitter (x16, arrival order) and the excess transit
        # over the burst's fastest packet, which the delay policy learns from.
        ms = self.frame_ms
        t = ticks_diff(now, self.play_at) - seq_diff(seq, self.ref_seq) * ms
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
        n = self.excess_n
        self.excess[n % _EXCESS] = e if e < 1000 else 1000
        # Wrap the count (keeping "full" visible) so it never outgrows a small int.
        self.excess_n = n + 1 if n < 2 * _EXCESS else _EXCESS + 1

    def _policy(self):
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

    def _delay_stat(self, d):
        if d < 0:
            d = 0
        self.delay_sum += d
        self.delay_n += 1
        if self.delay_sum > 0x10000000:
            # Weeks of talk without clear_stats(): halve both, keep the mean, stay a
            # small int (a long int would allocate on every frame).
            self.delay_sum >>= 1
            self.delay_n >>= 1
        b = d // _DBIN
        self.dhist[b if b < _NBIN else _NBIN - 1] += 1

    # -- statistics (allocates: call from the UI, not per frame) -------------------------
    def lost(self):
        exp = self.expected_done
        rec = self.received_done
        if self.mode:
            exp += seq_diff(self.b_high, self.b_start) + 1
            rec += self.b_recv
        return exp - rec

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

    def stats(self):
        n = self.played
        return {
            "received": self.received, "lost": self.lost(), "late": self.late,
            "duplicate": self.duplicate, "reordered": self.reordered, "busy": self.busy,
            "oversize": self.oversize, "skipped": self.skipped, "stalls": self.stalls,
            "played": n, "missing": self.missing, "bursts": self.bursts,
            "delay_mean_ms": (self.delay_sum / self.delay_n) if self.delay_n else 0,
            "delay_p95_ms": self.delay_p(0.95), "jitter_ms": self.jitter16 / 16,
            "playout_delay_ms": self.delay,
        }
