# The voice as people hear it: the microphone front end of the transmit path and the leveller of the
# receive path, both on the level kernel (ht/voice/level_pure.py says what each stage does; the viper twin
# is picked by ht.compat.kernel). Each object owns one small array('i') of state and parameters, made
# once; process() works in place on the frame, so a talk burst allocates nothing.
# Levels here are dBFS of RMS against a 16-bit full scale; the kernel measures blocks as sums of |x| over
# 32 samples, and for speech mean|x| ~ 0.8 RMS (Laplacian-like): hence _SUM below.
from array import array
from ht.compat import const, kernel
from ht.voice import level_pure as L
from ht.voice.denoise import Denoise
from ht.voice.buzz import Buzz

_k = kernel("ht.voice.level")

_SUM = const(26)           # block sum of |x| for a 1-LSB RMS signal: 32 x 0.8
_LIMIT = const(29204)      # -1 dBFS: the limiter's ceiling, clear of the rails and of codec overshoot
GMAX_DB = 42               # the kernel's gain ceiling (2**19 in Q12, so gain x gate gain < 2**31)


def q12(db):
    # dB -> Q12 linear gain (setup time only: the kernel never sees a float)
    g = int(4096 * 10 ** (db / 20) + 0.5)
    return 1 if g < 1 else (1 << 19) if g > (1 << 19) else g


def _sum_of(dbfs):
    return int(_SUM * 32768 * 10 ** (dbfs / 20) + 0.5)


class Level:
    # process(pcm, n): n a multiple of 32 (every frame length is). begin(): a new burst.
    def __init__(self, hpf, agc, gain_db, target_dbfs, gmin_db, gmax_db, gate, gate_ratio_db, abs_dbfs,
                 hang_ms, floor_db, fade_ms, noise0_dbfs, attack=6, release=10, env0_dbfs=None, learn_ms=0):
        # env0_dbfs: the speech level the AGC assumes until it has heard some (None: the first voiced
        # block's, which is often a soft onset: the gain then starts far too high and the limiter squashes
        # the first word). learn_ms: after reset(), that much voice quieter than the envelope pulls it
        # down at the attack's pace instead of the release's (a talker quieter than assumed is found quickly)
        st = array("i", bytes(4 * L.NSTATE))
        self.st = st
        st[L.P_HPF] = 1 if hpf else 0
        st[L.P_AGC] = 1 if agc else 0
        st[L.P_FIXED] = q12(gain_db)
        st[L.P_TARGET] = _sum_of(target_dbfs)
        st[L.P_GMIN] = q12(gmin_db)
        st[L.P_GMAX] = q12(min(gmax_db, GMAX_DB))
        st[L.P_GATE] = 1 if gate else 0
        st[L.P_RATIO] = int(16 * 10 ** (gate_ratio_db / 20) + 0.5)
        st[L.P_ABS] = _sum_of(abs_dbfs)
        st[L.P_HANG] = hang_ms // 4
        st[L.P_FLOOR] = q12(floor_db)
        st[L.P_LIMIT] = _LIMIT
        st[L.P_FADEN] = fade_ms * 8
        st[L.P_ATT] = attack
        st[L.P_REL] = release
        self.noise0 = _sum_of(noise0_dbfs) << 4
        self.env0 = 0 if env0_dbfs is None else _sum_of(env0_dbfs)
        self.learn = learn_ms // 4
        self.reset()

    def reset(self):
        # Forget everything learnt (a new talker on the speaker; the radio at boot).
        st = self.st
        st[L.S_ENV] = self.env0
        st[L.S_LEARN] = self.learn
        st[L.S_NF] = self.noise0
        st[L.S_HANG] = 0
        st[L.S_AGC] = st[L.P_FIXED]
        self.begin()

    def begin(self):
        # Key-up: restart the filters from the input's DC, fade in, gate open (a word may start at once).
        # The speech envelope and the noise floor carry over: the same talker in the same street.
        st = self.st
        for i in (L.S_LP1, L.S_BP1, L.S_LP2, L.S_BP2):
            st[i] = L.BIAS
        st[L.S_SEED] = 1
        st[L.S_FADE] = 0
        st[L.S_G] = 0 if st[L.P_FADEN] else st[L.P_FIXED]
        st[L.S_GG] = 4096

    def process(self, pcm, n):
        _k.process(pcm, n, self.st)

    def set_target(self, target_dbfs):
        self.st[L.P_TARGET] = _sum_of(target_dbfs)

    def voice(self):
        return self.st[L.S_OPEN] == 1

    def gain_db_x10(self):
        # The AGC's gain of the last block, in tenths of a dB (telemetry, self tests)
        import math
        return int(200 * math.log10(self.st[L.S_AGC] / 4096))


def calibrated_gain_db(sens_dbfs, speech_spl, target_dbfs):
    # The fixed gain that puts speech of `speech_spl` dB SPL at the microphone at target_dbfs, for a
    # microphone giving sens_dbfs at 94 dB SPL (INMP441: -26 dBFS; speech at arm's length ~72 dB SPL
    # arrives near -48 dBFS).
    return target_dbfs - (sens_dbfs + speech_spl - 94)


class MicFrontEnd:
    # The modem's buzz canceller (None: off) on the microphone's own samples, then the level kernel, then
    # the noise suppressor (None: off). The same calls as a Level.
    def __init__(self, level, denoise, buzz=None):
        self.buzz = buzz
        self.level = level
        self.denoise = denoise

    def reset(self):
        if self.buzz is not None:
            self.buzz.reset()
        self.level.reset()
        if self.denoise is not None:
            self.denoise.reset()

    def begin(self):
        if self.buzz is not None:
            self.buzz.begin()
        self.level.begin()
        if self.denoise is not None:
            self.denoise.begin()

    def process(self, pcm, n):
        if self.buzz is not None:
            self.buzz.process(pcm, n)
        self.level.process(pcm, n)
        if self.denoise is not None:
            self.denoise.process(pcm, n)

    def voice(self):
        return self.level.voice()

    def gain_db_x10(self):
        return self.level.gain_db_x10()


def mic_frontend(sens_dbfs=-26, trim_db=0, agc=True, target_dbfs=-20, max_gain_db=40, gate=True,
                 gate_ratio_db=9, hang_ms=400, floor_db=-12, speech_spl=72, denoise=True, buzz=True):
    # The transmit path's front end. The AGC starts at the calibrated gain and may move between -20 dB
    # (a shout into the grille, a line-level source) and max_gain_db (a quiet talker further away). A slow AGC (envelope
    # attack ~256 ms, release ~4 s: a level control, not a compressor) and a light gate (-12 dB, 400 ms
    # hangover) scored best on the street material (docs/CODEC.md "Microphone front end"): a fast AGC
    # or a deep gate pumps the street noise, and PESQ (like a listener) hears that more than the noise.
    # With the noise suppressor on, it takes the gate's place: its floor quiets the pauses as well, and a
    # gate in front of it would hide the noise it has to learn (PESQ 3.27 without the gate, 3.15 with it).
    fixed = calibrated_gain_db(sens_dbfs, speech_spl, target_dbfs) + trim_db
    expect = sens_dbfs + speech_spl - 94
    # The AGC starts from the calibrated level (expect), not from the first voiced block: in a quiet room
    # a soft onset set the gain near max_gain_db and a talker close to the mic was squashed by the limiter until the
    # envelope caught up (alsa voice at -30 dBFS through the whole path: PESQ 2.65, under the raw mic's 2.78;
    # from the calibrated level 3.21). A louder talker moves it within a word (the overload attack).
    lev = Level(True, agc, fixed, target_dbfs, -20, max_gain_db, gate and not denoise, gate_ratio_db,
                expect - 40, hang_ms, floor_db, 20, expect - 10, env0_dbfs=expect)
    # The buzz canceller runs first, on the samples as the microphone gives them: the buzz's level is
    # the modem's there, before the AGC moves it (docs/CODEC.md "Buzz canceller").
    return MicFrontEnd(lev, Denoise() if denoise else None, Buzz() if buzz else None)


def rx_leveller(target_dbfs=-20, max_gain_db=18, sender_dbfs=-20):
    # The receive path's leveller: a quiet and a loud sender heard alike. No high-pass (the sender's front
    # end did that), no gate (the sender's gate did that, and the jitter buffer's silence is silence).
    # Each new talker starts from the level a sender's front end aims at (sender_dbfs: mic_frontend's
    # target), so the first word plays at the volume's level and the AGC only trims it; starting from the
    # first voiced block (a soft onset) put the gain up to +18 dB and the limiter squashed that word
    # (docs/CODEC.md: clean speech 3.40 -> 3.64 PESQ through the whole path). For the first 500 ms of
    # voice a quieter talker pulls the envelope down at the attack's pace (a sender without AGC, 15 dB
    # quiet, is heard at the volume's level within a second, not after several).
    return Level(False, True, 0, target_dbfs, -18, max_gain_db, False, 9, -70, 240, 0, 0, -60, 5, 8,
                 env0_dbfs=sender_dbfs, learn_ms=500)
