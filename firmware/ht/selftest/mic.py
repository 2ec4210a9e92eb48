# Bench checks of the microphone (ht.selftest.local registers them): the noise floor while the bench is
# quiet, then the level of the technician's voice at arm's length. Both read the HAL's mic as the radio
# does (20 ms frames; the ESP32's I2S mic is an asyncio stream, the sim's a plain read). A sim HAL with no
# WAV to play has no microphone to measure: the checks say so (ok None) rather than pass on silence.
import math
from array import array

FRAME = 160
NOISE_MAX_DBFS = -60     # INMP441 self-noise ~-87 dBFS; a quiet room ~-75; above -60: hum or a bad supply
DEAD_DBFS = -96          # below half an LSB RMS: no microphone at all (a live one always hisses)
LEVEL_WINDOW_DB = (-10, 12)   # spoken level around the board's expected one (quiet to loud talkers)


def _frames(mic, frames, fn):
    # fn(buf) for each frame read; the same code for a blocking and an asyncio microphone.
    buf = array("h", bytes(2 * FRAME))
    r = mic.readinto(buf)
    if not hasattr(r, "send"):
        fn(buf)
        for _ in range(frames - 1):
            mic.readinto(buf)
            fn(buf)
        return

    async def go(first):
        await first
        fn(buf)
        for _ in range(frames - 1):
            await mic.readinto(buf)
            fn(buf)
    import asyncio
    asyncio.run(go(r))


def frame_powers(mic, frames):
    # Power of each frame with its DC taken off (the INMP441 has an offset; the front end removes it too).
    out = []

    def one(buf):
        s = 0
        for v in buf:
            s += v
        m = s / FRAME
        p = 0
        for v in buf:
            p += (v - m) * (v - m)
        out.append(p / FRAME)
    _frames(mic, frames, one)
    return out


def dbfs(p):
    return 10 * math.log10(p / (32768 * 32768)) if p > 0 else -200.0


def no_source(mic):
    # The sim HAL's mic with nothing to play (no mic.wav): silence that says nothing of a microphone.
    return getattr(mic, "simulated", False) and not len(mic.pcm)


def noise_floor(mic, ms=2000):
    p = frame_powers(mic, ms // 20)
    return dbfs(sum(p) / len(p))


def spoken_level(mic, ms=3000):
    # Active level: the frames within 25 dB of the loudest (a simple P.56, as the bench's tools measure it).
    p = frame_powers(mic, ms // 20)
    top = max(p)
    act = [v for v in p if v > top * 10 ** -2.5]
    return dbfs(sum(act) / len(act))
