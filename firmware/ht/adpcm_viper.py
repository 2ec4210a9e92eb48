# IMA/DVI ADPCM kernel compiled to machine code by MicroPython's viper emitter.
# Same arithmetic, clamps and nibble order as ht/adpcm.py (the pure twin); a test
# proves the two bit-identical. Importing this module is a SyntaxError/ImportError
# where there is no native emitter (or on CPython) — ht/codecs.py catches that.
# Viper notes: ptr16 loads are unsigned, so samples and the predictor are sign-extended
# by hand; the step table comes in as a ptr16 so the loop calls no Python code.
import micropython
from ht.adpcm import STEPS


@micropython.viper
def _enc(pcm: ptr16, n: int, out: ptr8, st: ptr16, steps: ptr16):
    pred = int(st[0])
    if pred > 32767:
        pred -= 65536
    index = int(st[1])
    if index > 32767:
        index -= 65536
    if index < 0:
        index = 0
    elif index > 88:
        index = 88
    step = int(steps[index])
    hi = 0
    i = 0
    while i < n:
        v = int(pcm[i])
        if v > 32767:
            v -= 65536
        diff = v - pred
        sign = 0
        if diff < 0:
            sign = 8
            diff = 0 - diff
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
        s = s >> 1
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
        # Index table (-1,-1,-1,-1,2,4,6,8) computed instead of looked up.
        if code & 4:
            index += ((code & 3) + 1) << 1
            if index > 88:
                index = 88
        else:
            index -= 1
            if index < 0:
                index = 0
        step = int(steps[index])
        if i & 1:
            out[i >> 1] = hi | code | sign
        else:
            hi = (code | sign) << 4
        i += 1
    if n & 1:
        out[n >> 1] = hi
    st[0] = pred
    st[1] = index


@micropython.viper
def _dec(payload: ptr8, n: int, pcm: ptr16, st: ptr16, steps: ptr16):
    pred = int(st[0])
    if pred > 32767:
        pred -= 65536
    index = int(st[1])
    if index > 32767:
        index -= 65536
    if index < 0:
        index = 0
    elif index > 88:
        index = 88
    step = int(steps[index])
    b = 0
    i = 0
    while i < n:
        if i & 1:
            code = b & 15
        else:
            b = int(payload[i >> 1])
            code = b >> 4
        if code & 4:
            index += ((code & 3) + 1) << 1
            if index > 88:
                index = 88
        else:
            index -= 1
            if index < 0:
                index = 0
        vpdiff = step >> 3
        if code & 4:
            vpdiff += step
        if code & 2:
            vpdiff += step >> 1
        if code & 1:
            vpdiff += step >> 2
        if code & 8:
            pred -= vpdiff
            if pred < -32768:
                pred = -32768
        else:
            pred += vpdiff
            if pred > 32767:
                pred = 32767
        step = int(steps[index])
        pcm[i] = pred
        i += 1
    st[0] = pred
    st[1] = index


def encode(pcm, n, out, st):
    _enc(pcm, n, out, st, STEPS)


def decode(payload, n, pcm, st):
    _dec(payload, n, pcm, st, STEPS)
