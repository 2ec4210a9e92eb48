# Viper twin of ht/voice/buzz_pure.py (read that file for how the canceller works; tests prove the two
# give the same samples and state on MicroPython). The same loops written for the native emitter: ptr32
# loads of biased words need no sign handling on 32- or 64-bit ports; ptr16 samples are sign-extended by
# hand; no % (a non-negative x % m is x - (x // m) * m).
import micropython
from micropython import const

PER = const(480)        # slots per TDMA period (13 per sample)
STEP = const(13)
H = const(18)           # harmonics: 18 x 216.67 Hz = 3.9 kHz
BIAS = const(0x20000000)
LMAX = const(16384)     # the level's ceiling, Q4 (1024 LSB RMS, -30 dBFS)
SMAX = const(8192)      # a shape component's bound, Q12
ROOT = const(5931642)   # 4096 * sqrt(2**21): the shape's energy sum >> 4 is 2**21 at unit RMS
NONE = const(1000)      # S_PK: no previous phase
# scalar slots
P_ON = const(0)       # 1: cancel; 0: the samples pass untouched
S_J = const(1)        # the phase slot of the next sample
S_LOCK = const(2)     # 1: a burst is locked
S_K = const(3)        # its phase, slots
S_L = const(4)        # its level, Q4 LSB RMS
S_PR = const(5)       # the last frame's r (Q8) and phase, for a lock on two frames
S_PK = const(6)
P_RON = const(7)      # r to lock on one frame (Q8)
P_RON2 = const(8)     # ... on two at the same phase
P_ROFF = const(9)     # r under which a locked burst ends
P_LFALL = const(10)   # a frame's level under this share of the burst's ends it (Q8)
P_TRACK = const(11)   # slots the phase may move per frame while locked
P_LEARN = const(12)   # the shape moves 1/2**this towards a frame's (0: the shape is fixed)
P_RLEARN = const(13)  # ... in a frame with r above this (Q8)
S_R = const(14)       # the last frame's r (Q8) and level (Q4): telemetry and tests
S_LK = const(15)
S_C = const(16)       # the best correlation of the last search, biased
P_EDGE = const(17)    # a 32-sample block holds the buzz when its slope follows the synthesised one's by
#                       this much (Q8; 0: no edges looked for, the whole frame is cancelled)
ESTN = const(480)     # frames up to this long (60 ms) have their edges looked for
P_LEVA = const(18)    # the burst's level moves this many 16ths of the way to a frame's
S_RBAR = const(19)    # the burst's usual r (Q8): its frames' r, smoothed
P_RMARGIN = const(20)  # a frame learns only with r within this of the burst's usual (Q8)
# tables and work (offsets into the same array)
COS = const(21)                 # cos(2 pi m / 480), Q12, biased
SIN = const(COS + PER)          # sin, the same
SR = const(SIN + PER)           # the shape, Q12, biased: harmonic h at SR + h - 1
SI = const(SR + H)
XR = const(SI + H)              # the frame's harmonics, then scaled to 12 bits, biased
XI = const(XR + H)
GR = const(XI + H)              # weighted correlation terms, biased
GI = const(GR + H)
AR = const(GI + H)              # the buzz to subtract: harmonics, Q4, biased
AI = const(AR + H)
EST = const(AI + H)             # the frame's synthesised buzz, biased
NSTATE = const(EST + ESTN)



@micropython.viper
def _search(st_buf, k0: int, count: int, stride: int, best: int) -> int:
    # The best of `count` phases from k0, `stride` apart (the weighted correlation of the frame with the
    # shape at each), against `best` so far; -> its phase, the correlation in st[S_C] (or -1: none better)
    st = ptr32(st_buf)
    kk = -1
    k = k0
    if k < 0:
        k += PER
    j = 0
    while j < count:
        c = 0
        m = k
        h = 0
        while h < H:
            c += ((st[GR + h] - BIAS) * (st[COS + m] - BIAS)) >> 12
            c += ((st[GI + h] - BIAS) * (st[SIN + m] - BIAS)) >> 12
            m += k
            if m >= PER:
                m -= PER
            h += 1
        if c > best:
            best = c
            kk = k
        k += stride
        if k >= PER:
            k -= PER
        j += 1
    st[S_C] = best + BIAS
    return kk


@micropython.viper
def _learnt(s: int, x: int, sx: int, d3: int, learn: int) -> int:
    neg = 0
    if x < 0:
        neg = 1
        x = 0 - x
    e = 12 + sx
    z = 0
    if e <= 17:
        z = (x << e) // d3
    elif e - 17 > 30:
        z = 16384
    else:
        dv = d3 >> (e - 17)
        if dv > 0:
            z = (x << 17) // dv
        else:
            z = 16384
    if z > 16384:
        z = 16384
    if neg:
        z = 0 - z
    dz = z - s
    if dz > SMAX:
        dz = SMAX
    elif dz < 0 - SMAX:
        dz = 0 - SMAX
    s += dz >> learn
    if s > SMAX:
        s = SMAX
    elif s < 0 - SMAX:
        s = 0 - SMAX
    return s + BIAS


@micropython.viper
def _unit(st_buf):
    st = ptr32(st_buf)
    e = 0
    h = 0
    while h < H:
        sr = st[SR + h] - BIAS
        si = st[SI + h] - BIAS
        e += (sr * sr + si * si) >> 4
        h += 1
    if e == 0:
        return
    y = e
    z = (y + 1) >> 1
    while z < y:
        y = z
        z = (y + e // y) >> 1
    f = ROOT // y
    if f > 16384:
        f = 16384
    h = 0
    while h < H:
        sr = ((st[SR + h] - BIAS) * f + 2048) >> 12
        si = ((st[SI + h] - BIAS) * f + 2048) >> 12
        if sr > SMAX:
            sr = SMAX
        elif sr < 0 - SMAX:
            sr = 0 - SMAX
        if si > SMAX:
            si = SMAX
        elif si < 0 - SMAX:
            si = 0 - SMAX
        st[SR + h] = sr + BIAS
        st[SI + h] = si + BIAS
        h += 1


@micropython.viper
def process(pcm_buf, n: int, st_buf):
    pcm = ptr16(pcm_buf)
    st = ptr32(st_buf)
    j0 = st[S_J]
    t = j0 + STEP * n
    st[S_J] = t - (t // PER) * PER
    if st[P_ON] == 0:
        return
    per = (n * STEP) // PER
    if per == 0:
        return
    if per > 8:
        per = 8
    a = (per * PER + 6) // STEP
    start = n - a
    t = j0 + STEP * start
    js = t - (t // PER) * PER
    # 1: the harmonics of the window
    mx = 0
    h = 1
    while h <= H:
        t = STEP * h
        step = t - (t // PER) * PER
        t = h * js
        idx = t - (t // PER) * PER
        ar = 0
        ai = 0
        i = start
        while i < n:
            x = int(pcm[i])
            if x > 32767:
                x -= 65536
            ar += (x * (st[COS + idx] - BIAS)) >> 7
            ai -= (x * (st[SIN + idx] - BIAS)) >> 7
            idx += step
            if idx >= PER:
                idx -= PER
            i += 1
        st[XR + h - 1] = ar + BIAS
        st[XI + h - 1] = ai + BIAS
        if ar < 0:
            ar = 0 - ar
        if ai < 0:
            ai = 0 - ai
        if ar > mx:
            mx = ar
        if ai > mx:
            mx = ai
        h += 1
    # 2: scaled to 12 bits; the shape's and the frame's weighted energies; the correlation terms
    sx = 0
    while (mx >> sx) >= 4096:
        sx += 1
    den = 0
    en = 0
    h = 0
    while h < H:
        w = (h + 1) * (h + 1)
        xr = (st[XR + h] - BIAS) >> sx
        xi = (st[XI + h] - BIAS) >> sx
        st[XR + h] = xr + BIAS
        st[XI + h] = xi + BIAS
        sr = st[SR + h] - BIAS
        si = st[SI + h] - BIAS
        den += w * ((sr * sr + si * si) >> 12)
        en += w * ((xr * xr + xi * xi) >> 8)
        st[GR + h] = ((w * ((xr * sr + xi * si) >> 12)) >> 4) + BIAS
        st[GI + h] = ((w * ((xi * sr - xr * si) >> 12)) >> 4) + BIAS
        h += 1
    # 3: the phase
    locked = st[S_LOCK]
    was = locked
    if locked:
        tr = st[P_TRACK]
        kk = int(_search(st_buf, st[S_K] - tr, 2 * tr + 1, 1, 0 - (1 << 30)))
    else:
        kk = int(_search(st_buf, 0, PER // 8, 8, 0 - (1 << 30)))
        k = int(_search(st_buf, kk - 4, 9, 1, st[S_C] - BIAS))
        if k >= 0:
            kk = k
    best = st[S_C] - BIAS
    # 4: r (Q8) and the frame's level (Q4)
    r = 0
    lk = 0
    if best > 0 and den > 0 and mx >= 64:
        qn = best
        sq = 0
        while qn >= 32768:
            qn >>= 1
            sq += 1
        dn = den
        sd = 0
        while dn >= 32768:
            dn >>= 1
            sd += 1
        ee = en
        se = 0
        while ee >= 32768:
            ee >>= 1
            se += 1
        e = 20 + 2 * sq - sd - se
        if e > 30:
            r = 1024
        elif e >= 0:
            dv = (dn * ee) >> e
            if dv > 0:
                r = (qn * qn) // dv
            else:
                r = 1024
        elif e >= -30:
            r = ((qn * qn) >> (0 - e)) // (dn * ee)
        if r > 1024:
            r = 1024
        e = 16 + sx + sq - sd
        da = dn * a
        if e <= 15:
            lk = (qn << e) // da
        elif e - 15 > 30:
            lk = LMAX
        else:
            dv = da >> (e - 15)
            if dv > 0:
                lk = (qn << 15) // dv
            else:
                lk = LMAX
        if lk > LMAX:
            lk = LMAX
    st[S_R] = r
    st[S_LK] = lk
    # 5: lock, follow, or let go
    lev = st[S_L]
    if not locked:
        ok = 0
        if lk > 0:
            if r > st[P_RON]:
                ok = 1
            elif r > st[P_RON2] and st[S_PR] > st[P_RON2]:
                d = kk - st[S_PK]
                if d < 0:
                    d = 0 - d
                if d > PER // 2:
                    d = PER - d
                if d <= st[P_TRACK]:
                    ok = 1
        if ok:
            locked = 1
            lev = lk
            st[S_K] = kk
            st[S_RBAR] = r
    elif r < st[P_ROFF] or (lk << 8) < st[P_LFALL] * lev:
        locked = 0
    else:
        st[S_K] = kk
        lev += ((lk - lev) * st[P_LEVA]) >> 4
        st[S_RBAR] += (r - st[S_RBAR]) >> 2
    st[S_LOCK] = locked
    st[S_L] = lev
    st[S_PR] = r
    st[S_PK] = kk
    if not locked:
        return
    # 6: the buzz at the burst's phase and level; the shape learns from a frame the buzz dominates
    k = st[S_K]
    learn = 0
    if r > st[P_RLEARN] and lev >= 16 and r + st[P_RMARGIN] >= st[S_RBAR]:
        learn = st[P_LEARN]
    m = k
    h = 0
    while h < H:
        c = st[COS + m] - BIAS
        s = st[SIN + m] - BIAS
        sr = st[SR + h] - BIAS
        si = st[SI + h] - BIAS
        st[AR + h] = ((lev * ((sr * c - si * s) >> 12)) >> 12) + BIAS
        st[AI + h] = ((lev * ((sr * s + si * c) >> 12)) >> 12) + BIAS
        if learn:
            xr = st[XR + h] - BIAS
            xi = st[XI + h] - BIAS
            st[SR + h] = int(_learnt(sr, (xr * c + xi * s) >> 12, sx, a * lev, learn))
            st[SI + h] = int(_learnt(si, (xi * c - xr * s) >> 12, sx, a * lev, learn))
        m += k
        if m >= PER:
            m -= PER
        h += 1
    if learn:
        _unit(st_buf)
    j = j0
    i = 0
    em = 0
    keep = 1
    if n > ESTN or st[P_EDGE] == 0:
        keep = 0
    while i < n:
        acc = 0
        m = j
        h = 0
        while h < H:
            acc += (st[AR + h] - BIAS) * (st[COS + m] - BIAS) - (st[AI + h] - BIAS) * (st[SIN + m] - BIAS)
            m += j
            if m >= PER:
                m -= PER
            h += 1
        e = (acc + 32768) >> 16
        if keep:
            st[EST + i] = e + BIAS
            if e > em:
                em = e
            elif 0 - e > em:
                em = 0 - e
        else:
            x = int(pcm[i])
            if x > 32767:
                x -= 65536
            y = x - e
            if y > 32767:
                y = 32767
            elif y < -32768:
                y = -32768
            pcm[i] = y
        j += STEP
        if j >= PER:
            j -= PER
        i += 1
    if not keep:
        return
    # 7: the burst's edges inside the frame: a 32-sample block holds the buzz when the input's slope
    # follows the synthesised buzz's (first differences: where the buzz's edges are, the voice is weak).
    # A frame that starts a lock is cancelled from its first such block; one whose last two blocks hold
    # none, up to its last that does (the burst ended inside it).
    sh = 0
    while ((2 * em) >> sh) >= 2048:
        sh += 1
    thr = st[P_EDGE]
    nb = n >> 5
    lo = 0
    hi = n
    first = -1
    last = -1
    tail = 0
    b = 0
    while b < nb:
        cross = 0
        pw = 0
        i = b << 5
        if i == 0:
            i = 1
        while i < (b + 1) << 5:
            x = int(pcm[i])
            if x > 32767:
                x -= 65536
            x1 = int(pcm[i - 1])
            if x1 > 32767:
                x1 -= 65536
            de = ((st[EST + i] - BIAS) - (st[EST + i - 1] - BIAS)) >> sh
            cross += ((x - x1) * de) >> 5
            pw += (de * de) >> 5
            i += 1
        if cross > 0 and cross > (pw * thr) >> 8:
            if first < 0:
                first = b
            last = b
            tail = 0
        else:
            tail += 1
        b += 1
    if not was and first > 0:
        lo = first << 5
    if tail >= 2:
        hi = (last + 1) << 5
    i = lo
    while i < hi:
        x = int(pcm[i])
        if x > 32767:
            x -= 65536
        y = x - (st[EST + i] - BIAS)
        if y > 32767:
            y = 32767
        elif y < -32768:
            y = -32768
        pcm[i] = y
        i += 1
