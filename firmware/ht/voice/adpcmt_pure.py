# IMA ADPCM encoder with a small trellis search (pure twin of ht/voice/adpcmt_viper.py).
# The decoder is untouched (the IMA reference; audioop decodes our frames exactly):
# only the choice of 4-bit codes changes. The reference encoder picks each code
# greedily by successive approximation; a code that is slightly worse now can leave a
# step size that serves the next samples better. We keep K = 4 candidate paths and
# extend each with two codes (the reference's magnitude and one below it, or the
# other sign at magnitude 0), keep the 4 cheapest by summed squared error, and trace
# the best back at the end of the frame. Measured on the alsa speech, codec only:
# PESQ 3.46 -> 3.57, SNR +1.1 dB (bench_codec). The end state is the chosen path's,
# so the next frame's header still describes the decoder exactly.
# Costs stay below 2**29 (the error is clipped at 16383 per sample, the running
# cost at 2**28): MicroPython small ints, no heap objects per sample.
from array import array
from ht.voice.adpcm_pure import STEPS, VP, NXT, decode  # noqa: F401  (the decoder is the reference's)

K = 4          # paths kept
NMAX = 480     # samples per call (60 ms)
_CAP = 1 << 28

# Workspace, allocated once: survivors (pred, row, cost), children, back pointers.
# Predictors in 'h' and costs (never negative) in 'i': the viper twin reads them
# through ptr16/ptr32, whose loads are unsigned.
SP = array("h", [0] * K)
SR = array("H", [0] * K)
SC = array("i", [0] * K)
CP = array("h", [0] * (2 * K))
CR = array("H", [0] * (2 * K))
CC = array("i", [0] * (2 * K))
CB = bytearray(2 * K)      # parent << 4 | code
BP = bytearray(NMAX * K)


def encode(pcm, n, out, st):
    if n > NMAX:
        raise ValueError("trellis frame too long")
    steps = STEPS
    vp = VP
    nxt = NXT
    sp = SP
    sr = SR
    sc = SC
    cp = CP
    cr = CR
    cc = CC
    cb = CB
    bp = BP
    pred = st[0]
    index = st[1]
    if index < 0:
        index = 0
    elif index > 88:
        index = 88
    sp[0] = pred
    sr[0] = index << 3
    sc[0] = 0
    ns = 1
    for i in range(n):
        s = pcm[i]
        nc = 0
        for j in range(ns):
            p = sp[j]
            row = sr[j]
            diff = s - p
            sg = 0
            if diff < 0:
                sg = 8
                diff = -diff
            # m = min(7, 4 * diff // step) without a division (the reference's
            # truncated step/2, step/4 bias it low; exact quarters search better).
            step = steps[row >> 3]
            diff <<= 2
            m = 0
            if diff >= step << 2:
                m = 4
                diff -= step << 2
            if diff >= step << 1:
                m |= 2
                diff -= step << 1
            if diff >= step:
                m |= 1
            for t in range(2):
                if t == 0:
                    code = sg | m
                elif m:
                    code = sg | (m - 1)
                else:
                    code = 8 - sg
                k = row | (code & 7)
                if code & 8:
                    q = p - vp[k]
                    if q < -32768:
                        q = -32768
                else:
                    q = p + vp[k]
                    if q > 32767:
                        q = 32767
                e = (s - q) >> 1
                if e > 16383:
                    e = 16383
                elif e < -16383:
                    e = -16383
                cp[nc] = q
                cr[nc] = nxt[k] << 3
                cc[nc] = sc[j] + e * e
                cb[nc] = (j << 4) | code
                nc += 1
        # Keep the K cheapest distinct (pred, step) children, cheapest first.
        ns = 0
        base = i * K
        while ns < K:
            b = -1
            bc = 0x3FFFFFFF
            for c in range(nc):
                if cc[c] < bc:
                    bc = cc[c]
                    b = c
            if b < 0:
                break
            cc[b] = 0x3FFFFFFF
            q = cp[b]
            row = cr[b]
            dup = 0
            for j in range(ns):
                if sp[j] == q and sr[j] == row:
                    dup = 1
            if dup:
                continue
            if ns == 0:
                best = bc
            bc -= best
            sp[ns] = q
            sr[ns] = row
            sc[ns] = bc if bc < _CAP else _CAP
            bp[base + ns] = cb[b]
            ns += 1
    # Trace the cheapest path (slot 0) back, writing nibbles high-first per byte.
    st[0] = sp[0]
    st[1] = sr[0] >> 3
    j = 0
    lo = 0
    i = n - 1
    while i >= 0:
        v = bp[i * K + j]
        code = v & 15
        j = v >> 4
        if i & 1:
            lo = code
        else:
            out[i >> 1] = (code << 4) | lo
            lo = 0
        i -= 1
