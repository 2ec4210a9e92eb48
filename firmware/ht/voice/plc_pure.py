# Pure-Python twins of the concealment kernels in ht/voice/plc_viper.py (same names and
# results; tests/core/voice/test_plc.py proves it on MicroPython). ht.voice.plc uses these where
# the port has no native emitter, and on CPython.
from ht.compat import const

_HIST = const(390)       # pitch buffer length (ht.voice.plc)
_CORR = const(160)
_FADE_START = const(80)
_FADE_LEN = const(400)


def peak(x, a, b):
    m = 1
    for i in range(a, b):
        v = x[i]
        if v < 0:
            v = -v
        if v > m:
            m = v
    return m


def score(x, n, lag, sh, step):
    corr = 0
    energy = 1
    i = n - _CORR
    while i < n:
        a = x[i] >> sh
        b = x[i - lag] >> sh
        corr += a * b
        energy += b * b
        i += step
    if corr <= 0:
        return 0
    # |sample| < 512 -> corr < 2**25.3 -> c*c < 2**28.6, inside MicroPython's small ints.
    c = corr >> 11
    return (c * c) // ((energy >> 11) + 1)


# Sample loops of the synthesis. Weights are Q14 and scaling is by arithmetic shift,
# so the viper twins (32-bit machine ints) give the very same samples.
def repeat(pb, pos, span, out, o, n):
    for i in range(n):
        out[o + i] = pb[pos]
        pos += 1
        if pos >= _HIST:
            pos -= span


def ola(pb, pos, span, opos, ospan, k, q, out, o, n):
    # From the old read position (weight k/q, falling) to the new one.
    for i in range(n):
        w = ((k - i) << 14) // q
        out[o + i] = (pb[opos] * w + pb[pos] * (16384 - w)) >> 14
        pos += 1
        if pos >= _HIST:
            pos -= span
        opos += 1
        if opos >= _HIST:
            opos -= ospan


def fade(out, n, e0):
    # Unity for the first 10 ms of a loss, then linearly down to zero at 60 ms.
    for i in range(n):
        e = e0 + i
        if e >= _FADE_START:
            g = _FADE_LEN - (e - _FADE_START)
            if g > 0:
                out[i] = (out[i] * ((g << 14) // _FADE_LEN)) >> 14
            else:
                out[i] = 0


def into(pcm, n, ahead, k, p, e0, g):
    # Cross-fade across a gap of g samples (this frame starts e0 into it) towards the
    # next frame's first period repeated backwards (k: its phase at pcm[0]).
    for i in range(n):
        w = ((e0 + i) << 14) // g
        pcm[i] = (pcm[i] * (16384 - w) + ahead[k] * w) >> 14
        k += 1
        if k >= p:
            k = 0


def blend(pcm, tail, n):
    for i in range(n):
        w = (i << 14) // n
        pcm[i] = (tail[i] * (16384 - w) + pcm[i] * w) >> 14


def tcorr(pcm, n, tpl, k, p):
    # Correlation of pcm[0:n] with tpl[0:p] repeated from phase k; samples >> 4 so the
    # sum stays under 2**30 (small ints here, 32-bit machine ints in the viper twin).
    c = 0
    for i in range(n):
        c += (pcm[i] >> 4) * (tpl[k] >> 4)
        k += 1
        if k >= p:
            k = 0
    return c
