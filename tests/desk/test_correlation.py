"""The waveform check the desk tests use (htsim.audiopath.blockwise_correlation) tells the speech that was sent
from other speech, from noise and from a garbled copy, and forgives what a jitter buffer does (a shift mid-burst,
leading silence)."""
import numpy as np

from htsim import audiopath, speech


def test_blockwise_correlation_tells_right_from_wrong():
    pcm = speech.load()
    ref = pcm[:8000 * 3].astype(np.int16)
    # what a listener plays: silence first, the speech, and 100 ms of concealment-like silence inserted mid-burst
    heard = np.concatenate([np.zeros(1234, np.int16), ref[:12000], np.zeros(800, np.int16), ref[12000:]])
    c, n = audiopath.blockwise_correlation(ref, heard)
    assert c > 0.97 and n >= 8
    other = pcm[8000 * 5:8000 * 8].astype(np.int16)
    assert audiopath.blockwise_correlation(ref, other)[0] < 0.6
    noise = np.random.default_rng(3).normal(0, 3000, len(ref)).astype(np.int16)
    assert audiopath.blockwise_correlation(ref, noise)[0] < 0.2
    garbled = ref.copy()
    garbled[::2] = 0                                   # every other sample lost: not the waveform sent
    assert audiopath.blockwise_correlation(ref, garbled)[0] < 0.9
    assert audiopath.blockwise_correlation(ref, np.zeros(100, np.int16)) == (0.0, 0)
