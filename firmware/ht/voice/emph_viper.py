# Viper kernels for ht/voice/emph_pure.py (same names, identical results; tests/core/voice/test_emph.py
# proves it on MicroPython). The pure twin explains the filter and the choice of its coefficient
# (its Q = 6 and G = 154 are written out here as literals; the twin tests would see a mismatch).
# Importing this fails on CPython and on ports without a native emitter; ht.compat.kernel then keeps
# the twin. ptr16 loads are unsigned: samples and state are sign-extended by hand.
import micropython


@micropython.viper
def choose(pcm, n: int, st) -> int:
    x16 = ptr16(pcm)
    s = ptr16(st)
    if n > 480:
        n = 480
    m = 0
    i = 0
    while i < n:
        x = int(x16[i])
        if x > 32767:
            x = 65536 - x
        if x > m:
            m = x
        i += 1
    sh = 0
    while (m >> sh) >= 1448:
        sh += 1
    r0 = 0
    r1 = 0
    r2 = 0
    b = int(s[2])
    if b > 32767:
        b -= 65536
    b = b >> sh
    c = 0
    i = 0
    while i < n:
        x = int(x16[i])
        if x > 32767:
            x -= 65536
        x = x >> sh
        r0 += x * x
        r1 += x * b
        r2 += x * c
        c = b
        b = x
        i += 1
    k = 0
    if r1 > 0 and r0 > 0:
        while r0 >= 32768:
            r0 = r0 >> 1
            r1 = r1 >> 1
            r2 = r2 >> 1
        c1 = (r1 << 14) // r0
        if c1 > 16384:
            c1 = 16384
        if r2 < 0:
            c2 = 0 - (((0 - r2) << 14) // r0)
        else:
            c2 = (r2 << 14) // r0
        if c2 > 16384:
            c2 = 16384
        elif c2 < -16384:
            c2 = -16384
        p = (154 * c1) >> 14
        pp = p * p
        a0 = ((128 * 16384) - 128 * c1) >> 6
        aq = ((64 + 14 * 14 + 6 * 6) * 16384 - 2 * 14 * 14 * c1 + 16 * 6 * c2) >> 6
        e0 = (65536 + pp) >> 8
        eq = (65536 + pp - 64 * 6 * p) >> 8
        if ((aq * eq) >> 8) * 64 < ((a0 * e0) >> 8) * (64 - 6 * 6):
            k = 6
    s[3] = k
    return k


@micropython.viper
def emphasis(pcm, n: int, out, st):
    x16 = ptr16(pcm)
    o = ptr16(out)
    s = ptr16(st)
    k = int(s[3])
    if k > 32767:
        k -= 65536
    prev = int(s[2])
    if prev > 32767:
        prev -= 65536
    i = 0
    while i < n:
        x = int(x16[i])
        if x > 32767:
            x -= 65536
        e = x - ((k * prev) >> 3)
        if e > 32767:
            e = 32767
        elif e < -32768:
            e = -32768
        o[i] = e
        prev = x
        i += 1
    s[2] = prev


@micropython.viper
def deemphasis(pcm, n: int, st):
    x16 = ptr16(pcm)
    s = ptr16(st)
    k = int(s[3])
    if k > 32767:
        k -= 65536
    prev = int(s[2])
    if prev > 32767:
        prev -= 65536
    i = 0
    while i < n:
        y = int(x16[i])
        if y > 32767:
            y -= 65536
        y += (k * prev) >> 3
        if y > 32767:
            y = 32767
        elif y < -32768:
            y = -32768
        x16[i] = y
        prev = y
        i += 1
    s[2] = prev
