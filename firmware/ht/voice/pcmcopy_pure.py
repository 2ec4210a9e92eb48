# Sample-moving loops of the receive path (jitter-buffer slot fill, playout copy, the
# concealer's delay line): the pure-Python twin of ht/voice/pcmcopy_viper.py. They run for
# every frame, so on the ESP32 the viper kernels take over (chosen by ht.voice.plc/ht.voice.transceiver
# with a try-import); both give identical results (tests/core/voice/test_plc.py).


def copy8(dst, src, soff, n):
    # dst[0:n] = src[soff:soff+n] without making a slice object.
    for i in range(n):
        dst[i] = src[soff + i]


def copy16(dst, doff, src, soff, n):
    for i in range(n):
        dst[doff + i] = src[soff + i]


def ring_io(ring, w, pcm, n, delay):
    # Write pcm[0:n] into the 512-sample ring at w, then read back into pcm the n
    # samples that start `delay` samples earlier (a delay line).
    for i in range(n):
        ring[(w + i) & 511] = pcm[i]
    r = w - delay
    for i in range(n):
        pcm[i] = ring[(r + i) & 511]


def zero16(dst, n):
    for i in range(n):
        dst[i] = 0
