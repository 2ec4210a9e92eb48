# ITU-T G.726 ADPCM at 32 kbit/s (4-bit codes, 8 kHz): the pure-Python twin of
# ht/voice/g726_viper.py. Fixed-point arithmetic of the Recommendation (blocks named as in
# G.726 §3: FMULT, ACCUM, LOG, QUAN, ADDA, ANTILOG, FUNCTW, FILTD..E, UPA1/2, UPB,
# TRANS, TONE, FILTA/B), including the 16-bit wrap-arounds of its two's-complement
# registers, so the output is bit-exact with ITU-conformant coders (tests check it
# against spandsp). Linear PCM in/out: 16-bit samples are cut to the codec's 14 bits
# and the output scaled back up (saturating rather than wrapping on overload).
# Codes are packed RFC 3551 §4.5.4 style: first sample in the LOW nibble.
from array import array

# State: array('h', NSTATE). 0-1: yl (19 bits; low 16, high), 2: yu, 3: dms, 4: dml,
# 5: ap, 6-11: b0..b5, 12: a0, 13: a1, 14-19: dq0..dq5, 20: sr0, 21: sr1 (both in the
# 11-bit float format; coefficient 6+k multiplies float 14+k), 22: pk0, 23: pk1,
# 24: td, 25: frames coded since reset (the sync counter carried in each frame).
NSTATE = 26
SYNC = 25
_INIT = (34816 - 65536, 0, 544, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
         32, 32, 32, 32, 32, 32, 32, 32, 0, 0, 0, 0)

# Table 7 (decision levels) and 11/12/13 of G.726 for 32 kbit/s, indexed by code.
QTAB = array("h", (-124, 80, 178, 246, 300, 349, 400))
DQLN = array("h", (-2048, 4, 135, 213, 273, 323, 373, 425, 425, 373, 323, 273, 213, 135, 4, -2048))
# W(I) of Table 13 (log scale-factor multiplier), in the table's own units; used << 5.
WI = array("h", (-12, 18, 41, 64, 112, 198, 355, 1122, 1122, 355, 198, 112, 64, 41, 18, -12))
FI = array("h", (0, 0, 0, 0x200, 0x200, 0x200, 0x600, 0xE00, 0xE00, 0x600, 0x200, 0x200, 0x200, 0, 0, 0))

# The four tables back to back for the viper kernel (one pointer): offsets 0, 7, 23, 39.
TABS = array("h", tuple(QTAB) + tuple(DQLN) + tuple(WI) + tuple(FI))

# Bit length of 0..255 (top set bit + 1), for the LOG/FLOAT blocks without a loop.
BITLEN = bytearray(256)
for _i in range(1, 256):
    BITLEN[_i] = BITLEN[_i >> 1] + 1


def reset(st):
    for k in range(NSTATE):
        st[k] = _INIT[k]


def new_state():
    st = array("h", bytes(2 * NSTATE))
    reset(st)
    return st


def _bitlen(x):
    # x in 0..32767
    if x >= 256:
        return 8 + BITLEN[x >> 8]
    return BITLEN[x]


def _sample(st, sl, i, enc):
    # One sample through the coder. Encoder (enc true): sl = 14-bit input, returns the
    # code. Decoder: i = code, returns sr (14-bit reconstructed signal). Both update st.
    # FMULT + ACCUM over the six zeros (b, dq) and the two poles (a, sr).
    sezi = 0
    sei = 0
    for k in range(8):
        if k == 6:
            sezi = ((sezi + 32768) & 0xFFFF) - 32768
            sei = sezi
        an = st[6 + k] >> 2
        srn = st[14 + k]
        anmag = an if an > 0 else (-an) & 0x1FFF
        anexp = _bitlen(anmag) - 6
        if anmag == 0:
            anmant = 32
        elif anexp >= 0:
            anmant = anmag >> anexp
        else:
            anmant = anmag << -anexp
        wanexp = anexp + ((srn >> 6) & 15) - 13
        wanmant = (anmant * (srn & 63) + 48) >> 4
        if wanexp >= 0:
            r = (wanmant << wanexp) & 0x7FFF
        else:
            r = wanmant >> -wanexp
        if (an ^ srn) < 0:
            r = -r
        if k < 6:
            sezi += r
        else:
            sei += r
    sei = ((sei + 32768) & 0xFFFF) - 32768
    se = sei >> 1
    # Quantizer scale factor: mix of fast (yu) and slow (yl) by the speed control ap.
    yl = ((st[1] << 16) | (st[0] & 0xFFFF))
    yu = st[2]
    ap = st[5]
    if ap >= 256:
        y = yu
    else:
        y = yl >> 6
        dif = yu - y
        al = ap >> 2
        if dif > 0:
            y += (dif * al) >> 6
        elif dif < 0:
            y += (dif * al + 0x3F) >> 6
    if enc:
        # LOG, SUBTB, QUAN (Table 7): the difference in the log domain against y.
        d = ((sl - se + 32768) & 0xFFFF) - 32768
        dqm = -d if d < 0 else d
        e = _bitlen(dqm >> 1)
        dln = ((e << 7) + (((dqm << 7) >> e) & 0x7F)) - (y >> 2)
        q = 0
        while q < 7 and dln >= QTAB[q]:
            q += 1
        if d < 0:
            i = 15 - q
        elif q == 0:
            i = 15
        else:
            i = q
    # ADDA + ANTILOG: quantized difference dq in sign-magnitude (sign = bit 15).
    dql = DQLN[i] + (y >> 2)
    if dql < 0:
        dq = -0x8000 if i & 8 else 0
    else:
        dq = ((128 + (dql & 127)) << 7) >> (14 - ((dql >> 7) & 15))
        if i & 8:
            dq -= 0x8000
    if dq < 0:
        sr = se - (dq & 0x3FFF)
    else:
        sr = se + dq
    sr = ((sr + 32768) & 0xFFFF) - 32768
    dqsez = ((sr + (sezi >> 1) - se + 32768) & 0xFFFF) - 32768
    _update(st, y, WI[i] << 5, FI[i], dq, sr, dqsez, yl)
    return i if enc else sr


def _update(st, y, wi, fi, dq, sr, dqsez, yl):
    pk0 = 1 if dqsez < 0 else 0
    mag = dq & 0x7FFF
    # TRANS: a large difference while "tone" was flagged means modem data, not voice.
    ylint = yl >> 15
    thr = (31 << 10) if ylint > 9 else (32 + ((yl >> 10) & 0x1F)) << ylint
    tr = 1 if st[24] and mag > ((thr + (thr >> 1)) >> 1) else 0
    # FUNCTW, FILTD, LIMB, FILTE: fast and slow scale factors.
    yu = y + ((wi - y) >> 5)
    if yu < 544:
        yu = 544
    elif yu > 5120:
        yu = 5120
    yl += yu + ((-yl) >> 6)
    a2p = 0
    if tr:
        for k in range(6, 14):
            st[k] = 0
    else:
        a0 = st[12]
        a1 = st[13]
        pks1 = pk0 ^ st[22]
        # UPA2 + LIMC
        a2p = a1 - (a1 >> 7)
        if dqsez != 0:
            fa1 = a0 if pks1 else -a0
            if fa1 < -8191:
                a2p -= 0x100
            elif fa1 > 8191:
                a2p += 0xFF
            else:
                a2p += fa1 >> 5
            if pk0 ^ st[23]:
                if a2p <= -12160:
                    a2p = -12288
                elif a2p >= 12416:
                    a2p = 12288
                else:
                    a2p -= 0x80
            elif a2p <= -12416:
                a2p = -12288
            elif a2p >= 12160:
                a2p = 12288
            else:
                a2p += 0x80
        st[13] = a2p
        # UPA1 + LIMD
        a0 -= a0 >> 8
        if dqsez != 0:
            a0 += -192 if pks1 else 192
        a1ul = 15360 - a2p
        if a0 < -a1ul:
            a0 = -a1ul
        elif a0 > a1ul:
            a0 = a1ul
        st[12] = a0
        # UPB: sign-sign update of the zeros; a 16-bit register, so it may wrap.
        for k in range(6):
            b = st[6 + k]
            b -= b >> 8
            if mag:
                b += 128 if (dq ^ st[14 + k]) >= 0 else -128
            st[6 + k] = ((b + 32768) & 0xFFFF) - 32768
    # FLOAT A / FLOAT B: 11-bit floats (exponent<<6 | 6-bit mantissa, minus 0x400 if negative).
    for k in range(19, 14, -1):
        st[k] = st[k - 1]
    if mag == 0:
        st[14] = 0x20 if dq >= 0 else -992
    else:
        e = _bitlen(mag)
        v = (e << 6) + ((mag << 6) >> e)
        st[14] = v if dq >= 0 else v - 0x400
    st[21] = st[20]
    if sr == 0:
        st[20] = 0x20
    elif sr > 0:
        e = _bitlen(sr)
        st[20] = (e << 6) + ((sr << 6) >> e)
    elif sr > -32768:
        m = -sr
        e = _bitlen(m)
        st[20] = (e << 6) + ((m << 6) >> e) - 0x400
    else:
        st[20] = -992
    st[23] = st[22]
    st[22] = pk0
    # TONE: a strongly negative second pole looks like a modem tone.
    td = 0 if tr else (1 if a2p < -11776 else 0)
    st[24] = td
    # FILTA, FILTB, SUBTC, FILTC: adaptation speed control.
    dms = st[3]
    dml = st[4]
    dms += (fi - dms) >> 5
    dml += ((fi << 2) - dml) >> 7
    st[3] = dms
    st[4] = dml
    ap = st[5]
    if tr:
        ap = 256
    elif y < 1536 or td:
        ap += (0x200 - ap) >> 4
    else:
        dd = (dms << 2) - dml
        if dd < 0:
            dd = -dd
        if dd >= (dml >> 3):
            ap += (0x200 - ap) >> 4
        else:
            ap += (-ap) >> 4
    st[5] = ap
    st[2] = yu
    st[0] = ((yl & 0xFFFF) ^ 0x8000) - 0x8000
    st[1] = yl >> 16


def encode(pcm, n, out, st):
    lo = 0
    for j in range(n):
        i = _sample(st, pcm[j] >> 2, 0, 1)
        if j & 1:
            out[j >> 1] = lo | (i << 4)
        else:
            lo = i
    if n & 1:
        out[n >> 1] = lo
    st[25] = st[25] + 1 if st[25] < 32767 else 1


def decode(payload, n, pcm, st):
    b = 0
    for j in range(n):
        if j & 1:
            i = b >> 4
        else:
            b = payload[j >> 1]
            i = b & 15
        sr = _sample(st, 0, i, 0)
        # Back to 16 bits; G.726's sr can overshoot 14 bits on overload, so saturate.
        if sr > 8191:
            sr = 8191
        elif sr < -8192:
            sr = -8192
        pcm[j] = sr << 2
    st[25] = st[25] + 1 if st[25] < 32767 else 1
