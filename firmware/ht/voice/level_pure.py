# Pure-Python twin of ht/voice/level_viper.py: the level kernel of the microphone front end and of the
# receive-side leveller (ht/voice/frontend.py builds both on it). One call runs a whole frame in place,
# 32-sample blocks (4 ms at 8 kHz; every frame length is a multiple), each block:
#   1. high-pass: two Chamberlin state-variable sections, f = 1/8 (159 Hz), 1/Q = 1.4375 (Q 0.7), in shifts
#      only: 12 dB/oct each, 50 Hz hum down ~40 dB, 300 Hz down 0.6 dB, DC gone (a double zero at DC)
#   2. block level (sum of |x|, 32 samples) and peak
#   3. voice activity: level above the noise floor times a ratio; the floor falls fast and rises slowly
#      (~4 dB/s), a minimum tracker that a passing truck cannot hold up for long
#   4. AGC: a speech envelope (attack ~16 ms, release ~256 ms), updated only while voice is active so
#      pauses do not pump the noise up; gain = target / envelope within [gmin, gmax]; or a fixed gain.
#      (attack and release are parameters; the mic uses ~256 ms / ~4 s). A block the limiter would cut by
#      more than 6 dB at the present gain moves the envelope with a 16 ms attack: a talker 20 dB louder than
#      the calibration expects is at the right gain within a word, not squashed by the limiter for a second.
#      The owner may start the envelope at an expected level and set S_LEARN: that many voiced blocks
#      quieter than the envelope pull it down at the attack's pace, not the release's (a new talker
#      quieter than expected is brought up within a second; a louder one has the attack and the limiter)
#   5. noise gate: open on voice, held for a hangover, then closing -1.2 dB per block to a floor
#   6. limiter: the block's gain never exceeds limit / peak; the gain is interpolated linearly from the
#      previous block's (itself capped by this block's peak) so the output never passes `limit`
#   7. fade-in: the first frame after begin() ramps up from zero (no pop at key-up)
# Integers only, every intermediate below 2**31, so the viper twin on 32-bit machine ints gives the same
# samples. Signed state is stored + 2**29 so ptr32 loads need no sign handling on 32- or 64-bit ports.
from ht.compat import const

BLOCK = const(32)
BIAS = const(0x20000000)
# state slots (array('i')); P_* are parameters the owner sets, S_* the kernel's own state
S_LP1 = const(0)      # SVF states << 8, biased
S_BP1 = const(1)
S_LP2 = const(2)
S_BP2 = const(3)
S_G = const(4)        # total gain at the end of the last block, Q12
S_ENV = const(5)      # speech envelope (block sum of |x|); 0 = not known yet
S_NF = const(6)       # noise floor (block sum << 4)
S_HANG = const(7)     # gate hangover blocks left
S_GG = const(8)       # gate gain, Q12
S_FADE = const(9)     # samples of fade-in done
S_SEED = const(10)    # 1: seed the high-pass from the next sample (its DC), set by begin()
S_OPEN = const(11)    # statistics: voice active in the last block (1/0)
S_AGC = const(12)     # statistics: the AGC gain of the last block, Q12
P_HPF = const(13)     # 1: high-pass on
P_AGC = const(14)     # 1: AGC, 0: fixed gain
P_FIXED = const(15)   # fixed gain (and the AGC's gain before it has heard speech), Q12
P_TARGET = const(16)  # AGC target envelope (block sum)
P_GMIN = const(17)    # AGC gain range, Q12 (gmax <= 2**19 keeps gain * gate gain < 2**31)
P_GMAX = const(18)
P_GATE = const(19)    # 1: gate on (voice activity is detected either way: the AGC needs it)
P_RATIO = const(20)   # voice when level > floor * ratio / 16
P_ABS = const(21)     # ... and level > this (block sum): digital silence is never voice
P_HANG = const(22)    # hangover, blocks
P_FLOOR = const(23)   # gate floor gain, Q12
P_LIMIT = const(24)   # output peak never above this
P_FADEN = const(25)   # fade-in length, samples
P_ATT = const(26)     # AGC envelope attack and release, as shifts per block
P_REL = const(27)
S_LEARN = const(28)   # voiced blocks left in which a quieter block pulls the envelope down fast
NSTATE = const(29)


def process(pcm, n, st):
    lp1 = st[S_LP1] - BIAS
    bp1 = st[S_BP1] - BIAS
    lp2 = st[S_LP2] - BIAS
    bp2 = st[S_BP2] - BIAS
    hpf = st[P_HPF]
    if st[S_SEED] and n > 0:
        lp1 = pcm[0] << 8     # start from the input's DC: no step into the filter at key-up
        bp1 = 0
        lp2 = 0
        bp2 = 0
        st[S_SEED] = 0
    g0 = st[S_G]
    env = st[S_ENV]
    nf = st[S_NF]
    hang = st[S_HANG]
    gg = st[S_GG]
    fade = st[S_FADE]
    faden = st[P_FADEN]
    agc = st[P_AGC]
    fixed = st[P_FIXED]
    gate = st[P_GATE]
    limit = st[P_LIMIT]
    ag = fixed
    open_ = 0
    b = 0
    while b < n:
        # 1-2: filter the block in place, measure it
        s = 0
        peak = 0
        i = b
        e = b + BLOCK
        while i < e:
            y = pcm[i]
            if hpf:
                x = y << 8
                lp1 += bp1 >> 3
                h = x - lp1 - (bp1 + (bp1 >> 1) - (bp1 >> 4))
                bp1 += h >> 3
                lp2 += bp2 >> 3
                h = h - lp2 - (bp2 + (bp2 >> 1) - (bp2 >> 4))
                bp2 += h >> 3
                y = h >> 8
                if y > 32767:
                    y = 32767
                elif y < -32767:
                    y = -32767
                pcm[i] = y
            if y < 0:
                y = -y
            s += y
            if y > peak:
                peak = y
            i += 1
        # 3: voice activity against the noise floor
        lv = s << 4
        if lv < nf:
            nf -= (nf - lv) >> 2
        else:
            nf += (nf >> 9) + 1
        voice = 0
        if s > st[P_ABS] and lv > (nf >> 4) * st[P_RATIO]:
            voice = 1
        # 4: AGC
        if agc:
            if voice:
                if env == 0:
                    env = s
                elif st[S_LEARN] > 0 and s < env:
                    env -= (env - s) >> st[P_ATT]
                    st[S_LEARN] = st[S_LEARN] - 1
                elif s > env:
                    # a talker far louder than the gain expects (the limiter would cut this block by more
                    # than 6 dB): the envelope catches up in a few blocks, not a second of squashed words
                    a = st[P_ATT]
                    if peak > 0:
                        gc = (st[P_TARGET] << 12) // env
                        if gc > st[P_GMAX]:
                            gc = st[P_GMAX]
                        if gc > (limit << 13) // peak:
                            a = 2
                    env += (s - env) >> a
                else:
                    env -= (env - s) >> st[P_REL]
            if env > 0:
                ag = (st[P_TARGET] << 12) // env
                if ag < st[P_GMIN]:
                    ag = st[P_GMIN]
                elif ag > st[P_GMAX]:
                    ag = st[P_GMAX]
        # 5: gate with hangover
        if voice:
            hang = st[P_HANG]
            open_ = 1
        elif hang > 0:
            hang -= 1
            open_ = 1
        else:
            open_ = 0
        if not gate or open_:
            gg = 4096
        else:
            gg -= gg >> 3
            if gg < st[P_FLOOR]:
                gg = st[P_FLOOR]
        # 6: limiter, then the gain ramp across the block
        g1 = (ag * gg) >> 12
        if peak > 0:
            gl = (limit << 12) // peak
            if g1 > gl:
                g1 = gl
            if g0 > gl:
                g0 = gl
        d = g1 - g0
        i = 0
        while i < BLOCK:
            g = g0 + ((d * i) >> 5)
            y = (pcm[b + i] * g) >> 12
            # 7: fade-in
            if fade < faden:
                y = (y * ((fade << 12) // faden)) >> 12
                fade += 1
            pcm[b + i] = y
            i += 1
        g0 = g1
        b = e
    st[S_LP1] = lp1 + BIAS
    st[S_BP1] = bp1 + BIAS
    st[S_LP2] = lp2 + BIAS
    st[S_BP2] = bp2 + BIAS
    st[S_G] = g0
    st[S_ENV] = env
    st[S_NF] = nf
    st[S_HANG] = hang
    st[S_GG] = gg
    st[S_FADE] = fade
    st[S_OPEN] = open_
    st[S_AGC] = ag
