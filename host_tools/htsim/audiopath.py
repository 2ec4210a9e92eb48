"""Real speech through the whole voice path, on simulated time.

    speech clips -> Transmitter (encoder + packetizer) -> link model (loss, LTE delay) ->
    Receiver (jitter buffer -> decoder -> concealment) on its playout clock -> 8 kHz int16

Each speech clip is one talk burst (one PTT press), bursts ``gap_ms`` apart, so the receiver's
per-burst delay policy gets to learn. The firmware objects are the real ones (ht.voice.transceiver), run here
on CPython. ``run()`` returns the input and the time-aligned output plus statistics; the demo, the
benchmark and the tests all call it.
"""
from __future__ import annotations

import math
import os
from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ht.voice import codecs, frame, transceiver as voice
from ht.voice.jitter import seq_diff
from htsim import linksim, speech

TCP_IPV4_BYTES = 40  # IPv4 20 + TCP 20 (no options) per packet
try:  # the firmware's own topic scheme (docs/TOPICS.md): ht/<fleet>/tg/<talkgroup>/v/<unit>
    from ht.radio import topics as _topics
    DEFAULT_TOPIC = _topics.voice("bdg", 101, 4242).decode()
except (ImportError, AttributeError):
    DEFAULT_TOPIC = "ht/bdg/tg/101/v/4242"


def mqtt_publish_overhead(topic: str, payload_len: int) -> int:
    """Bytes an MQTT 3.1.1 QoS 0 PUBLISH adds around a payload: fixed header (type byte and the
    variable-length 'remaining length') plus the length-prefixed topic."""
    remaining = 2 + len(topic.encode()) + payload_len
    rl = 1
    while remaining >= 128 ** rl:
        rl += 1
    return 1 + rl + 2 + len(topic.encode())


def wire_bytes_per_minute(pt: int = codecs.PT_ADPCM, frame_ms: int = 20, tagged: bool = True,
                          topic: str = DEFAULT_TOPIC) -> int:
    """Bytes on the wire for one minute of talk: voice frame + MQTT + TCP + IPv4 per packet."""
    n = frame.packet_len(codecs.get(pt), frame_ms, tagged)
    per_packet = n + mqtt_publish_overhead(topic, n) + TCP_IPV4_BYTES
    return per_packet * (60000 // frame_ms)


def run(link: str | linksim.Model = "loss5", seed: int = 1, pt: int = codecs.PT_ADPCM, frame_ms: int = 20,
        key: bytes = b"demo-key", clips: Sequence[np.ndarray] | None = None, gap_ms: int = 600,
        rx_options: dict[str, Any] | None = None, wav: str | os.PathLike[str] | None = None,
        ref_wav: str | os.PathLike[str] | None = None, score: bool = True) -> dict[str, Any]:
    """Send `clips` (default: the alsa speech, one burst per clip) through the path.

    link: a linksim model object or a name for linksim.named(). Returns a dict with 'ref' and 'out'
    (aligned int16 arrays of equal length), 'rx' (receiver statistics), 'link' counters, 'frames',
    'bitrate_kbps' (voice frames only), 'burst_start_ms' (per burst: first frame sent -> first sound) and
    'pesq' (None if the pesq package is missing, or with score=False: PESQ is meant for 8-20 s of speech, and
    the pesq library crashed on minutes of it; score such runs in pieces).
    """
    if clips is None:
        clips = [pcm for _, pcm in speech.clips()]
    model = linksim.named(link, seed=seed) if isinstance(link, str) else link
    tx = voice.Transmitter(101, 4242, pt, frame_ms, key=key, seq=(seed * 7919) & 0xFFFF)
    rx = voice.Receiver(key=key, frame_ms=20, **(rx_options or {}))
    n = frame_ms * 8

    # Transmit: every burst's frames with their send times, and where each burst starts.
    packets = []   # (arrival_ms, bytes)
    starts = []    # (first seq, clip length)
    sent_at = []   # send time of each burst's first frame (ms)
    t = 0
    sent_bytes = 0
    sent = 0
    buf = np.zeros(n, dtype=np.int16)
    for clip in clips:
        clip = np.asarray(clip, dtype=np.int16)
        nfr = max(1, math.ceil(len(clip) / n))
        starts.append((tx.seq, len(clip)))
        sent_at.append(t)
        tx.begin()
        for i in range(nfr):
            buf[:] = 0
            part = clip[i * n:(i + 1) * n]
            buf[:len(part)] = part
            pkt = bytes(tx.encode(_as_array(buf), last=(i == nfr - 1)))
            sent += 1
            sent_bytes += len(pkt)
            arr = model.sample(t)
            if arr is not None:
                packets.append((arr, pkt))
            t += frame_ms
        t += gap_ms
    end_ms = t + 1000
    packets.sort(key=lambda p: p[0])

    # Receive on the playout clock: every 20 ms push what has arrived, pull one period.
    period = rx.period
    out = np.zeros(int(end_ms / 20 + 1) * period, dtype=np.int16)
    pcm = array("h", bytes(2 * period))
    bursts = []    # (output sample where the burst's audio starts, its first played seq)
    j = 0
    seen = 0
    now = 0
    pos = 0
    while now < end_ms:
        while j < len(packets) and packets[j][0] <= now:
            rx.push(packets[j][1], int(math.floor(packets[j][0])))
            j += 1
        rx.pull(now, pcm)
        out[pos:pos + period] = pcm
        if rx.jb.bursts != seen:
            seen = rx.jb.bursts
            bursts.append((rx.burst_at, rx.burst_seq))
        pos += period
        now += 20

    ref, deg = _align(clips, starts, bursts, out, n)
    # Each burst's first sound: its playout start (the receiver's burst_at, in output samples at 8 kHz) minus
    # when its first frame was sent (the link's delay plus the jitter buffer's depth; framing not counted).
    first = []
    for at, seq in bursts:
        for k, (s0, ln) in enumerate(starts):
            if 0 <= seq_diff(seq, s0) < max(1, math.ceil(ln / n)):
                first.append(at / 8.0 - sent_at[k])
                break
    talk_s = sent * frame_ms / 1000.0
    res = {
        "ref": ref, "out": deg, "raw_out": out[:pos],
        "rx": rx.stats(), "frames": sent, "burst_start_ms": first,
        "link": {"sent": model.sent, "dropped": model.dropped},
        "bitrate_kbps": sent_bytes * 8 / talk_s / 1000.0,
        "packet_bytes": tx.length,
        "wire_bytes_per_minute": wire_bytes_per_minute(pt, frame_ms, key is not None),
        "pesq": pesq_nb(ref, deg) if score else None,
    }
    if wav:
        speech.write_wav(wav, deg)
    if ref_wav:
        speech.write_wav(ref_wav, ref)
    return res


def _as_array(buf):
    return array("h", buf.astype("<i2").tobytes())


def _align(clips, starts, bursts, out, n):
    # Match each received burst to the clip it came from by its first played sequence number
    # and cut the output where that clip's first sample plays (burst_at already includes the
    # concealer's 3.75 ms look-back delay). A burst that never played stays silent.
    ref = np.concatenate([np.asarray(c, dtype=np.int16) for c in clips])
    deg = np.zeros_like(ref)
    o = 0
    for (seq0, length) in starts:
        for at, seq in bursts:
            k = (seq - seq0) & 0xFFFF
            if k * n < length:
                a = max(at - k * n, 0)
                seg = out[a:a + length]
                deg[o:o + len(seg)] = seg
                break
        o += length
    return ref, deg


def pesq_nb(ref: ArrayLike, deg: ArrayLike) -> float | None:
    try:
        from pesq import pesq
    except ImportError:
        return None
    try:
        return float(pesq(8000, np.asarray(ref, dtype=np.float64), np.asarray(deg, dtype=np.float64), "nb"))
    except Exception:  # pesq raises on silence-only input ("No utterances detected")
        return None


def aligned_pesq(ref: ArrayLike, deg: bytes | ArrayLike, step: int = 4) -> float | None:
    """PESQ-NB of what a listener's speaker played (``deg``: int16 samples or their little-endian bytes)
    against the talker's speech ``ref``: the burst (plus concealment at its edges) is found in the
    reference by cross-correlation over the first 0.5 s of lag, ``step`` samples at a time."""
    if isinstance(deg, (bytes, bytearray, memoryview)):
        deg = np.frombuffer(deg, dtype="<i2")
    deg = np.asarray(deg).astype(np.float64)
    ref = np.asarray(ref).astype(np.float64)
    n = min(len(ref), len(deg))
    best, lag = -1.0, 0
    for k in range(0, max(1, min(4000, len(deg) - 8000)), step):
        c = float(np.dot(ref[: n - k][:16000], deg[k: n][:16000]))
        if c > best:
            best, lag = c, k
    m = min(len(ref), len(deg) - lag)
    return pesq_nb(ref[:m], deg[lag: lag + m])


def find_lag(ref: np.ndarray, deg: np.ndarray) -> int:
    """Where ``ref`` starts inside ``deg`` (samples; negative when deg starts inside ref), by FFT
    cross-correlation over the whole of both."""
    n = len(ref) + len(deg)
    size = 1 << (n - 1).bit_length()
    x = np.fft.irfft(np.fft.rfft(deg, size) * np.conj(np.fft.rfft(ref, size)), size)
    k = int(np.argmax(x))
    return k if k < size - len(ref) else k - size


def aligned_correlation(ref: ArrayLike, deg: bytes | ArrayLike) -> tuple[float, int]:
    """Normalised correlation (Pearson, 1.0 = the same waveform) of what a listener heard (``deg``: int16
    samples or little-endian bytes; silence before and after is fine) with the talker's ``ref``, over the part
    of ``ref`` the listener heard, after aligning the two. -> (correlation, lag in samples)."""
    if isinstance(deg, (bytes, bytearray, memoryview)):
        deg = np.frombuffer(deg, dtype="<i2")
    deg = np.asarray(deg, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if len(deg) == 0 or len(ref) == 0:
        return 0.0, 0
    lag = find_lag(ref, deg)
    r0, d0 = (0, lag) if lag >= 0 else (-lag, 0)
    m = min(len(ref) - r0, len(deg) - d0)
    if m <= 0:
        return 0.0, lag
    a, b = ref[r0:r0 + m], deg[d0:d0 + m]
    a = a - a.mean()
    b = b - b.mean()
    den = float(np.sqrt(np.dot(a, a) * np.dot(b, b)))
    return (float(np.dot(a, b)) / den if den else 0.0), lag


def blockwise_correlation(ref: ArrayLike, deg: bytes | ArrayLike, block: int = 2000, search: int = 2400,
                          quiet: float = 0.1) -> tuple[float, int]:
    """Waveform fidelity of what a listener played against the talker's ``ref`` when the playout clock may have
    shifted inside the burst (a jitter buffer that concealed a late frame plays everything after it later):
    ``ref`` is cut in blocks of ``block`` samples, each block is found in ``deg`` within ``search`` samples of
    where the whole aligned, and its Pearson correlation taken there; the result is the mean over the blocks
    weighted by their energy (blocks quieter than ``quiet`` x the loudest block's RMS are skipped: silence has
    no waveform to match). -> (correlation, blocks used)."""
    if isinstance(deg, (bytes, bytearray, memoryview)):
        deg = np.frombuffer(deg, dtype="<i2")
    deg = np.asarray(deg, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if len(deg) < block or len(ref) < block:
        return 0.0, 0
    lag0 = find_lag(ref, deg)
    nb = len(ref) // block
    rms = [float(np.sqrt(np.mean(ref[i * block:(i + 1) * block] ** 2))) for i in range(nb)]
    heard = [rms[i] for i in range(nb) if 0 <= i * block + lag0 and i * block + lag0 + block <= len(deg)]
    loud = max(heard or [0.0]) or 1.0
    num = den = 0.0
    used = 0
    for i in range(nb):
        at = i * block + lag0
        if rms[i] < quiet * loud or at < 0 or at + block > len(deg):
            continue        # silence, or a part of ref the listener did not hear
        a = ref[i * block:(i + 1) * block]
        a = a - a.mean()
        lo = max(0, i * block + lag0 - search)
        hi = min(len(deg), i * block + lag0 + search + block)
        win = deg[lo:hi]
        if len(win) < block:
            continue
        # correlation at every offset in the window, normalised by the window's local energy
        c = np.correlate(win - win.mean(), a, "valid")
        w2 = np.convolve((win - win.mean()) ** 2, np.ones(block), "valid")
        r = c / np.sqrt(np.maximum(w2, 1e-9) * float(np.dot(a, a)))
        best = float(np.max(r))
        num += best * rms[i] ** 2
        den += rms[i] ** 2
        used += 1
    return (num / den if den else 0.0), used


def clean_pesq(ref: ArrayLike, frame_ms: int = 40, key: bytes | None = None, step: int = 4) -> float | None:
    """PESQ of ``ref`` over a perfect link (nothing lost or late): the radio's own Transmitter and Receiver,
    every frame on time — the figure a real link is compared with."""
    n = frame_ms * 8
    tx = voice.Transmitter(1, 1, codecs.PT_ADPCM, frame_ms, key=key)
    rx = voice.Receiver(key=key, frame_ms=20)
    pcm = np.zeros(((len(ref) + n - 1) // n) * n, dtype=np.int16)
    pcm[: len(ref)] = ref
    frames = [bytes(tx.encode(array("h", pcm[i: i + n].tobytes()), last=i + n >= len(pcm)))
              for i in range(0, len(pcm), n)]
    out, buf = bytearray(), array("h", bytes(320))
    for t in range(0, len(frames) * frame_ms + 600, 20):
        if t % frame_ms == 0 and t // frame_ms < len(frames):
            rx.push(frames[t // frame_ms], t)
        rx.pull(t, buf)
        out += buf.tobytes()
    return aligned_pesq(ref, bytes(out), step)


# Heap held by one Transmitter + Receiver and bytes allocated per frame in steady state, measured
# under the real MicroPython interpreter (gc.mem_alloc deltas with the collector off). Used by
# bench/bench_audio.py and tests/sim/test_audio_path.py. Prints one "name value" line per figure.
MPY_HEAP_SCRIPT = """
import gc
from array import array
from ht.voice import transceiver as voice, codecs

def measure(pt, frame_ms, key, loss_every, frames):
    gc.collect()
    a0 = gc.mem_alloc()
    tx = voice.Transmitter(101, 4242, pt, frame_ms, key=key)
    rx = voice.Receiver(key=key)
    gc.collect()
    held = gc.mem_alloc() - a0
    n = frame_ms * 8
    pcm = array('h', bytes(2 * n))
    for i in range(n):
        pcm[i] = ((i * 37) % 200 - 100) * 60
    out = array('h', bytes(320))
    now = 0
    per = frame_ms // 20
    gc.disable()
    m0 = 0
    for k in range(frames + 50):
        if k == 50:
            m0 = gc.mem_alloc()
        p = tx.encode(pcm, False)
        if loss_every == 0 or k % loss_every != 7:
            rx.push(p, now + 50)
        for j in range(per):
            rx.pull(now + 20 * j, out)
        now += frame_ms
    m1 = gc.mem_alloc()
    gc.enable()
    played = rx.jb.stat.played
    return held, (m1 - m0) / frames, played

h, a, p = measure(codecs.PT_ADPCM, 20, None, 0, 200)
print("heap_bytes_txrx", h)
print("alloc_bytes_per_frame", a)
print("played", p)
h, a, p = measure(codecs.PT_ADPCM, 20, None, 20, 200)
print("alloc_bytes_per_frame_loss5", a)
h, a, p = measure(codecs.PT_ADPCM, 40, None, 0, 100)
print("alloc_bytes_per_frame_40ms", a)
h, a, p = measure(codecs.PT_ADPCM, 20, b"k", 0, 100)
print("heap_bytes_txrx_tagged", h)
print("alloc_bytes_per_frame_tagged", a)

import time
tx = voice.Transmitter(101, 4242, codecs.PT_ADPCM, 20)
rx = voice.Receiver()
pcm = array('h', bytes(320))
out = array('h', bytes(320))
t0 = time.ticks_us()
for k in range(1000):
    rx.push(tx.encode(pcm, False), 20 * k + 50)
    rx.pull(20 * k, out)
print("txrx_us_per_frame", time.ticks_diff(time.ticks_us(), t0) / 1000)

# ADPCM encoder per 20 ms frame of speech-like audio: the trellis (default) and the reference.
from ht.voice import adpcm_pure as adpcm, adpcmt_pure as adpcmt
try:
    from ht.voice import adpcm_viper as ref_k, adpcmt_viper as tr_k
except ImportError:
    ref_k, tr_k = adpcm, adpcmt
for i in range(160):
    pcm[i] = ((i * 37) % 57 - 28) * 300 + ((i * 13) % 23) * 40
enc = bytearray(80)
st = array('h', [0, 0])
for name, k, reps in (("adpcm_trellis_us_per_frame", tr_k, 200), ("adpcm_ref_us_per_frame", ref_k, 2000)):
    t0 = time.ticks_us()
    for r in range(reps):
        k.encode(pcm, 160, enc, st)
    print(name, time.ticks_diff(time.ticks_us(), t0) / reps)

# A lost frame after speech: pitch search + synthesis (the worst case, at loss onset).
from ht.voice import plc
c = plc.Concealer()
for i in range(160):
    pcm[i] = ((i * 37) % 57 - 28) * 300
for k in range(4):
    c.good(pcm, 160)
t0 = time.ticks_us()
for k in range(200):
    c.erased = 0
    c.bad(out, 160)
print("plc_us_per_lost_frame", time.ticks_diff(time.ticks_us(), t0) / 200)
"""


def mpy_heap_figures(micropython: str | os.PathLike[str], firmware_dir: str | os.PathLike[str] | None = None,
                     timeout: float = 300) -> dict[str, float]:
    """Run MPY_HEAP_SCRIPT under `micropython`; returns {name: number}."""
    import os
    import subprocess

    from htctl.firmware import FIRMWARE_DIR

    # firmware/ alone on the path (no frozen asyncio): the heap figures are the codec's, not the app's.
    env = dict(os.environ, MICROPYPATH=str(firmware_dir or FIRMWARE_DIR))
    r = subprocess.run([str(micropython), "-X", "heapsize=4M", "-c", MPY_HEAP_SCRIPT], capture_output=True,
                       text=True, timeout=timeout, env=env)
    if r.returncode != 0:
        raise RuntimeError("MicroPython heap script failed:\n%s%s" % (r.stdout, r.stderr))
    out = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition(" ")
        out[k] = float(v)
    return out
