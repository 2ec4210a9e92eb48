# Viper twin of the trellis ADPCM encoder in ht/voice/adpcmt_pure.py: same search, same ties,
# same workspace (imported from there), bit-identical output (tests/core/voice/test_codec.py
# and tests/firmware/test_codec_mpy.py prove it on MicroPython). ptr16 loads are unsigned, so
# samples and predictors are sign-extended by hand; costs are never negative and stay
# below 2**30, so ptr32 loads need no sign handling on 32- or 64-bit ports.
import micropython
from ht.voice.adpcm_pure import STEPS, VP, NXT
from ht.voice.adpcmt_pure import K, NMAX, SP, SR, SC, CP, CR, CC, CB, BP
from ht.voice.adpcm_viper import decode  # noqa: F401  (the decoder is the reference's)


@micropython.viper
def _enc(pcm: ptr16, n: int, out: ptr8, st: ptr16, steps: ptr16, vp: ptr16, nxt: ptr8,
         sp: ptr16, sr: ptr16, sc: ptr32, cp: ptr16, cr: ptr16, cc: ptr32, cb: ptr8,
         bp: ptr8, kk: int):
    pred = int(st[0])
    if pred > 32767:
        pred -= 65536
    index = int(st[1])
    if index > 32767:
        index -= 65536
    if index < 0:
        index = 0
    elif index > 88:
        index = 88
    sp[0] = pred
    sr[0] = index << 3
    sc[0] = 0
    ns = 1
    best = 0
    i = 0
    while i < n:
        s = int(pcm[i])
        if s > 32767:
            s -= 65536
        nc = 0
        j = 0
        while j < ns:
            p = int(sp[j])
            if p > 32767:
                p -= 65536
            row = int(sr[j])
            diff = s - p
            sg = 0
            if diff < 0:
                sg = 8
                diff = 0 - diff
            step = int(steps[row >> 3])
            diff = diff << 2
            m = 0
            if diff >= (step << 2):
                m = 4
                diff -= step << 2
            if diff >= (step << 1):
                m |= 2
                diff -= step << 1
            if diff >= step:
                m |= 1
            t = 0
            while t < 2:
                if t == 0:
                    code = sg | m
                elif m:
                    code = sg | (m - 1)
                else:
                    code = 8 - sg
                k = row | (code & 7)
                if code & 8:
                    q = p - int(vp[k])
                    if q < -32768:
                        q = -32768
                else:
                    q = p + int(vp[k])
                    if q > 32767:
                        q = 32767
                e = (s - q) >> 1
                if e > 16383:
                    e = 16383
                elif e < -16383:
                    e = -16383
                cp[nc] = q
                cr[nc] = int(nxt[k]) << 3
                cc[nc] = int(sc[j]) + e * e
                cb[nc] = (j << 4) | code
                nc += 1
                t += 1
            j += 1
        ns = 0
        base = i * kk
        while ns < kk:
            b = -1
            bc = 0x3FFFFFFF
            c = 0
            while c < nc:
                if int(cc[c]) < bc:
                    bc = int(cc[c])
                    b = c
                c += 1
            if b < 0:
                break
            cc[b] = 0x3FFFFFFF
            q = int(cp[b])
            row = int(cr[b])
            dup = 0
            j = 0
            while j < ns:
                if int(sp[j]) == (q & 0xFFFF) and int(sr[j]) == row:
                    dup = 1
                j += 1
            if dup:
                continue
            if ns == 0:
                best = bc
            bc -= best
            sp[ns] = q
            sr[ns] = row
            if bc > 0x10000000:
                bc = 0x10000000
            sc[ns] = bc
            bp[base + ns] = int(cb[b])
            ns += 1
        i += 1
    q = int(sp[0])
    st[0] = q
    st[1] = int(sr[0]) >> 3
    j = 0
    lo = 0
    i = n - 1
    while i >= 0:
        v = int(bp[i * kk + j])
        code = v & 15
        j = v >> 4
        if i & 1:
            lo = code
        else:
            out[i >> 1] = (code << 4) | lo
            lo = 0
        i -= 1


def encode(pcm, n, out, st):
    if n > NMAX:
        raise ValueError("trellis frame too long")
    _enc(pcm, n, out, st, STEPS, VP, NXT, SP, SR, SC, CP, CR, CC, CB, BP, K)
