# Pure-Python twin of ht/voice/denoise_viper.py: a light noise suppressor for the microphone front end
# (ht/voice/frontend.py runs it after the level kernel). The gate only quiets the pauses; street noise
# inside words stays. This takes it out band by band with a short-time spectrum:
#   - 128-point windows every 64 samples (16 ms, hop 8 ms), square-root Hann for analysis and synthesis
#     (the two windows' product overlap-adds to exactly 1, so unity gains give the input back, 16 ms late)
#   - fixed-point FFT (radix 2, Q12 twiddles): forward decimation in time, the first three stages free to
#     grow and the rest halved (bins = DFT / 16: 3 bits above the input's, rounding noise ~1.5 LSB RMS);
#     inverse decimation in frequency, not scaled, so the pair gives the input back
#   - per bin (65 for a real signal, 62.5 Hz apart): magnitude (max + 3/8 min, ~4 % error), smoothed over
#     two hops; the noise floor is the minimum of that, falling at once and rising ~8 dB/s (minimum
#     statistics: a word is shorter than the time the floor needs to climb into it)
#   - gain = 1 - alpha * noise / magnitude (spectral subtraction; alpha makes up for the minimum lying
#     below the noise's mean), never below a floor (-12 dB: deeper leaves "musical" tones and a hollow
#     voice), smoothed over hops; neighbours' gains averaged in (a lone bin that pops up is a tone of noise)
# Integers only, every intermediate below 2**31 (bins below 2**17, twiddles 2**12), so the viper
# twin on 32-bit machine ints gives the same samples. Everything lives in one array('i'): parameters,
# state, tables and work buffers; signed words are stored + 2**29 so ptr32 loads need no sign handling.
from ht.compat import const

N = const(128)
HOP = const(64)
BINS = const(65)
BIAS = const(0x20000000)
UNHALVED = const(8)     # forward stages of size <= this are not halved: bins = DFT / 16
CLAMP = const(0x3FFFF)  # inverse FFT values stay within +-2**18: products with Q12 twiddles < 2**31
U = const(4)            # sub-windows in the noise floor's minimum window
# scalar slots
S_POS = const(0)      # samples of the current hop received
S_MUTE = const(1)     # hops still to go before the gains may move (1st hop after begin(): no history)
P_ON = const(2)       # 1: suppress; 0: only the 16 ms delay (unity gains)
P_ALPHA = const(3)    # over-subtraction, Q4
P_FLOOR = const(4)    # gain floor, Q12
P_RISE = const(5)     # the slow floor's rise per hop: floor >> P_RISE
P_LIMIT = const(6)    # output never beyond +-this
S_HOPS = const(7)     # hops into the current sub-window of the windowed minimum
# tables and buffers (offsets into the same array)
WIN = const(8)                  # sqrt-Hann, Q15
COS = const(WIN + N)            # cos(2 pi k / N), k < N/2, Q12, biased
SIN = const(COS + HOP)          # sin, the same (never negative)
REV = const(SIN + HOP)          # bit reversal of 0..N-1
INB = const(REV + N)            # the last N input samples, biased
OUTQ = const(INB + N)           # the current hop's output, biased
OLA = const(OUTQ + HOP)         # the next hop's overlap, biased
RE = const(OLA + HOP)           # FFT work, biased
IM = const(RE + N)
MAG = const(IM + N)             # smoothed magnitude << 1
NOISE = const(MAG + BINS)       # the slow floor (falls at once, rises P_RISE) << 1
GAIN = const(NOISE + BINS)      # gain, Q12
CUR = const(GAIN + BINS)        # the windowed minimum: MAG's minimum in the current sub-window
MINU = const(CUR + BINS)        # ... and over the last U sub-windows
MINS = const(MINU + BINS)       # ... and in each of them (bin k's U at MINS + U k, oldest first)
S_FG = const(MINS + U * BINS)   # the pause gain now, Q12 (4096: speech)
S_HANG = const(S_FG + 1)        # hops of hangover left
P_SUB = const(S_FG + 2)         # hops per sub-window
P_VQ = const(S_FG + 3)          # a bin stands clear of the noise when alpha * noise / magnitude < this (Q8)
P_VBINS = const(S_FG + 4)       # ... and a hop is speech when at least this many bins do
P_PAUSE = const(S_FG + 5)       # the pause gain's floor, Q12 (4096: none)
P_HANGN = const(S_FG + 6)       # hangover, hops
NSTATE = const(S_FG + 7)


def process(pcm, n, st):
    # In place: each sample goes into the window and the sample from 16 ms ago comes out (a sample is
    # whole once both windows that hold it are done).
    pos = st[S_POS]
    i = 0
    while i < n:
        st[INB + HOP + pos] = pcm[i] + BIAS
        pcm[i] = st[OUTQ + pos] - BIAS
        pos += 1
        if pos == HOP:
            hop(st)
            pos = 0
        i += 1
    st[S_POS] = pos


def hop(st):
    # 1: window into bit-reversed order; slide the input by a hop
    t = 0
    while t < N:
        st[RE + st[REV + t]] = (((st[INB + t] - BIAS) * st[WIN + t] + 32768) >> 16) + BIAS
        st[IM + t] = BIAS
        t += 1
    t = 0
    while t < HOP:
        st[INB + t] = st[INB + HOP + t]
        t += 1
    # 2: forward FFT, decimation in time; the first UNHALVED stages may double, the rest are halved
    size = 2
    step = HOP
    sh = 0
    while size <= N:
        half = size >> 1
        if size > UNHALVED:
            sh = 1
        j = 0
        while j < half:
            wr = st[COS + j * step] - BIAS
            wi = st[SIN + j * step]
            a = j
            while a < N:
                b = a + half
                br = st[RE + b] - BIAS
                bi = st[IM + b] - BIAS
                ar = st[RE + a] - BIAS
                ai = st[IM + a] - BIAS
                tr = (br * wr + bi * wi + 2048) >> 12
                ti = (bi * wr - br * wi + 2048) >> 12
                st[RE + a] = ((ar + tr + sh) >> sh) + BIAS
                st[IM + a] = ((ai + ti + sh) >> sh) + BIAS
                st[RE + b] = ((ar - tr + sh) >> sh) + BIAS
                st[IM + b] = ((ai - ti + sh) >> sh) + BIAS
                a += size
            j += 1
        size <<= 1
        step >>= 1
    # 3: gains per bin
    on = st[P_ON]
    mute = st[S_MUTE]
    if mute > 0:
        st[S_MUTE] = mute - 1
    alpha = st[P_ALPHA]
    gfloor = st[P_FLOOR]
    rise = st[P_RISE]
    vq = st[P_VQ]
    nv = 0
    ends = 0            # 1: this hop ends a sub-window
    if mute == 0:
        h = st[S_HOPS] + 1
        if h >= st[P_SUB]:
            h = 0
            ends = 1
        st[S_HOPS] = h
    k = 0
    while k < BINS and mute > 0:
        st[GAIN + k] = 4096     # a window half empty (key-up): its spectrum says nothing of the noise
        k += 1
    while k < BINS:
        r = st[RE + k] - BIAS
        m = st[IM + k] - BIAS
        if r < 0:
            r = -r
        if m < 0:
            m = -m
        if r > m:
            m = r + ((m * 3) >> 3)
        else:
            m = m + ((r * 3) >> 3)
        s = st[MAG + k]
        s += ((m << 1) - s) >> 1
        st[MAG + k] = s
        # the noise: the mean of two floors. The slow one falls at once and climbs ~8 dB/s; the windowed
        # minimum follows a new steady noise (a modem's buzz, an engine) within the window.
        nf = st[NOISE + k]
        if s < nf:
            nf = s
        else:
            nf += (nf >> rise) + 1
        st[NOISE + k] = nf
        cur = st[CUR + k]
        if s < cur:
            cur = s
        wm = st[MINU + k]
        if cur < wm:
            wm = cur
        nf = (nf + wm) >> 1
        if ends:                # the oldest sub-window leaves, the current one joins
            b = MINS + U * k
            u = 0
            wm = cur
            while u < U - 1:
                v = st[b + u + 1]
                st[b + u] = v
                if v < wm:
                    wm = v
                u += 1
            st[b + U - 1] = cur
            st[MINU + k] = wm
            cur = s
        st[CUR + k] = cur
        g = 4096
        if on:
            q = ((nf * alpha) << 4) // (s + 1)     # alpha * noise / magnitude, Q8
            if q < vq:
                nv += 1
            g = gfloor
            if q < 256:
                g = 4096 - (q << 4)
                if g < gfloor:
                    g = gfloor
        gs = st[GAIN + k]
        st[GAIN + k] = gs + ((g - gs) >> 1)
        k += 1
    # 3b: pause gain: a hop where too few bins stand clear of the noise is a pause; after the hangover
    # everything falls 1.2 dB a hop to P_PAUSE below the bins' own gains
    fg = st[S_FG]
    if mute == 0:
        if nv >= st[P_VBINS]:
            fg = 4096
            st[S_HANG] = st[P_HANGN]
        elif st[S_HANG] > 0:
            st[S_HANG] = st[S_HANG] - 1
        else:
            fg -= fg >> 3
            if fg < st[P_PAUSE]:
                fg = st[P_PAUSE]
        st[S_FG] = fg
    # 4: apply (Hermitian: bin N-k takes bin k's gain); neighbours smooth the gain
    k = 0
    while k < N:
        c = k
        if c >= BINS:
            c = N - k
        g = st[GAIN + c] << 1          # (2 g[k] + g[k-1] + g[k+1]) / 4
        if c > 0:
            g += st[GAIN + c - 1]
        else:
            g += st[GAIN + 1]
        if c < BINS - 1:
            g += st[GAIN + c + 1]
        else:
            g += st[GAIN + c - 1]
        g = (((g + 2) >> 2) * fg + 2048) >> 12
        st[RE + k] = (((st[RE + k] - BIAS) * g + 2048) >> 12) + BIAS
        st[IM + k] = (((st[IM + k] - BIAS) * g + 2048) >> 12) + BIAS
        k += 1
    # 5: inverse FFT, decimation in frequency, not scaled (output in bit-reversed order). Speech never
    # comes near; the clamps only keep a pathological spectrum inside 32 bits.
    size = N
    step = 1
    while size >= 2:
        half = size >> 1
        j = 0
        while j < half:
            wr = st[COS + j * step] - BIAS
            wi = st[SIN + j * step]
            a = j
            while a < N:
                b = a + half
                ar = st[RE + a] - BIAS
                ai = st[IM + a] - BIAS
                br = st[RE + b] - BIAS
                bi = st[IM + b] - BIAS
                sr = ar + br
                si = ai + bi
                dr = ar - br
                di = ai - bi
                if sr > CLAMP:
                    sr = CLAMP
                elif sr < -CLAMP:
                    sr = -CLAMP
                if si > CLAMP:
                    si = CLAMP
                elif si < -CLAMP:
                    si = -CLAMP
                if dr > CLAMP:
                    dr = CLAMP
                elif dr < -CLAMP:
                    dr = -CLAMP
                if di > CLAMP:
                    di = CLAMP
                elif di < -CLAMP:
                    di = -CLAMP
                st[RE + a] = sr + BIAS
                st[IM + a] = si + BIAS
                st[RE + b] = ((dr * wr - di * wi + 2048) >> 12) + BIAS
                st[IM + b] = ((di * wr + dr * wi + 2048) >> 12) + BIAS
                a += size
            j += 1
        size >>= 1
        step <<= 1
    # 6: synthesis window (x2: undoes the analysis' halving), overlap-add, limit
    lim = st[P_LIMIT]
    t = 0
    while t < N:
        y = ((((st[RE + st[REV + t]] - BIAS + 2) >> 2) * st[WIN + t]) + 16384) >> 15
        if t < HOP:
            y += st[OLA + t] - BIAS
            if y > lim:
                y = lim
            elif y < -lim:
                y = -lim
            st[OUTQ + t] = y + BIAS
        else:
            st[OLA + t - HOP] = y + BIAS
        t += 1
