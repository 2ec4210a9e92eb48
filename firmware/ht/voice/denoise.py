# The microphone's noise suppressor (kernel ht.voice.denoise: denoise_pure.py says how it works, the viper
# twin is picked by ht.compat.kernel). Street noise inside words is what the gate cannot touch; this takes
# it down band by band, 16 ms late. One array('i') holds tables, state and work buffers, made once: a talk
# burst allocates nothing.
import math
from array import array
from ht.compat import kernel
from ht.voice import denoise_pure as D

_k = kernel("ht.voice.denoise")


class Denoise:
    # alpha: over-subtraction; floor_db: the most it takes off a band; rise: the noise floor's climb,
    # as a shift per 8 ms hop (7: ~8 dB/s).
    def __init__(self, alpha=2.0, floor_db=-12, rise=7, limit=29204, on=True):
        st = array("i", bytes(4 * D.NSTATE))
        self.st = st
        for t in range(D.N):
            st[D.WIN + t] = int(32767 * math.sqrt(0.5 - 0.5 * math.cos(2 * math.pi * t / D.N)) + 0.5)
            r, v = 0, t
            for _ in range(7):
                r, v = (r << 1) | (v & 1), v >> 1
            st[D.REV + t] = r
        for k in range(D.HOP):
            st[D.COS + k] = int(round(4096 * math.cos(2 * math.pi * k / D.N))) + D.BIAS
            st[D.SIN + k] = int(round(4096 * math.sin(2 * math.pi * k / D.N)))
        st[D.P_ON] = 1 if on else 0
        st[D.P_ALPHA] = int(16 * alpha + 0.5)
        st[D.P_FLOOR] = int(4096 * 10 ** (floor_db / 20) + 0.5)
        st[D.P_RISE] = rise
        st[D.P_LIMIT] = limit
        self.reset()

    def reset(self):
        # Forget the noise (boot; a new place): the floor falls to the first hop heard.
        st = self.st
        for k in range(D.BINS):
            st[D.MAG + k] = 0
            st[D.NOISE + k] = 1 << 20
            st[D.GAIN + k] = 4096
        self.begin()

    def begin(self):
        # Key-up: empty window and overlap (the first 16 ms out are silence, under the level's fade-in).
        # The noise floor carries over: the same street.
        st = self.st
        for t in range(D.N):
            st[D.INB + t] = D.BIAS
            st[D.RE + t] = D.BIAS
            st[D.IM + t] = D.BIAS
        for t in range(D.HOP):
            st[D.OUTQ + t] = D.BIAS
            st[D.OLA + t] = D.BIAS
        st[D.S_POS] = 0
        st[D.S_MUTE] = 1

    def process(self, pcm, n):
        _k.process(pcm, n, self.st)
