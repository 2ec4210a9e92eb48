# Jitter buffer for one talker at a time. Frames are kept in slots indexed by
# sequence number (16 bits, wraps); the playout clock is whoever calls next(now_ms)
# once per frame. The playout delay is chosen once per burst, at its first packet,
# from the spread of recent transit times: changing it mid-burst would stretch or cut
# speech. A link stall (frames held, then delivered in a clump) is played as a pause within
# its burst and is not learned from: the next burst starts at the depth the jitter alone asks
# for (learn_stalls=True keeps the old way, for the benches' before/after). Everything is
# preallocated; times are ticks (ms) compared with ticks_diff.
from array import array
from ht.compat import const, kernel, ticks_diff, ticks_add
from ht.voice.jitterstats import JitterStats, seq_diff  # noqa: F401 (seq_diff: API)

_copy = kernel("ht.voice.pcmcopy")

IDLE = const(-2)     # next(): nothing to play (silence)
MISSING = const(-1)  # next(): a frame is due but absent (conceal it)

# push() results
ACCEPTED = const(0)
LATE = const(1)
DUPLICATE = const(2)
BUSY = const(3)      # another unit is talking on this receiver
OVERSIZE = const(4)  # frame longer than the slots were sized for (e.g. 40 ms µ-law + small slots)

_WAIT = const(1)
_PLAY = const(2)
_HIST = const(64)        # remembered sequence numbers, to tell duplicates from late
_END_MS = const(400)     # an unfinished burst (END lost) ends after this much silence


class JitterBuffer:
    def __init__(self, nslots=16, max_payload=320, state_len=4, min_delay_ms=40,
                 max_delay_ms=200, start_delay_ms=80, quantile=950, margin_ms=10, hold=False,
                 stall_ms=60, learn_stalls=False):
        if nslots & (nslots - 1):
            raise ValueError("nslots must be a power of two")
        self.nslots = nslots
        self.mask = nslots - 1
        self.seq = array("i", [-1] * nslots)
        self.arrival = array("i", [0] * nslots)
        self.flags = bytearray(nslots)
        self.pt = bytearray(nslots)
        self.ms = bytearray(nslots)
        self.state = [bytearray(state_len) for _ in range(nslots)]
        self.payload = [bytearray(max_payload) for _ in range(nslots)]
        self.max_payload = max_payload
        self.state_len = state_len
        # Counters, transit history and the playout-delay policy: an object of its own
        # (ht/voice/jitterstats.py); stats(), lost() and delay_p() below read it.
        self.stat = JitterStats(min_delay_ms, max_delay_ms, start_delay_ms, quantile, margin_ms)
        self.hold = hold
        self.stall_ms = stall_ms
        self.learn_stalls = learn_stalls
        self.last_arr = 0    # when the latest frame came (a silence, then frames back to back: a stall)
        self.b_high_prev = 0
        self.quiet = 0       # 2: a silence of a stall just ended (no frame of it stored yet), 1: stored
        self.peek_dist = 0
        self.seen = array("i", [-1] * _HIST)
        self.unit = -1
        self.burst_id = -1
        self.last_seq = -1
        self.mode = 0
        self.delay = start_delay_ms
        self.frame_ms = 20
        self.bursts = 0      # bursts started playing: the receiver watches it for a new burst
        self.b_recv = 0
        self.b_start = 0
        self.b_high = 0

    # -- arrival side -------------------------------------------------------------------
    def push(self, f, data, now):
        # f: a parsed ht.voice.frame.Frame for `data`. Returns ACCEPTED/LATE/DUPLICATE/BUSY.
        if f.unit != self.unit:
            if self.mode or self._count():
                self.stat.busy += 1
                return BUSY
            self.unit = f.unit
            self.last_seq = -1
        if f.payload_len > self.max_payload or f.payload_off - f.state_off > self.state_len:
            # The slot copies below are unchecked viper loops: never let them overrun.
            self.stat.oversize += 1
            return OVERSIZE
        gap = ticks_diff(now, self.last_arr)     # since this talker's previous frame came
        self.last_arr = now
        if gap >= self.stall_ms + self.frame_ms:
            self.quiet = 2                       # the link was silent for a stall (or more)
        elif gap < 0 or gap >= (self.frame_ms >> 1):
            self.quiet = 0                       # frames come spaced again: no clump
        seq = f.seq
        if self.mode and f.burst != self.burst_id and f.flags & 1:  # F_START
            # The same unit pressed again before its last burst finished playing:
            # the new burst wins, the old tail is dropped.
            self._finish()
        if self.mode == 0:
            if self.last_seq >= 0 and -_HIST < seq_diff(seq, self.last_seq) <= 0:
                return self._behind(seq, True)
            self._anchor(f, now)
        else:
            d = seq_diff(seq, self.next_seq)
            if d < 0 and self._stalled(f, d):
                # A stall, not a loss: frames that were lost never turn up late, these
                # were held by the link (LTE radio link failure or a TCP retransmission
                # timeout: in order, in a clump). Go back and play them from here; the
                # concealment already heard stands as a pause. Cutting them instead
                # would drop whole words (a 300 ms stall: PESQ 3.5 -> 3.0).
                self.stat.stalls += 1
                self.next_seq = seq
                self.gap = 0
                if not self.learn_stalls:
                    self.stat.clump = 1   # this frame and the clump behind it: not learned from
            elif d < 0:
                if (self.mode == _PLAY or f.burst != self.burst_id
                        or seq_diff(self.b_high, seq) >= self.nslots):
                    return self._behind(seq, seq_diff(seq, self.b_start) >= 0)
                self.next_seq = seq   # waiting: an earlier frame of this burst
                self.b_start = seq
            elif d >= self.nslots and self.mode == _PLAY and f.burst == self.burst_id:
                # Far ahead within the playing burst (the tail of a replayed stall): make
                # room by dropping the oldest waiting frames, not the burst.
                self._skip((seq - self.nslots + 1) & 0xFFFF)
            elif d >= self.nslots:
                # Far ahead of playout: the old burst is gone (END lost, long outage).
                self._finish()
                self._anchor(f, now)
        i = seq & self.mask
        if self.seq[i] == seq:
            self.stat.duplicate += 1
            return DUPLICATE
        self._store(i, f, data, now, gap)
        return ACCEPTED

    def _stalled(self, f, d):
        # Late by at least stall_ms, every frame since it concealed (none played), and
        # the rewound span still fits the slots. A frame late by less stays dropped:
        # replacing 20-40 ms of a word with concealment costs less than pausing it.
        late_ms = -d * self.frame_ms
        return (self.mode == _PLAY and self.stall_ms and late_ms >= self.stall_ms
                and f.burst == self.burst_id and self.gap >= late_ms
                and seq_diff(self.b_high, f.seq) < self.nslots)

    def _skip(self, to):
        seq = self.next_seq
        while seq_diff(to, seq) > 0:
            i = seq & self.mask
            if self.seq[i] == seq:
                self.seq[i] = -1
                self.stat.skipped += 1   # already counted as received: not "late" a second time
            self.seen[seq & (_HIST - 1)] = seq
            seq = (seq + 1) & 0xFFFF
        self.next_seq = seq

    def _behind(self, seq, in_burst):
        st = self.stat
        if self.seen[seq & (_HIST - 1)] == seq:
            st.duplicate += 1
            return DUPLICATE
        self.seen[seq & (_HIST - 1)] = seq
        st.late += 1
        if in_burst:
            st.received_done += 1
            d = seq_diff(seq, self.b_high)
            if d > 0:
                # Late and past every frame stored (concealment ran the sequence on past them): the
                # burst reached this far, so the frames between count as expected (else lost < 0).
                self.b_high = seq
                if not self.mode:
                    st.expected_done += d
        return LATE

    def _anchor(self, f, now):
        # First packet of a burst: playout starts `delay` ms after it arrived.
        self.mode = _WAIT
        self.delay = self.stat.policy()
        self.play_at = ticks_add(now, self.delay)
        self.next_seq = f.seq
        self.b_start = f.seq
        self.b_high = f.seq
        self.b_recv = 0
        self.ref_seq = f.seq
        self.burst_id = f.burst
        self.frame_ms = f.frame_ms
        self.stat.new_burst()

    def _store(self, i, f, data, now, gap):
        seq = f.seq
        self.seq[i] = seq
        self.arrival[i] = now
        self.flags[i] = f.flags
        self.pt[i] = f.pt
        self.ms[i] = f.frame_ms
        _copy.copy8(self.state[i], data, f.state_off, f.payload_off - f.state_off)
        _copy.copy8(self.payload[i], data, f.payload_off, f.payload_len)
        st = self.stat
        if (self.hold and self.mode == _PLAY and seq == self.next_seq and self.stall_ms
                and self.gap >= self.stall_ms and not self.learn_stalls):
            st.clump = 1     # the frame playout held for (hold=True): a stall, as above
        st.received += 1
        self.b_recv += 1
        self.b_high_prev = self.b_high
        if seq_diff(seq, self.b_high) < 0:
            st.reordered += 1
        else:
            self.b_high = seq
        # transit relative to the burst's anchor, for the jitter estimate and the delay policy; a stall
        # (a silence, then frames back to back) is not learned (jitterstats.py)
        held = tight = False
        if self.stall_ms and not self.learn_stalls and self.b_recv > 1:
            tight = 0 <= gap < (self.frame_ms >> 1)
            held = self.quiet == 2 and seq_diff(seq, self.b_high_prev) > 0
            if held:
                self.quiet = 1
        st.transit(ticks_diff(now, self.play_at) - seq_diff(seq, self.ref_seq) * self.frame_ms,
                   self.stall_ms, tight, held)

    def _count(self):
        c = 0
        for i in range(self.nslots):
            if self.seq[i] >= 0:
                c += 1
        return c

    def _finish(self):
        if self.mode:
            self.stat.expected_done += seq_diff(self.b_high, self.b_start) + 1
            self.stat.received_done += self.b_recv
            self.b_recv = 0
            self.b_start = self.b_high
        self.mode = 0
        # Remember where the burst ended, to tell its stragglers (late) from the next
        # burst: the last frame played, or the last received if the END never came
        # (concealment ran the sequence on past it).
        last = (self.next_seq - 1) & 0xFFFF
        if seq_diff(self.b_high, last) < 0:
            last = self.b_high
        self.last_seq = last
        for i in range(self.nslots):
            self.seq[i] = -1

    # -- playout side -------------------------------------------------------------------
    def next(self, now):
        # Called when the player needs its next frame. Returns a slot index (frame to
        # decode, valid until the next push), MISSING or IDLE.
        if self.mode == _WAIT:
            if ticks_diff(now, self.play_at) < 0:
                return IDLE
            self.mode = _PLAY
            self.bursts += 1
            self.gap = 0
        elif self.mode != _PLAY:
            return IDLE
        seq = self.next_seq
        i = seq & self.mask
        if self.seq[i] == seq:
            self.next_seq = (seq + 1) & 0xFFFF
            self.seq[i] = -1
            self.seen[seq & (_HIST - 1)] = seq
            self.gap = 0
            self.frame_ms = self.ms[i]
            self.stat.delay(ticks_diff(now, self.arrival[i]))
            if self.flags[i] & 2:  # F_END
                self._finish()
            return i
        self.gap += self.frame_ms
        empty = not self._count()
        if empty and self.gap >= _END_MS:
            # Burst over without its END frame: do not count the tail as lost.
            self._finish()
            return IDLE
        if not (empty and self.hold):
            # Frames behind this one are here, so this one is lost (or hopelessly
            # late): conceal it and move on. With nothing buffered at all the link is
            # more likely stalled (LTE handover, TCP head-of-line blocking) than
            # dropping: hold the sequence and conceal until it arrives, which adds
            # the stall to this burst's delay instead of cutting it out of the speech.
            self.next_seq = (seq + 1) & 0xFFFF
            self.seen[seq & (_HIST - 1)] = -1
        self.stat.missing += 1
        return MISSING

    def peek(self, within):
        # After next() returned MISSING: the slot of the first buffered frame among the
        # next `within`, with its distance in frames from the missing one in peek_dist
        # (1 = right after it); -1 if none.
        if self.mode != _PLAY:
            return -1
        seq = self.next_seq
        for d in range(within):
            i = (seq + d) & self.mask
            if self.seq[i] == ((seq + d) & 0xFFFF):
                self.peek_dist = d + 1
                return i
        return -1

    # -- statistics (allocates: call from the UI, not per frame) -------------------------
    def lost(self):
        if self.mode:
            return self.stat.lost(seq_diff(self.b_high, self.b_start) + 1, self.b_recv)
        return self.stat.lost()

    def delay_p(self, q):
        return self.stat.delay_p(q)

    def stats(self):
        s = self.stat.report(self.lost())
        s["bursts"] = self.bursts
        s["playout_delay_ms"] = self.delay
        return s
