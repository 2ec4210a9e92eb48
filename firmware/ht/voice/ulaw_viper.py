# G.711 µ-law kernel for MicroPython's viper emitter; bit-identical twin of ht/voice/ulaw_pure.py
# (a test proves it). Import fails on CPython / ports without a native emitter;
# ht/voice/codecs.py then keeps the pure twin.
import micropython
from ht.voice.ulaw_pure import DECODE, SEG


@micropython.viper
def _enc(pcm: ptr16, n: int, out: ptr8, segs: ptr8):
    i = 0
    while i < n:
        p = int(pcm[i])
        if p > 32767:
            p -= 65536
        p = p >> 2
        mask = 0xFF
        if p < 0:
            p = 0 - p
            mask = 0x7F
        if p > 8159:
            p = 8159
        p += 33
        seg = int(segs[p >> 6])
        if seg > 7:
            out[i] = 0x7F ^ mask
        else:
            out[i] = ((seg << 4) | ((p >> (seg + 1)) & 0x0F)) ^ mask
        i += 1


@micropython.viper
def _dec(payload: ptr8, n: int, pcm: ptr16, tab: ptr16):
    i = 0
    while i < n:
        pcm[i] = tab[payload[i]]
        i += 1


def encode(pcm, n, out, st=None):
    _enc(pcm, n, out, SEG)


def decode(payload, n, pcm, st=None):
    _dec(payload, n, pcm, DECODE)
