# Viper twin of ht/voice/level_pure.py (read that file for what each stage does; tests prove the two give
# the same samples on MicroPython). One function runs the whole frame so no Python code is called per
# sample; ~150 lines because it is one loop written out for the native emitter. ptr16 loads are unsigned:
# samples are sign-extended by hand; state words are stored + 2**29 and stay below 2**31, so ptr32 loads
# need no sign handling on 32- or 64-bit ports.
import micropython
from micropython import const

_BLOCK = const(32)
_BIAS = const(0x20000000)


@micropython.viper
def process(pcm_buf, n: int, st_buf):
    pcm = ptr16(pcm_buf)
    st = ptr32(st_buf)
    lp1 = st[0] - _BIAS
    bp1 = st[1] - _BIAS
    lp2 = st[2] - _BIAS
    bp2 = st[3] - _BIAS
    hpf = st[13]
    if st[10] and n > 0:
        x0 = int(pcm[0])
        if x0 > 32767:
            x0 -= 65536
        lp1 = x0 << 8     # start from the input's DC: no step into the filter at key-up
        bp1 = 0
        lp2 = 0
        bp2 = 0
        st[10] = 0
    g0 = st[4]
    env = st[5]
    nf = st[6]
    hang = st[7]
    gg = st[8]
    fade = st[9]
    faden = st[25]
    agc = st[14]
    fixed = st[15]
    gate = st[19]
    limit = st[24]
    ag = fixed
    open_ = 0
    x0 = 0
    b = 0
    while b < n:
        # 1-2: filter the block in place, measure it
        s = 0
        peak = 0
        i = b
        e = b + _BLOCK
        while i < e:
            y = int(pcm[i])
            if y > 32767:
                y -= 65536
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
        if s > st[21] and lv > (nf >> 4) * st[20]:
            voice = 1
        # 4: AGC
        if agc:
            if voice:
                if env == 0:
                    env = s
                elif st[28] > 0 and s < env:
                    # a new talker quieter than assumed: down at the attack's pace (level_pure.py)
                    env -= (env - s) >> st[26]
                    st[28] = st[28] - 1
                elif s > env:
                    # a talker far louder than the gain expects: catch up fast (level_pure.py)
                    a = st[26]
                    if peak > 0:
                        gc = (st[16] << 12) // env
                        if gc > st[18]:
                            gc = st[18]
                        if gc > (limit << 13) // peak:
                            a = 2
                    env += (s - env) >> a
                else:
                    env -= (env - s) >> st[27]
            if env > 0:
                ag = (st[16] << 12) // env
                if ag < st[17]:
                    ag = st[17]
                elif ag > st[18]:
                    ag = st[18]
        # 5: gate with hangover
        if voice:
            hang = st[22]
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
            if gg < st[23]:
                gg = st[23]
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
        while i < _BLOCK:
            g = g0 + ((d * i) >> 5)
            y = int(pcm[b + i])
            if y > 32767:
                y -= 65536
            y = (y * g) >> 12
            # 7: fade-in
            if fade < faden:
                y = (y * ((fade << 12) // faden)) >> 12
                fade += 1
            pcm[b + i] = y
            i += 1
        g0 = g1
        b = e
    st[0] = lp1 + _BIAS
    st[1] = bp1 + _BIAS
    st[2] = lp2 + _BIAS
    st[3] = bp2 + _BIAS
    st[4] = g0
    st[5] = env
    st[6] = nf
    st[7] = hang
    st[8] = gg
    st[9] = fade
    st[11] = open_
    st[12] = ag
