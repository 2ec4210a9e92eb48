# Viper kernels for ht/voice/pcmcopy_pure.py (same names, identical results). Importing this
# fails on CPython and on ports without a native emitter; callers then keep the twin.
import micropython


@micropython.viper
def copy8(dst, src, soff: int, n: int):
    d = ptr8(dst)
    s = ptr8(src)
    i = 0
    while i < n:
        d[i] = s[soff + i]
        i += 1


@micropython.viper
def copy16(dst, doff: int, src, soff: int, n: int):
    d = ptr16(dst)
    s = ptr16(src)
    i = 0
    while i < n:
        d[doff + i] = s[soff + i]
        i += 1


@micropython.viper
def ring_io(ring, w: int, pcm, n: int, delay: int):
    r = ptr16(ring)
    p = ptr16(pcm)
    i = 0
    while i < n:
        r[(w + i) & 511] = p[i]
        i += 1
    b = w - delay
    i = 0
    while i < n:
        p[i] = r[(b + i) & 511]
        i += 1


@micropython.viper
def zero16(dst, n: int):
    d = ptr16(dst)
    i = 0
    while i < n:
        d[i] = 0
        i += 1
