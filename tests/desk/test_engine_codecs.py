"""The desk engine hears every codec the firmware registers: signed voice frames of each payload type go in
as the broker would deliver them; the engine's guard accepts them and its listener (the radio's Receiver)
plays them back. And the desk can send the new one: its Transmitter codes with the payload type asked for."""
from array import array

import numpy as np
import pytest

from ht.compat import ticks_ms
from ht.radio import topics as T
from ht.radio.guard import tg_num, unit_num
from ht.voice import codecs, frame
from ht.voice.transceiver import Transmitter, VOICE
from htcc.desk.engine import DeskEngine
from htsim import audiopath, speech

KEY = b"fleet-voice-key"


@pytest.mark.parametrize("pt", [codecs.PT_ADPCM, codecs.PT_ADPCME, codecs.PT_ULAW])
def test_desk_listener_decodes_the_payload_type(pt):
    eng = DeskEngine("kota", KEY, ["1"])
    ref = speech.load()[4000:4000 + 1920]     # 12 frames: all fit the jitter buffer's slots at once
    tx = Transmitter(tg_num("1"), unit_num("7"), pt, 20, KEY)
    tx.begin()
    n = len(ref) // 160
    for i in range(n):
        p = bytes(tx.encode(array("h", ref[i * 160:(i + 1) * 160].astype("<i2").tobytes()), i == n - 1))
        assert p[1] >> 4 == pt
        eng.on_message(T.voice("kota", "1", "7"), p)
    assert eng.counts["rx_frames"] == n and eng.counts["rx_rejected"] == 0
    li, = eng.listeners.values()
    out = array("h", bytes(320))
    heard = array("h")
    now = ticks_ms()
    for k in range(n + 20):
        if li.rx.pull(now + 20 * k, out) == VOICE:
            heard.extend(out)
    assert len(heard) >= n * 160
    corr, _ = audiopath.aligned_correlation(ref, np.frombuffer(heard, dtype=np.int16))
    assert corr > 0.95


def test_desk_sends_adpcme_when_asked():
    sent = []
    eng = DeskEngine("kota", KEY, ["1"], pt=codecs.PT_ADPCME, publish=lambda *a: sent.append(a))
    p = bytes(eng.tx.encode(array("h", speech.load()[:160].astype("<i2").tobytes())))
    f = frame.Frame()
    assert frame.parse(p, f, frame.as_key(KEY)) == frame.OK and f.pt == codecs.PT_ADPCME
