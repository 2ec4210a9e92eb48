# The modem's TDMA buzz canceller for the microphone (kernel ht.voice.buzz: buzz_pure.py says how it works,
# the viper twin is picked by ht.compat.kernel). It runs first in the front end, on the microphone's own
# samples (before the AGC moves their level), and keeps the buzz's waveform across bursts: per burst only
# its phase and level are fitted. One array('i') holds tables, the shape and the state, made once: a talk
# burst allocates nothing.
import math
from array import array
from ht.compat import kernel
from ht.voice import buzz_pure as B

_k = kernel("ht.voice.buzz")

TDMA_MS = 120 / 26       # the GSM TDMA frame (4.615 ms): 480/13 samples at 8 kHz
SLOT_MS = 0.577          # one timeslot: the modem transmits in one of the eight


class Buzz:
    # r_on / r_on2 / r_off: share of the frame's weighted harmonic energy the fitted buzz must explain to
    # lock on one frame / on two at the same phase, and under which a locked burst ends; lfall: a frame's
    # level under this share of the burst's ends it; track: slots (1/13 sample) the phase may move a frame;
    # learn: the shape moves 1/2**learn towards a frame the buzz dominates (r > r_learn); 0: fixed shape.
    # edge: a 32-sample block holds the buzz when the input's slope follows the synthesised buzz's by this
    # much: a burst that starts or ends inside a frame is cancelled only where it is (0: the whole frame).
    # follow: the burst's level moves follow/16 of the way to each locked frame's. margin: a frame learns
    # only with r at most this much under the burst's usual (louder speech over the buzz teaches it nothing).
    def __init__(self, r_on=0.7, r_on2=0.5, r_off=0.1, lfall=0.35, track=4, learn=3, r_learn=0.5, edge=0.5,
                 follow=5, margin=0.1, on=True):
        st = array("i", bytes(4 * B.NSTATE))
        self.st = st
        for m in range(B.PER):
            st[B.COS + m] = int(round(4096 * math.cos(2 * math.pi * m / B.PER))) + B.BIAS
            st[B.SIN + m] = int(round(4096 * math.sin(2 * math.pi * m / B.PER))) + B.BIAS
        st[B.P_ON] = 1 if on else 0
        st[B.P_RON] = int(256 * r_on + 0.5)
        st[B.P_RON2] = int(256 * r_on2 + 0.5)
        st[B.P_ROFF] = int(256 * r_off + 0.5)
        st[B.P_LFALL] = int(256 * lfall + 0.5)
        st[B.P_TRACK] = track
        st[B.P_LEARN] = learn
        st[B.P_RLEARN] = int(256 * r_learn + 0.5)
        st[B.P_EDGE] = int(256 * edge + 0.5)
        st[B.P_LEVA] = follow
        st[B.P_RMARGIN] = int(256 * margin + 0.5)
        self.reset()

    def reset(self):
        # Boot: the shape starts as the slot's rectangle (its first H harmonics, unit RMS); the board's own
        # waveform is learnt from the bursts and kept from then on (begin() does not forget it).
        st = self.st
        d = SLOT_MS / TDMA_MS
        c = []
        for h in range(1, B.H + 1):
            a = 2 / (math.pi * h) * math.sin(math.pi * h * d)
            c.append((a * math.cos(math.pi * h * d), -a * math.sin(math.pi * h * d)))
        norm = math.sqrt(sum(re * re + im * im for re, im in c) / 2)
        for h in range(B.H):
            st[B.SR + h] = int(round(4096 * c[h][0] / norm)) + B.BIAS
            st[B.SI + h] = int(round(4096 * c[h][1] / norm)) + B.BIAS
        st[B.S_J] = 0
        self.begin()

    def begin(self):
        # Key-up: no burst locked (the I2S stream restarts; a burst's phase is found again in its frame).
        st = self.st
        st[B.S_LOCK] = 0
        st[B.S_L] = 0
        st[B.S_K] = 0
        st[B.S_PR] = 0
        st[B.S_PK] = B.NONE
        st[B.S_R] = 0
        st[B.S_LK] = 0
        st[B.S_RBAR] = 0

    def process(self, pcm, n):
        _k.process(pcm, n, self.st)

    def locked(self):
        return self.st[B.S_LOCK] == 1

    def level_dbfs(self):
        # The locked burst's level (dBFS RMS), None without one (telemetry, self tests)
        if self.st[B.S_LOCK] != 1 or self.st[B.S_L] <= 0:
            return None
        return 20 * math.log10(self.st[B.S_L] / 16 / 32768)
