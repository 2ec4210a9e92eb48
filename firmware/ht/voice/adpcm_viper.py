# IMA/DVI ADPCM kernel compiled to machine code by MicroPython's viper emitter.
# Same arithmetic, tables, clamps and nibble order as ht/voice/adpcm_pure.py (the pure twin); a
# test proves the two bit-identical. Importing this module is a SyntaxError/ImportError
# where there is no native emitter (or on CPython) — ht/voice/codecs.py catches that.
# Viper notes: ptr16 loads are unsigned, so samples and the predictor are sign-extended
# by hand; tables come in as pointers so the loops call no Python code; `row` is the
# step index times 8, the row start in the VP/NXT tables.
import micropython
from ht.voice.adpcm_pure import STEPS, VP, NXT


@micropython.viper
def _enc(pcm: ptr16, n: int, out: ptr8, st: ptr16, steps: ptr16, vp: ptr16, nxt: ptr8):
    pred = int(st[0])
    if pred > 32767:
        pred -= 65536
    # Out-of-range index (e.g. from a corrupt frame): clamp exactly like the pure twin.
    row = int(st[1])
    if row > 32767:
        row -= 65536
    if row < 0:
        row = 0
    elif row > 88:
        row = 88
    row = row << 3
    hi = 0
    i = 0
    while i < n:
        v = int(pcm[i])
        if v > 32767:
            v -= 65536
        step = int(steps[row >> 3])
        diff = v - pred
        code = 0
        if diff < 0:
            code = 8
            diff = 0 - diff
        if diff >= step:
            code |= 4
            diff -= step
        step = step >> 1
        if diff >= step:
            code |= 2
            diff -= step
        if diff >= (step >> 1):
            code |= 1
        k = row | (code & 7)
        d = int(vp[k])
        row = int(nxt[k]) << 3
        if code & 8:
            pred -= d
            if pred < -32768:
                pred = -32768
        else:
            pred += d
            if pred > 32767:
                pred = 32767
        if i & 1:
            out[i >> 1] = hi | code
        else:
            hi = code << 4
        i += 1
    if n & 1:
        out[n >> 1] = hi
    st[0] = pred
    st[1] = row >> 3


@micropython.viper
def _dec(payload: ptr8, n: int, pcm: ptr16, st: ptr16, vp: ptr16, nxt: ptr8):
    pred = int(st[0])
    if pred > 32767:
        pred -= 65536
    # Out-of-range index (e.g. from a corrupt frame): clamp exactly like the pure twin.
    row = int(st[1])
    if row > 32767:
        row -= 65536
    if row < 0:
        row = 0
    elif row > 88:
        row = 88
    row = row << 3
    # Two samples per payload byte, high nibble first; unrolled so the loop has no
    # odd/even branch (the decoder ran at C speed only after this and the tables).
    j = 0
    m = n >> 1
    while j < m:
        b = int(payload[j])
        k = row | ((b >> 4) & 7)
        d = int(vp[k])
        row = int(nxt[k]) << 3
        if b & 0x80:
            pred -= d
            if pred < -32768:
                pred = -32768
        else:
            pred += d
            if pred > 32767:
                pred = 32767
        pcm[j << 1] = pred
        k = row | (b & 7)
        d = int(vp[k])
        row = int(nxt[k]) << 3
        if b & 8:
            pred -= d
            if pred < -32768:
                pred = -32768
        else:
            pred += d
            if pred > 32767:
                pred = 32767
        pcm[(j << 1) + 1] = pred
        j += 1
    if n & 1:
        b = int(payload[m])
        k = row | ((b >> 4) & 7)
        d = int(vp[k])
        row = int(nxt[k]) << 3
        if b & 0x80:
            pred -= d
            if pred < -32768:
                pred = -32768
        else:
            pred += d
            if pred > 32767:
                pred = 32767
        pcm[n - 1] = pred
    st[0] = pred
    st[1] = row >> 3


def encode(pcm, n, out, st):
    _enc(pcm, n, out, st, STEPS, VP, NXT)


def decode(payload, n, pcm, st):
    _dec(payload, n, pcm, st, VP, NXT)
