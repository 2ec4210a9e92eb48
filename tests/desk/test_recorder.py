"""The recorder on its own: bursts made by the firmware's Transmitter (signed frames) go in as the broker would
deliver them; files, rows, search, keep and retention, lost frames, bursts that never end, and a full disk
(the kernel's own ENOSPC from /dev/full, and the recorder's size cap)."""
import hashlib
import logging
import wave
from array import array

import numpy as np
import pytest

from ht.radio import topics as T
from ht.radio.guard import tg_num, unit_num
from ht.voice import codecs
from ht.voice.frame import HDR_LEN
from ht.voice.transceiver import Transmitter
from htcc.desk.directory import static
from htcc.desk.recorder import Recorder
from htsim import audiopath, speech

KEY = b"fleet-voice-key"
PEOPLE = static({"7": {"holder": "Sari", "opd": "Dinkes"}, "9": {"holder": "Agus", "opd": "BPBD"}})


class Clock:
    def __init__(self):
        self.t = 1000.0
        self.wall = 1_765_000_000_000     # 2025-12-06 05:46:40 UTC

    def mono(self):
        return self.t

    def ms(self):
        return self.wall + int((self.t - 1000.0) * 1000)


def burst(unit, tg, pcm, key=KEY, emergency=False, tx=None):
    """-> the voice packets of one PTT press, as bytes (the Transmitter reuses its buffer)."""
    tx = tx or Transmitter(tg_num(tg), unit_num(unit), codecs.PT_ADPCM, 20, key)
    tx.begin(emergency=emergency)
    n = len(pcm) // 160
    out = []
    for i in range(n):
        out.append(bytes(tx.encode(array("h", pcm[i * 160:(i + 1) * 160].astype("<i2").tobytes()), i == n - 1)))
    return out


def feed(rec, clk, unit, tg, packets, drop=()):
    topic = T.voice("kota", tg, unit)
    for i, p in enumerate(packets):
        clk.t += 0.02
        if i not in drop:
            rec.on_message(topic, p, False)


@pytest.fixture
def made(tmp_path):
    clk = Clock()
    recs = []

    def make(**kw):
        r = Recorder(tmp_path / "rec", "kota", KEY, directory=PEOPLE, clock=clk.mono, wall_ms=clk.ms, **kw)
        recs.append(r)
        return r
    yield make, clk, tmp_path / "rec"
    for r in recs:
        r.close()


def wav_pcm(path):
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        return np.frombuffer(w.readframes(w.getnframes()), "<i2")


def test_one_file_and_row_per_burst(made):
    make, clk, folder = made
    rec = make()
    got = []
    rec.on_recording = got.append
    ref = speech.load()[:8000 * 2]
    feed(rec, clk, "7", "1", burst("7", "1", ref))
    feed(rec, clk, "9", "2", burst("9", "2", ref[:8000], emergency=True))
    assert rec.saved == 2 and [g["unit"] for g in got] == ["7", "9"]
    r7, = rec.search(unit="7")
    body = (folder / r7["path"]).read_bytes()
    assert r7["sha256"] == hashlib.sha256(body).hexdigest() and r7["bytes"] == len(body)
    assert r7["duration_ms"] == 2000 and r7["frames"] == 100 and r7["lost_frames"] == 0
    assert (r7["talkgroup"], r7["holder"], r7["opd"], r7["emergency"]) == ("1", "Sari", "Dinkes", 0)
    assert r7["start_wib"].endswith(" WIB") and r7["start_wib"].startswith("2025-12-06 12:46")
    corr, _ = audiopath.aligned_correlation(ref, wav_pcm(folder / r7["path"]))
    assert corr > 0.95
    r9, = rec.search(opd="BPBD")
    assert r9["emergency"] == 1 and r9["duration_ms"] == 1000
    assert rec.search(emergency=True) == [r9]
    assert [r["id"] for r in rec.search()] == [r9["id"], r7["id"]]        # newest first
    assert rec.search(talkgroup="2") == [r9]
    assert rec.search(since_ms=r9["start_ms"]) == [r9] and rec.search(until_ms=r9["start_ms"]) == [r7]
    assert rec.disk_use()["files"] == 2 and rec.disk_use()["bytes"] == r7["bytes"] + r9["bytes"]
    # the rows outlive the process
    rec.close()
    again = make()
    assert [r["id"] for r in again.search()] == [r9["id"], r7["id"]]


def test_an_adpcme_burst_is_recorded_decoded(made):
    # PT 1 (DVI4 inside adaptive emphasis): the recorder decodes it through the codec registry like any
    # other, and what it writes is what the firmware's own decoder makes of the frames.
    make, clk, folder = made
    rec = make()
    ref = speech.load()[:8000 * 2]
    tx = Transmitter(tg_num("1"), unit_num("7"), codecs.PT_ADPCME, 20, KEY)
    packets = burst("7", "1", ref, tx=tx)
    assert all(p[1] >> 4 == codecs.PT_ADPCME for p in packets)
    feed(rec, clk, "7", "1", packets)
    r, = rec.search(unit="7")
    assert r["frames"] == 100 and r["lost_frames"] == 0
    got = wav_pcm(folder / r["path"])
    corr, _ = audiopath.aligned_correlation(ref, got)
    assert corr > 0.95
    c = codecs.get(codecs.PT_ADPCME)
    st = c.new_state()
    want = array("h", bytes(2 * 160 * len(packets)))
    for i, p in enumerate(packets):
        assert c.unpack_state(p, HDR_LEN, st)
        c.decode(memoryview(p)[HDR_LEN + 3:HDR_LEN + 83], 160, memoryview(want)[160 * i:], st)
    assert bytes(got) == want.tobytes()


def test_lost_frames_are_silence_of_their_length(made):
    make, clk, folder = made
    rec = make()
    ref = speech.load()[:8000]
    feed(rec, clk, "7", "1", burst("7", "1", ref), drop={10, 11, 30})
    r, = rec.search()
    assert r["duration_ms"] == 1000 and r["frames"] == 47 and r["lost_frames"] == 3
    pcm = wav_pcm(folder / r["path"])
    assert not pcm[1600:1920].any() and pcm[1920:2080].any()


def test_forged_and_replayed_frames_are_not_recorded(made):
    make, clk, folder = made
    rec = make()
    ref = speech.load()[:4000]
    feed(rec, clk, "7", "1", burst("7", "1", ref, key=b"wrong key"))            # bad tag
    feed(rec, clk, "9", "1", burst("7", "1", ref))                               # 7's frames on 9's topic
    assert rec.saved == 0 and rec.rejected == 50
    good = burst("7", "1", ref)
    feed(rec, clk, "7", "1", good)
    feed(rec, clk, "7", "1", good)                                               # the same burst again
    assert rec.saved == 1 and rec.rejected == 75


def test_a_burst_that_never_ends(made):
    make, clk, folder = made
    rec = make(max_burst_s=1.0, idle_ms=1500)
    ref = speech.load()[:8000 * 3]
    pk = burst("7", "1", ref)
    feed(rec, clk, "7", "1", pk[:-1])           # no END: the talker's link died mid-burst
    rows = sorted(rec.search(), key=lambda r: r["id"])
    assert [(r["duration_ms"], r["cut"]) for r in rows] == [(1000, 1), (1000, 1)]
    assert rec.status()["open"] == 1
    clk.t += 1.0
    rec.tick()
    assert rec.status()["open"] == 1            # 1 s of silence is not yet the end
    clk.t += 1.0
    rec.tick()
    rows = sorted(rec.search(), key=lambda r: r["id"])
    assert [(r["duration_ms"], r["cut"]) for r in rows] == [(1000, 1), (1000, 1), (980, 0)]


def test_keep_and_retention(made):
    make, clk, folder = made
    rec = make(retention_days=30)
    ref = speech.load()[:1600]
    feed(rec, clk, "7", "1", burst("7", "1", ref))
    feed(rec, clk, "9", "1", burst("9", "1", ref))
    a, b = sorted(rec.search(), key=lambda r: r["id"])
    assert rec.set_keep(a["id"], True) and not rec.set_keep(9999, True)
    assert rec.purge(clk.ms() + 29 * 86400 * 1000) == 0
    assert rec.purge(clk.ms() + 31 * 86400 * 1000) == 1
    assert [r["id"] for r in rec.search()] == [a["id"]]
    assert not (folder / b["path"]).exists() and (folder / a["path"]).exists()
    with pytest.raises(ValueError):
        rec.set_retention_days(0)
    rec.set_retention_days(365)
    assert rec.retention_days() == 365


def test_full_disk_keeps_what_was_written(made, caplog):
    make, clk, folder = made
    rec = make()
    ref = speech.load()[:4000]
    feed(rec, clk, "7", "1", burst("7", "1", ref))
    first, = rec.search()
    before = (folder / first["path"]).read_bytes()
    # The disk fills: every write now gets the kernel's own ENOSPC (/dev/full).
    rec._opener = lambda path, mode: open("/dev/full", mode)
    errors = []
    rec.on_error = errors.append
    tx9 = Transmitter(tg_num("1"), unit_num("9"), codecs.PT_ADPCM, 20, KEY)     # its sequence runs on
    with caplog.at_level(logging.ERROR, "htcc.recorder"):
        feed(rec, clk, "9", "1", burst("9", "1", ref, tx=tx9))
    assert rec.failed == 1 and errors and errors[0]["disk_full"]
    assert "disk penuh" in caplog.text and "disk full" in caplog.text
    assert rec.search() == [first] and (folder / first["path"]).read_bytes() == before
    assert not list(folder.rglob("*.part"))
    # Space again: the next burst is saved; the recorder never stopped.
    rec._opener = open
    feed(rec, clk, "9", "1", burst("9", "1", ref, tx=tx9))
    assert rec.saved == 2 and len(rec.search()) == 2


def test_size_cap_fails_like_a_full_disk(made):
    make, clk, folder = made
    ref = speech.load()[:8000]
    rec = make(max_bytes=20000)          # one 1 s burst is 16 044 bytes
    feed(rec, clk, "7", "1", burst("7", "1", ref))
    feed(rec, clk, "9", "1", burst("9", "1", ref))
    assert rec.saved == 1 and rec.failed == 1
    assert rec.last_error["disk_full"] and "max_bytes" in rec.last_error["message"]
    assert rec.status()["last_error"]["unit"] == "9"


def test_file_outside_the_folder_is_never_served(made):
    make, clk, folder = made
    rec = make()
    feed(rec, clk, "7", "1", burst("7", "1", speech.load()[:1600]))
    r, = rec.search()
    assert rec.file(r["id"]) == (folder / r["path"]).resolve()
    rec.db.execute("UPDATE recordings SET path = '../../etc/passwd' WHERE id = ?", (r["id"],))
    assert rec.file(r["id"]) is None and rec.file(12345) is None
