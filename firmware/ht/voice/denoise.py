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
    # alpha: over-subtraction; floor_db: the most it takes off a band. The noise is the mean of a slow
    # floor (rise: its climb as a shift per 8 ms hop, 7: ~8 dB/s) and a windowed minimum (sub_hops: 8 ms
    # hops per sub-window, 4 of them and the current one: 10 -> the minimum over 320-400 ms).
    # A hop where fewer than vbins bins stand clear of the noise (alpha * noise / magnitude < vq) is a
    # pause: after hang_ms the whole spectrum falls (-1.2 dB a hop) to pause_db below the bins' gains.
    def __init__(self, alpha=2.0, floor_db=-15, rise=7, sub_hops=10, vq=0.25, vbins=4, pause_db=-6,
                 hang_ms=160, limit=29204, on=True):
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
        st[D.P_SUB] = max(1, sub_hops)
        st[D.P_VQ] = int(256 * vq + 0.5)
        st[D.P_VBINS] = vbins
        st[D.P_PAUSE] = int(4096 * 10 ** (pause_db / 20) + 0.5) if on else 4096
        st[D.P_HANGN] = hang_ms // 8
        self.reset()

    def reset(self):
        # Forget the noise (boot; a new place): the floors fall to the first hop heard.
        st = self.st
        for k in range(D.BINS):
            st[D.MAG + k] = 0
            st[D.NOISE + k] = 1 << 20
            st[D.CUR + k] = 1 << 20
            st[D.MINU + k] = 1 << 20
            st[D.GAIN + k] = 4096
        for i in range(D.U * D.BINS):
            st[D.MINS + i] = 1 << 20
        st[D.S_HOPS] = 0
        st[D.S_FG] = 4096
        st[D.S_HANG] = 0
        self.begin()

    def begin(self):
        # Key-up: empty window and overlap (the first 16 ms out are silence, under the level's fade-in).
        # The noise floors carry over: the same street. The pause gain opens (a word may start at once).
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
        st[D.S_FG] = 4096
        st[D.S_HANG] = st[D.P_HANGN]

    def process(self, pcm, n):
        _k.process(pcm, n, self.st)
