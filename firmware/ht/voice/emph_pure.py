# Adaptive pre-emphasis around the IMA ADPCM coder (payload type PT_ADPCME, docs/CODEC.md): the pure
# twin of ht/voice/emph_viper.py (same names, identical results on every interpreter).
# The encoder codes e[n] = x[n] - a*x[n-1] and the decoder plays y[n] = d[n] + a*y[n-1], with a = q/8
# and q = 0 or Q chosen per frame and sent in the frame's state (one bit). With d = e the output is x
# exactly; the ADPCM noise comes out shaped by 1/(1 - a z^-1): less of it above 2 kHz, where a low
# voice leaves it bare, more under 1 kHz, beneath the voice (FM broadcast emphasis, decided per frame).
# State (the codec's array('h')): [0] predictor, [1] step index (the ADPCM kernels' own), [2] the
# filter's last sample (encoder: x[-1]; decoder: y[-1]), [3] q for the current frame.
# Arithmetic: integers, every intermediate below 2**30 (MicroPython small ints: no heap objects).

Q = 6          # the coefficient when emphasis is on: 6/8 (the model: {0, 3/4} gains on every voice
#                tried; {0, 1/4, 1/2, 3/4} gained more on the alsa voice but lost 0.01-0.03 on espeak en)
G = 154        # the speech envelope's pole taken as 0.6 * r1/r0 (Q8): the noise may follow it partly


def choose(pcm, n, st):
    # Pick k for this frame: the one whose decoded noise, weighed against a first-order model of the
    # frame's spectrum, is least. The ADPCM noise power follows the power of the coded signal's first
    # difference, i.e. of (1 - z^-1)(1 - a z^-1) x (from the frame's r0, r1, r2); after de-emphasis it
    # is shaped by 1/|1 - a e^-jw|^2; weighed by the inverse of the envelope 1/|1 - p e^-jw|^2 (p = G *
    # r1/r0) it sums to P(a) * (1 + p^2 - 2 p a) / (1 - a^2). Returns q (0 or Q), kept in st[3].
    # Scale so that n * x^2 stays below 2**30 (n <= 480: |x| < 1448) and a quiet frame keeps its bits.
    if n > 480:
        n = 480        # a longer frame is judged by its first 60 ms
    m = 0
    for i in range(n):
        x = pcm[i]
        if x < 0:
            x = -x
        if x > m:
            m = x
    sh = 0
    while (m >> sh) >= 1448:
        sh += 1
    r0 = 0
    r1 = 0
    r2 = 0
    b = st[2] >> sh    # x[-1] (the encoder keeps it in st[2]): r1 gets n terms, as many as r0
    c = 0
    for i in range(n):
        x = pcm[i] >> sh
        r0 += x * x
        r1 += x * b
        r2 += x * c
        c = b
        b = x
    k = 0
    if r1 > 0 and r0 > 0:
        while r0 >= 32768:
            r0 >>= 1
            r1 >>= 1
            r2 >>= 1
        # r1/r0 and r2/r0 in Q14: near 1 for a low voice, where 1 - r1/r0 decides (Q8 was too coarse)
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
        p = (G * c1) >> 14                # the envelope's pole, Q8
        pp = p * p
        # 64 P(a)/r0 (Q14, then >> 6) and (1 + p^2 - 2 p a) (Q8), for a = 0 and a = Q/8; the costs
        # compared as P(0) (1 + p^2) (64 - Q^2) against P(a) (1 + p^2 - 2 p a) 64.
        u = 8 + Q
        a0 = ((128 * 16384) - 128 * c1) >> 6
        aq = ((64 + u * u + Q * Q) * 16384 - 2 * u * u * c1 + 16 * Q * c2) >> 6
        e0 = (65536 + pp) >> 8
        eq = (65536 + pp - 64 * Q * p) >> 8
        if ((aq * eq) >> 8) * 64 < ((a0 * e0) >> 8) * (64 - Q * Q):
            k = Q
    st[3] = k
    return k


def emphasis(pcm, n, out, st):
    # out[i] = x[i] - (q * x[i-1]) >> 3, saturated to 16 bits; st[2] carries x[-1] across frames.
    k = st[3]
    prev = st[2]
    for i in range(n):
        x = pcm[i]
        e = x - ((k * prev) >> 3)
        if e > 32767:
            e = 32767
        elif e < -32768:
            e = -32768
        out[i] = e
        prev = x
    st[2] = prev


def deemphasis(pcm, n, st):
    # In place: y[i] = d[i] + (q * y[i-1]) >> 3, saturated; st[2] carries y[-1] across frames.
    k = st[3]
    prev = st[2]
    for i in range(n):
        y = pcm[i] + ((k * prev) >> 3)
        if y > 32767:
            y = 32767
        elif y < -32768:
            y = -32768
        pcm[i] = y
        prev = y
    st[2] = prev
