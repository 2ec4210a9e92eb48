# Viper kernels for the pitch search in ht/voice/plc.py (same names, identical results: a
# test proves it). On the ESP32 the pure search costs tens of milliseconds, longer
# than a frame, at the very moment a packet goes missing. Importing this fails on
# CPython and on ports without a native emitter; ht.voice.plc then keeps its twins.
import micropython


@micropython.viper
def peak(x, a: int, b: int) -> int:
    p = ptr16(x)
    m = 1
    i = a
    while i < b:
        v = int(p[i])
        if v > 32767:
            v = 65536 - v
        elif v < 0:
            v = 0 - v
        if v > m:
            m = v
        i += 1
    return m


@micropython.viper
def score(x, n: int, lag: int, sh: int, step: int) -> int:
    # |sample| >> sh < 512 (the caller picks sh), so corr < 2**26 and c*c < 2**29:
    # 32-bit machine ints never overflow.
    p = ptr16(x)
    corr = 0
    energy = 1
    i = n - 160
    while i < n:
        a = int(p[i])
        if a > 32767:
            a -= 65536
        b = int(p[i - lag])
        if b > 32767:
            b -= 65536
        a = a >> sh
        b = b >> sh
        corr += a * b
        energy += b * b
        i += step
    if corr <= 0:
        return 0
    c = corr >> 11
    return (c * c) // ((energy >> 11) + 1)


# The synthesis loops (twins of ht.voice.plc._repeat/_ola/_fade/_into/_blend). ptr16 reads
# are unsigned: samples are sign-extended by hand. Divisions only ever see
# non-negative operands, and >> on a machine int is arithmetic, as in Python.
@micropython.viper
def repeat(pb, pos: int, span: int, out, o: int, n: int):
    s = ptr16(pb)
    d = ptr16(out)
    i = 0
    while i < n:
        d[o + i] = s[pos]
        pos += 1
        if pos >= 390:
            pos -= span
        i += 1


@micropython.viper
def ola(pb, pos: int, span: int, opos: int, ospan: int, k: int, q: int, out, o: int, n: int):
    s = ptr16(pb)
    d = ptr16(out)
    i = 0
    while i < n:
        w = ((k - i) << 14) // q
        a = int(s[opos])
        if a > 32767:
            a -= 65536
        b = int(s[pos])
        if b > 32767:
            b -= 65536
        d[o + i] = (a * w + b * (16384 - w)) >> 14
        pos += 1
        if pos >= 390:
            pos -= span
        opos += 1
        if opos >= 390:
            opos -= ospan
        i += 1


@micropython.viper
def fade(out, n: int, e0: int):
    d = ptr16(out)
    i = 0
    while i < n:
        e = e0 + i
        if e >= 80:
            g = 400 - (e - 80)
            if g > 0:
                v = int(d[i])
                if v > 32767:
                    v -= 65536
                d[i] = (v * ((g << 14) // 400)) >> 14
            else:
                d[i] = 0
        i += 1


@micropython.viper
def into(pcm, n: int, ahead, k: int, p: int, e0: int, g: int):
    d = ptr16(pcm)
    a = ptr16(ahead)
    i = 0
    while i < n:
        w = ((e0 + i) << 14) // g
        x = int(d[i])
        if x > 32767:
            x -= 65536
        y = int(a[k])
        if y > 32767:
            y -= 65536
        d[i] = (x * (16384 - w) + y * w) >> 14
        k += 1
        if k >= p:
            k = 0
        i += 1


@micropython.viper
def blend(pcm, tail, n: int):
    d = ptr16(pcm)
    t = ptr16(tail)
    i = 0
    while i < n:
        w = (i << 14) // n
        x = int(t[i])
        if x > 32767:
            x -= 65536
        y = int(d[i])
        if y > 32767:
            y -= 65536
        d[i] = (x * (16384 - w) + y * w) >> 14
        i += 1


@micropython.viper
def tcorr(pcm, n: int, tpl, k: int, p: int) -> int:
    d = ptr16(pcm)
    t = ptr16(tpl)
    c = 0
    i = 0
    while i < n:
        x = int(d[i])
        if x > 32767:
            x -= 65536
        y = int(t[k])
        if y > 32767:
            y -= 65536
        c += (x >> 4) * (y >> 4)
        k += 1
        if k >= p:
            k = 0
        i += 1
    return c
