"""Real speech for tests, the demo and the benchmarks: the alsa-utils voice samples.

The nine WAVs in /usr/share/sounds/alsa/ ("Front Center", "Rear Left", ...) are a man's voice recorded at
48 kHz, 16-bit mono, about 1.4 s each. We take the eight spoken ones (not Noise.wav), resample them to the
radio's 8 kHz with a proper anti-alias filter (scipy's polyphase FIR, Kaiser window) and concatenate them:
about 11 s of speech, the same on every machine that has the Debian package ``alsa-utils``.
"""
from __future__ import annotations

import functools
import math
import os
import pathlib
import wave

import numpy as np
from numpy.typing import ArrayLike

from htctl.errors import NotFoundError, UserError

DEFAULT_DIR = "/usr/share/sounds/alsa"
RATE = 8000
_SKIP = {"Noise.wav"}
_HINT = "install the sample speech: sudo apt-get install alsa-utils (or `make sysdeps`)"


def speech_dir(directory: str | os.PathLike[str] | None = None) -> pathlib.Path:
    return pathlib.Path(directory or os.environ.get("HTCTL_SPEECH_DIR") or DEFAULT_DIR)


def resample(pcm: ArrayLike, from_rate: int, to_rate: int) -> np.ndarray:
    """int16 -> int16 at another rate; polyphase FIR low-pass at the new Nyquist (no aliasing)."""
    from scipy.signal import resample_poly

    if from_rate == to_rate:
        return np.asarray(pcm, dtype=np.int16).copy()
    g = math.gcd(int(from_rate), int(to_rate))
    y = resample_poly(np.asarray(pcm, dtype=np.float64), to_rate // g, from_rate // g)
    return np.clip(np.rint(y), -32768, 32767).astype(np.int16)


def read_wav(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """(int16 mono samples, rate) from a 16-bit PCM WAV; several channels are averaged."""
    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2:
                raise UserError("%s: %d-bit samples, expected 16-bit PCM" % (path, 8 * w.getsampwidth()))
            ch, rate = w.getnchannels(), w.getframerate()
            data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    except (wave.Error, EOFError) as e:
        raise UserError("%s is not a readable WAV file: %s" % (path, e)) from None
    except FileNotFoundError:
        raise NotFoundError("no such WAV file: %s" % path) from None
    if ch > 1:
        data = np.rint(data.reshape(-1, ch).mean(axis=1))
    return data.astype(np.int16), rate


def write_wav(path: str | os.PathLike[str], pcm: ArrayLike, rate: int = RATE) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(pcm, dtype="<i2").tobytes())


@functools.lru_cache(maxsize=4)
def _clips(directory, rate):
    d = speech_dir(directory)
    files = sorted(p for p in d.glob("*.wav") if p.name not in _SKIP)
    if not files:
        raise NotFoundError("no speech samples in %s" % d, hint=_HINT)
    out = []
    for p in files:
        pcm, r = read_wav(p)
        y = resample(pcm, r, rate)
        y.flags.writeable = False  # cached and shared between callers
        out.append((p.stem, y))
    return tuple(out)


def clips(directory: str | os.PathLike[str] | None = None, rate: int = RATE) -> list[tuple[str, np.ndarray]]:
    """[(name, int16 array)] — each spoken sample on its own, resampled to `rate`."""
    return list(_clips(str(speech_dir(directory)), rate))


def load(directory: str | os.PathLike[str] | None = None, rate: int = RATE) -> np.ndarray:
    """All spoken samples back to back: about 11 s of int16 speech at `rate` (default 8 kHz)."""
    return np.concatenate([y for _, y in _clips(str(speech_dir(directory)), rate)])


def load_bytes(directory: str | os.PathLike[str] | None = None, rate: int = RATE) -> bytes:
    """The same speech as little-endian int16 bytes (what array('h') and audioop take)."""
    return load(directory, rate).astype("<i2").tobytes()
