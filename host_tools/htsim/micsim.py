"""Speech as a radio's microphone really hears it, and that speech through the whole voice path.

An INMP441 gives -26 dBFS at 94 dB SPL; speech at arm's length arrives near -45 dBFS RMS. On top of it: a DC
offset, 50 Hz mains hum with its harmonics, a 217 Hz TDMA buzz while the modem transmits (GSM-like bursts of
577 us every 4.615 ms, coupled into the mic supply; each burst at its own TDMA phase and power), and street noise (pink plus brown noise, low rumble, and
passing vehicles that swell and fade) at a chosen SNR against the speech's active level. Everything is drawn
from a fixed seed, so a figure measured on it is the same on every run. The speech is the alsa voice
(htsim.speech): one press of PTT, a pause before the first word, the clips as words with pauses between.

``through_path()`` runs it under MicroPython (rig program voice_path.py: front end -> codec -> LTE link model
-> jitter buffer -> receive leveller -> speaker) and scores the speaker's output with PESQ against the clean
speech.
"""
from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
from typing import Any

import numpy as np

from htctl.errors import NotFoundError, UserError
from ht.voice import codecs
from htsim import audiopath, linksim, rig, speech

RATE = 8000
CODEC = codecs.PT_ADPCME  # the payload type the whole path codes with unless told (the radio's default, audio.codec)
LEAD_MS = 400       # from key-up to the first word
GAP_MS = 500        # between words


def dbfs(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(20 * np.log10(np.sqrt(np.mean(x * x)) / 32768 + 1e-12))


def active_level(x: np.ndarray, frame: int = 160) -> float:
    """Speech level in dBFS over the 20 ms frames within 25 dB of the loudest one (a simple P.56)."""
    x = np.asarray(x, dtype=np.float64)
    m = len(x) // frame
    e = (x[: m * frame].reshape(m, frame) ** 2).mean(axis=1)
    act = e[e > e.max() * 10 ** -2.5]
    return float(10 * np.log10(act.mean() / 32768 ** 2 + 1e-20))


def clean_speech(lead_ms: int = LEAD_MS, gap_ms: int = GAP_MS) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The alsa clips as one utterance: (int16 samples, [(start, end) of each word])."""
    return _utterance([clip for _, clip in speech.clips()], lead_ms, gap_ms)


# Sentences a field officer might say, for espeak-ng (voices "id" and "en"): checked with other speech
# than the alsa clips, so a figure is not one voice's.
SENTENCES = {
    "id": ["Pos dua, lapor posisi sekarang.", "Jalan ke arah pasar ditutup, putar balik lewat utara.",
           "Ambulans sudah berangkat, perkiraan tiba sepuluh menit.", "Terima, kami tunggu di depan kantor desa."],
    "en": ["Unit two, report your position.", "The road to the market is closed, go round by the north.",
           "The ambulance has left, about ten minutes away.", "Copy that, we will wait at the village office."],
}


def _utterance(parts_in: list[np.ndarray], lead_ms: int, gap_ms: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    parts, words, pos = [np.zeros(lead_ms * 8, np.int16)], [], lead_ms * 8
    for clip in parts_in:
        parts.append(np.asarray(clip, np.int16))
        words.append((pos, pos + len(clip)))
        pos += len(clip)
        parts.append(np.zeros(gap_ms * 8, np.int16))
        pos += gap_ms * 8
    x = np.concatenate(parts)
    return x[: len(x) // 320 * 320], words


def espeak_speech(lang: str, lead_ms: int = LEAD_MS, gap_ms: int = GAP_MS) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """SENTENCES[lang] spoken by espeak-ng, at 8 kHz, as one utterance like clean_speech()."""
    if lang not in SENTENCES:
        raise UserError("no sentences for language %r (have: %s)" % (lang, ", ".join(sorted(SENTENCES))))
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise NotFoundError("espeak-ng is not installed", hint="sudo apt-get install espeak-ng (or `make sysdeps`)")
    clips = []
    with tempfile.TemporaryDirectory() as d:
        for i, text in enumerate(SENTENCES[lang]):
            path = "%s/%d.wav" % (d, i)
            subprocess.run([exe, "-v", lang, "-s", "150", "-w", path, text], check=True, capture_output=True)
            pcm, r = speech.read_wav(path)
            y = speech.resample(pcm, r, RATE)
            nz = np.nonzero(np.abs(y) > 64)[0]        # espeak pads with silence: trim it
            clips.append(y[nz[0]: nz[-1] + 1] if len(nz) else y)
    return _utterance(clips, lead_ms, gap_ms)


def street_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS street noise: pink + brown noise, rumble below 100 Hz, vehicles passing every few seconds."""
    f = np.fft.rfftfreq(n, 1 / RATE)
    f[0] = f[1]
    spec = (rng.standard_normal(len(f)) + 1j * rng.standard_normal(len(f)))
    shape = 1 / np.sqrt(f) + 8 / f + 30 * np.exp(-f / 60)        # pink, brown, rumble
    x = np.fft.irfft(spec * shape, n)
    t = np.arange(n) / RATE
    env = np.ones(n)
    for c in rng.uniform(0, n / RATE, max(1, int(n / RATE / 4))):    # a vehicle every ~4 s
        env += 2.5 * np.exp(-((t - c) / rng.uniform(0.8, 2.0)) ** 2)
    x *= env
    return x / np.sqrt(np.mean(x * x))


def motorbike_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS motorbikes: a single-cylinder engine (firing harmonics of a 25-45 Hz rate that wanders with
    the throttle) passing close every few seconds, over a low street bed."""
    t = np.arange(n) / RATE
    f0 = 32 + 6 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 6.3)) + np.cumsum(rng.standard_normal(n)) * 0.002
    ph = 2 * np.pi * np.cumsum(f0) / RATE
    x = np.zeros(n)
    for h in range(1, 40):
        x += np.sin(h * ph + rng.uniform(0, 6.3)) / h ** 0.7
    hiss = np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) * np.exp(-np.fft.rfftfreq(n, 1 / RATE) / 1500), n)
    x = x / np.std(x) + 0.5 * hiss / np.std(hiss)
    env = 0.3 + np.zeros(n)
    for c in rng.uniform(0, n / RATE, max(1, int(n / RATE / 3))):    # one passes every ~3 s
        env += 2.0 * np.exp(-((t - c) / rng.uniform(0.6, 1.5)) ** 2)
    x = x * env + 0.5 * street_noise(n, rng)
    return x / np.sqrt(np.mean(x * x))


def babble_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS crowd (a market): eight talkers at once, each the alsa clips reversed (speech-shaped, not
    understandable) at a random offset and level."""
    voice = np.concatenate([np.asarray(c, np.float64)[::-1] for _, c in speech.clips()])
    x = np.zeros(n)
    for _ in range(8):
        v = np.roll(voice, int(rng.integers(0, len(voice))))
        v = np.tile(v, n // len(v) + 1)[:n]
        x += v * rng.uniform(0.5, 1.0)
    return x / np.sqrt(np.mean(x * x))


NOISES = {"street": street_noise, "motorbike": motorbike_noise, "babble": babble_noise}


TDMA_S = 120 / 26 / 1000     # the GSM TDMA frame: 4.615 ms (217 Hz), the modem sends one 577 us slot in it
SLOT_S = 0.577e-3
BUZZ_TOP_HZ = 3600           # the mic's decimation filter passes up to ~0.45 fs: the buzz's harmonics above are gone


def tdma_buzz(n: int, offset_s: float = 0.0, ppm: float = 0.0) -> np.ndarray:
    """Unit-RMS 217 Hz buzz: a rectangular burst of 577 us every 4.615 ms, DC removed, as the microphone
    hears it: band-limited (its harmonics below BUZZ_TOP_HZ; the decimation filter removes the rest), so
    it can start at any instant. offset_s: where the TDMA frame starts against sample 0 (the modem's
    clock is the network's, not the I2S clock's); ppm: the I2S clock's error against the network's."""
    t = np.arange(n) / RATE * (1 + ppm * 1e-6) - offset_s
    d = SLOT_S / TDMA_S
    x = np.zeros(n)
    power = 0.0
    for h in range(1, int(BUZZ_TOP_HZ * TDMA_S) + 1):
        c = 2 / (np.pi * h) * np.sin(np.pi * h * d)          # the rectangle's Fourier series
        x += c * np.cos(2 * np.pi * h * t / TDMA_S - np.pi * h * d)
        power += c * c / 2
    return x / np.sqrt(power)


def realistic(seed: int = 1, speech_dbfs: float = -45.0, snr_db: float = 15.0, dc: int = 300,
              hum_dbfs: float = -50.0, buzz_dbfs: float = -52.0, noise: str = "street",
              utterance: tuple[np.ndarray, list[tuple[int, int]]] | None = None) -> dict[str, Any]:
    """The microphone's samples for the clean speech (or ``utterance``, as clean_speech() gives it), with
    NOISES[noise]: {'mic', 'clean', 'words', 'buzz' [(start, end)]}."""
    rng = np.random.default_rng(seed)
    clean, words = utterance if utterance is not None else clean_speech()
    n = len(clean)
    s = clean.astype(np.float64) * 10 ** ((speech_dbfs - active_level(clean)) / 20)
    lvl = 32768 * 10 ** (speech_dbfs / 20)
    if noise not in NOISES:
        raise UserError("unknown noise %r (have: %s)" % (noise, ", ".join(NOISES)))
    noise = NOISES[noise](n, rng) * lvl * 10 ** (-snr_db / 20)
    t = np.arange(n) / RATE
    a = 32768 * 10 ** (hum_dbfs / 20) * np.sqrt(2)
    ph = rng.uniform(0, 2 * np.pi, 3)
    hum = a * (np.sin(2 * np.pi * 50 * t + ph[0]) + 0.5 * np.sin(2 * np.pi * 100 * t + ph[1])
               + 0.3 * np.sin(2 * np.pi * 150 * t + ph[2]))
    buzz = np.zeros(n)
    spans = []
    for k in range(2):                       # the modem sends a burst twice: ~0.8 s each
        a0 = int(rng.uniform(0.15, 0.8) * n)
        b0 = min(n, a0 + 6400)
        spans.append((a0, b0))
    # Each burst starts at its own point of the TDMA frame against the I2S clock (a real modem's does: its
    # clock is the network's), at its own power (within +-3 dB: power control), and the two clocks differ by
    # up to 30 ppm. Drawn after everything else, so the rest of the material is what it was.
    ppm = rng.uniform(-30, 30)
    for a0, b0 in spans:
        unit = tdma_buzz(b0 - a0, offset_s=rng.uniform(0, TDMA_S), ppm=ppm)
        buzz[a0:b0] = unit * 32768 * 10 ** ((buzz_dbfs + rng.uniform(-3, 3)) / 20)
    mic = np.clip(np.rint(s + noise + hum + buzz + dc), -32768, 32767).astype(np.int16)
    return {"mic": mic, "clean": clean, "words": words, "buzz": spans}


def scaled(clean: np.ndarray, speech_dbfs: float, seed: int = 1, snr_db: float = 30.0) -> np.ndarray:
    """The clean speech at another level with faint room noise (a quiet or a loud talker)."""
    rng = np.random.default_rng(seed)
    s = clean.astype(np.float64) * 10 ** ((speech_dbfs - active_level(clean)) / 20)
    noise = rng.standard_normal(len(clean)) * 32768 * 10 ** ((speech_dbfs - snr_db) / 20)
    return np.clip(np.rint(s + noise), -32768, 32767).astype(np.int16)


def through_path(mic: np.ndarray, frontend: bool = True, denoise: bool = True, volume_dbfs: int = -20, link: str = "clean",
                 seed: int = 1, frame_ms: int = 20, timeout: float = 600, buzz: bool = True,
                 pt: int | None = None) -> dict[str, Any]:
    """``mic`` through the whole path under MicroPython: {'sent' (the front end's output), 'speaker',
    figures printed by the program (frontend_us_per_frame, ...)}. denoise=False: the front end without
    its noise suppressor (the level kernel's gate in its place); buzz=False: without its buzz canceller.
    pt: the codec's payload type (default CODEC)."""
    n = len(mic) // (frame_ms * 8) * (frame_ms * 8)
    model = linksim.named(link, seed=seed)
    arr = []
    for i in range(n // (frame_ms * 8)):
        a = model.sample(i * frame_ms)
        arr.append(-1 if a is None else int(np.floor(a)))
    with tempfile.TemporaryDirectory() as d:
        src, dst = d + "/in.bin", d + "/out.bin"
        with open(src, "wb") as f:
            f.write(struct.pack("<I", n) + np.asarray(mic[:n], "<i2").tobytes() + np.asarray(arr, "<i4").tobytes())
        fe = ("3" if not buzz else "1") if denoise else "2"
        r = rig.run([rig.program("voice_path"), src, dst, fe if frontend else "0", volume_dbfs, frame_ms,
                     CODEC if pt is None else pt], timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError("voice_path failed:\n%s%s" % (r.stdout, r.stderr))
        out = np.fromfile(dst, dtype="<i2")
    res: dict[str, Any] = {"sent": out[:n], "speaker": out[n:]}
    for line in r.stdout.splitlines():
        k, _, v = line.partition(" ")
        res[k] = float(v)
    return res


def pesq_at_speaker(clean: np.ndarray, speaker: np.ndarray) -> float | None:
    """PESQ-NB of what the speaker played against the clean speech (one burst: one delay to find)."""
    return audiopath.aligned_pesq(clean, speaker)


def idle_level(sent: np.ndarray, words: list[tuple[int, int]], skip_ms: int = 300) -> float:
    """dBFS of the front end's output between words, from ``skip_ms`` after a word (past the gate's
    hangover) to the next word."""
    segs = [sent[a + skip_ms * 8: b] for (_, a), (b, _) in zip(words, words[1:]) if b > a + skip_ms * 8]
    return dbfs(np.concatenate(segs))
