# G.711 µ-law (PCMU, RTP payload type 0): the pure-Python twin of ht/voice/ulaw_viper.py.
# Bit-exact with the Sun/CCITT reference routines CPython's audioop uses: the 16-bit
# sample is cut to 14 bits (arithmetic shift), clipped at 8159, biased by 33, and the
# code word is complemented (G.711 inverts all bits for µ-law).
from array import array


def _expand(u):
    u = ~u & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return (0x84 - t) if u & 0x80 else (t - 0x84)


# 256-entry expansion table (512 bytes), shared with the viper kernel.
DECODE = array("h", [_expand(u) for u in range(256)])

# Segment of a biased magnitude p (33..8192), looked up by p >> 6 (0..128): the bit
# length of p >> 6, i.e. the reference's search through seg_uend. 8 means overload.
SEG = bytearray(129)
for _i in range(1, 129):
    SEG[_i] = SEG[_i >> 1] + 1


def encode(pcm, n, out, st=None):
    segs = SEG
    for i in range(n):
        p = pcm[i] >> 2
        mask = 0xFF
        if p < 0:
            p = -p
            mask = 0x7F
        if p > 8159:
            p = 8159
        p += 33
        seg = segs[p >> 6]
        if seg > 7:
            out[i] = 0x7F ^ mask
        else:
            out[i] = ((seg << 4) | ((p >> (seg + 1)) & 0x0F)) ^ mask


def decode(payload, n, pcm, st=None):
    tab = DECODE
    for i in range(n):
        pcm[i] = tab[payload[i]]
