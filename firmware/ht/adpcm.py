# IMA/DVI ADPCM, 4 bits per sample: the pure-Python twin of ht/adpcm_viper.py.
# The arithmetic is the IMA reference coder (Intel/DVI "adpcm.c", the same code CPython's
# audioop carries), step for step, so decoded samples match any reference decoder.
# Nibble order is RFC 3551 DVI4: the first sample of a pair goes in the HIGH nibble
# (WAV's IMA ADPCM uses the low nibble first; audioop uses the high one, like us).
# State is array('h', [predictor, step_index]); both kernels update it in place.
from array import array

# IMA step table (89 entries), shared with the viper kernel which reads it as a ptr16.
STEPS = array("H", (
    7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45,
    50, 55, 60, 66, 73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230,
    253, 279, 307, 337, 371, 408, 449, 494, 544, 598, 658, 724, 796, 876, 963,
    1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066, 2272, 2499, 2749, 3024, 3327,
    3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845, 8630, 9493, 10442, 11487,
    12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794, 32767))

# Index adjustment per code (sign bit masked off): codes 0-3 shrink the step, 4-7 grow it.
_ADJ = (-1, -1, -1, -1, 2, 4, 6, 8)


def encode(pcm, n, out, st):
    steps = STEPS
    adj = _ADJ
    pred = st[0]
    # A state that came off the air may be out of range; clamp the same way in both
    # kernels so they stay bit-identical instead of indexing past the table. (Inline,
    # not a helper returning a tuple: that tuple would be a heap allocation per frame.)
    index = st[1]
    if index < 0:
        index = 0
    elif index > 88:
        index = 88
    step = steps[index]
    hi = 0
    for i in range(n):
        diff = pcm[i] - pred
        sign = 0
        if diff < 0:
            sign = 8
            diff = -diff
        # Successive approximation of diff/step in 3 bits; vpdiff is what the decoder
        # will reconstruct, so the encoder tracks the decoder exactly.
        code = 0
        vpdiff = step >> 3
        if diff >= step:
            code = 4
            diff -= step
            vpdiff += step
        s = step >> 1
        if diff >= s:
            code |= 2
            diff -= s
            vpdiff += s
        s >>= 1
        if diff >= s:
            code |= 1
            vpdiff += s
        if sign:
            pred -= vpdiff
            if pred < -32768:
                pred = -32768
        else:
            pred += vpdiff
            if pred > 32767:
                pred = 32767
        index += adj[code]
        if index < 0:
            index = 0
        elif index > 88:
            index = 88
        step = steps[index]
        if i & 1:
            out[i >> 1] = hi | code | sign
        else:
            hi = (code | sign) << 4
    if n & 1:
        out[n >> 1] = hi
    st[0] = pred
    st[1] = index


def decode(payload, n, pcm, st):
    steps = STEPS
    adj = _ADJ
    pred = st[0]
    index = st[1]
    if index < 0:
        index = 0
    elif index > 88:
        index = 88
    step = steps[index]
    b = 0
    for i in range(n):
        if i & 1:
            code = b & 15
        else:
            b = payload[i >> 1]
            code = b >> 4
        mag = code & 7
        index += adj[mag]
        if index < 0:
            index = 0
        elif index > 88:
            index = 88
        vpdiff = step >> 3
        if mag & 4:
            vpdiff += step
        if mag & 2:
            vpdiff += step >> 1
        if mag & 1:
            vpdiff += step >> 2
        if code & 8:
            pred -= vpdiff
            if pred < -32768:
                pred = -32768
        else:
            pred += vpdiff
            if pred > 32767:
                pred = 32767
        step = steps[index]
        pcm[i] = pred
    st[0] = pred
    st[1] = index
