# Packet-loss concealment after ITU-T G.711 Appendix I: on a lost frame, repeat the last
# pitch period(s) of what was played, blend the seams with a quarter-period overlap-add,
# widen to 2 then 3 periods after 10 and 20 ms (one period repeated sounds buzzy), fade
# 20 % per 10 ms from 10 ms on (silent at 60 ms), and overlap-add into the next good
# frame. Like Appendix I, all audio leaves 3.75 ms (30 samples) late so the seam before
# a loss can still be smoothed. Integer arithmetic only: floats would be heap objects
# on MicroPython, and this runs on the playout path.
from array import array
from ht.compat import const, kernel
_copy = kernel("ht.voice.pcmcopy")

DELAY = const(30)        # output delay in samples (3.75 ms): the longest quarter period
_RING = const(512)       # history ring (power of two); a frame + DELAY must fit: 60 ms max
_MASK = const(511)
_HIST = const(390)       # 3.25 periods of the longest pitch: what Appendix I keeps
_PMIN = const(40)        # pitch search range 5..15 ms (66..200 Hz) at 8 kHz
_PMAX = const(120)
_CORR = const(160)       # correlate the last 20 ms (also in plc_pure/plc_viper)
_FADE_START = const(80)  # samples of erasure before the fade begins (10 ms)
_FADE_LEN = const(400)   # then down to zero over 50 ms -> silent 60 ms into a loss


class Concealer:
    def __init__(self):
        self.ring = array("h", bytes(2 * _RING))
        self.pbuf = array("h", bytes(2 * _HIST))
        self.tmp = array("h", bytes(2 * 80))   # concealment tail for the merge
        self.w = 0           # total samples written into the ring (masked on use)
        self.erased = 0      # samples concealed in the current loss, 0 when not in a loss
        self.pitch = _PMAX
        self.periods = 1
        self.pos = 0         # read position in pbuf of the next synthetic sample
        self.concealed = 0   # statistics: samples produced by concealment

    def reset(self):
        for i in range(_RING):
            self.ring[i] = 0
        self.w = 0
        self.erased = 0

    # -- the three things a receiver does per frame period ---------------------------
    def good(self, pcm, n):
        # A decoded frame: blend it with the tail of an ongoing concealment, store it,
        # and replace pcm[0:n] with the delayed output.
        if self.erased:
            self._merge(pcm, n)
            self.erased = 0
        self._push_out(pcm, n)

    def silence(self, pcm, n):
        # Idle: let the delay line drain into silence.
        _copy.zero16(pcm, n)
        self.erased = 0
        self._push_out(pcm, n)

    def bad(self, pcm, n, ahead=None, until=0):
        # A missing frame: synthesise n samples, store them (so a second loss continues
        # from them) and output the delayed signal. `ahead`, when the jitter buffer
        # already holds a frame after the gap (decoded; it starts `until` samples from
        # the start of this one), lets the gap end in it: across the whole gap the
        # forward repetition is cross-faded into that frame's first pitch period
        # repeated backwards, so a lost word onset is not silence and the next frame
        # joins without a seam.
        if not self.erased:
            self._start()
        e0 = self.erased
        self._gen(pcm, n)
        if ahead is not None and until >= n:
            self._into(pcm, n, ahead, e0, until)
        self.concealed += n
        self._push_out(pcm, n)

    # -- internals ------------------------------------------------------------------
    def _into(self, pcm, n, ahead, e0, until):
        # The next frame's template repeats with a period near the history's pitch:
        # pick, within +-4 samples (pitch drifts across a gap), the one that lines up
        # best with the forward repetition, so the cross-fade adds instead of cancels.
        # Its phase is fixed by ahead[0] having to follow the gap's last sample.
        p0 = self.pitch
        p = p0
        best = -0x3FFFFFFF
        for q in range(p0 - 4, p0 + 5):
            if _PMIN <= q <= _PMAX:
                k = until % q
                c = _k.tcorr(pcm, n, ahead, q - k if k else 0, q)
                if c > best:
                    best = c
                    p = q
        k = until % p
        _k.into(pcm, n, ahead, p - k if k else 0, p, e0, e0 + until)
        if until == n:
            self.erased = 0    # the gap now leads into the next frame: no merge
            self.ola_left = 0

    def _push_out(self, pcm, n):
        w = self.w
        _copy.ring_io(self.ring, w & _MASK, pcm, n, DELAY)
        self.w = (w + n) & 0x3FFFFFFF

    def _start(self):
        ring = self.ring
        pb = self.pbuf
        base = (self.w - _HIST) & _MASK
        first = _RING - base       # the history may wrap around the ring's end
        if first > _HIST:
            first = _HIST
        _copy.copy16(pb, 0, ring, base, first)
        _copy.copy16(pb, first, ring, 0, _HIST - first)
        p = find_pitch(pb, _HIST)
        self.pitch = p
        # Smooth the wrap from the end of the last period back to its start: blend the
        # last quarter period toward the samples one period earlier (Appendix I).
        q = p >> 2
        for i in range(q):
            t = _HIST - q + i
            pb[t] = (pb[t] * (q - i) + pb[t - p] * (i + 1)) // (q + 1)
        # Those samples have not left the delay line yet: fix them there too.
        base = self.w - q
        for i in range(q):
            ring[(base + i) & _MASK] = pb[_HIST - q + i]
        self.periods = 1
        self.pos = _HIST - p

    def _gen(self, out, n):
        # n synthetic samples into out[0:n], in runs between the events of a loss
        # (widening at 10 and 20 ms, the overlap-add that follows), each run one kernel
        # call; then the fade over the whole frame.
        e0 = self.erased
        pb = self.pbuf
        p = self.pitch
        o = 0
        while o < n:
            e = self.erased
            if e == _FADE_START or e == 2 * _FADE_START:
                self._widen()
            seg = n - o
            lim = _FADE_START - e if e < _FADE_START else 2 * _FADE_START - e
            if 0 < lim < seg:
                seg = lim
            span = p * self.periods
            if self.ola_left:
                if self.ola_left < seg:
                    seg = self.ola_left
                ospan = p * self.ola_periods
                _k.ola(pb, self.pos, span, self.ola_pos, ospan, self.ola_left, self.ola_len,
                       out, o, seg)
                self.ola_left -= seg
                self.ola_pos = _wrap(self.ola_pos + seg, ospan)
            else:
                _k.repeat(pb, self.pos, span, out, o, seg)
            self.pos = _wrap(self.pos + seg, span)
            self.erased = e + seg
            o += seg
        _k.fade(out, n, e0)

    def _widen(self):
        # Use one more period from further back, entered at the same phase, with a
        # quarter-period overlap-add from the old position.
        p = self.pitch
        if self.periods >= 3 or _HIST - p * (self.periods + 1) < 0:
            return
        q = p >> 2
        self.ola_pos = self.pos
        self.ola_periods = self.periods
        self.ola_len = q + 1
        self.ola_left = q
        self.periods += 1
        self.pos -= p
        if self.pos < _HIST - p * self.periods:
            self.pos += p * self.periods

    ola_left = 0
    ola_len = 1
    ola_pos = 0
    ola_periods = 1

    def _merge(self, pcm, n):
        # Overlap-add the first samples of the good frame with the continuing
        # concealment: 4 ms, plus 4 ms per further 10 ms lost, at most 10 ms.
        e = self.erased
        olen = 32 + 32 * (e // 80)
        if olen > 80:
            olen = 80
        if olen > n:
            olen = n
        tmp = self.tmp
        self._gen(tmp, olen)
        _k.blend(pcm, tmp, olen)
        self.ola_left = 0


def _wrap(pos, span):
    while pos >= _HIST:
        pos -= span
    return pos


def find_pitch(x, n):
    # Normalised cross-correlation of the last _CORR samples with the signal one lag
    # earlier, lag in [_PMIN, _PMAX]: a coarse pass at 2:1 then +-1 refinement (as in
    # Appendix I), in integers scaled so no product leaves the small-int range.
    peak = _k.peak(x, n - _CORR - _PMAX, n)
    sh = 0
    while (peak >> sh) >= 512:
        sh += 1
    best = _PMAX
    best_score = -1
    lag = _PMIN
    while lag <= _PMAX:
        sc = _k.score(x, n, lag, sh, 2)
        if sc > best_score:
            best_score = sc
            best = lag
        lag += 2
    best = _refine(x, n, best, sh)
    best_score = _k.score(x, n, best, sh, 1)
    # A periodic signal correlates as well at twice its period: prefer the half lag
    # when it scores nearly as high (repeating two periods sounds like one, plus a
    # longer seam).
    half = best >> 1
    if half >= _PMIN:
        h = _refine(x, n, half, sh)
        if _k.score(x, n, h, sh, 1) * 8 >= best_score * 7:
            best = h
    return best


def _refine(x, n, centre, sh):
    best = centre
    best_score = -1
    for lag in range(centre - 1, centre + 2):  # range, not a tuple: no heap object
        if _PMIN <= lag <= _PMAX:
            sc = _k.score(x, n, lag, sh, 1)
            if sc > best_score:
                best_score = sc
                best = lag
    return best  # one int: a returned tuple would be a heap object


_k = kernel("ht.voice.plc")
