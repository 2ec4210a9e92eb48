"""The Command Center desk's voice (issue 10, items 2 and 5; docs/DESK.md).

recorder_bytes_per_talk_minute: what the recorder keeps per minute of talk, files plus its sqlite index,
measured on the recorder itself fed with the firmware's signed frames of real speech in bursts of 2-8 s (WAV
PCM16 at 8 kHz is 960 000 bytes of samples per minute; the header per burst and the row per burst come on top).

console_m2e_ms_p95 / radio_to_console_m2e_ms_p95: see htcc.desk.m2e (a real Chromium with a fake microphone
playing real speech, the console server with the desk engine, real Mosquitto with the floor arbiters, and a
firmware radio under MicroPython behind the simulated LTE link proxy, htsim.fleet.proxy + htsim.linksim).
"""
import pathlib
import random
import tempfile
from array import array

UNITS = {"recorder_bytes_per_talk_minute": "bytes", "recorder_wav_bytes_per_talk_minute": "bytes",
         "recorder_db_bytes_per_burst": "bytes", "console_m2e_ms_p50": "ms", "console_m2e_ms_p95": "ms",
         "radio_to_console_m2e_ms_p50": "ms", "radio_to_console_m2e_ms_p95": "ms", "console_m2e_bursts": "bursts",
         "radio_to_console_m2e_bursts": "bursts"}
GOALS = {"console_m2e_ms_p95": "<= 250", "radio_to_console_m2e_ms_p95": "<= 250"}


def recorder_bytes(n_bursts=60, seed=7):
    from ht.radio import topics as T
    from ht.radio.guard import tg_num, unit_num
    from ht.voice import codecs
    from ht.voice.transceiver import Transmitter
    from htcc.desk.recorder import Recorder
    from htsim import speech

    rng = random.Random(seed)
    pcm = speech.load()
    key = b"bench-key"
    clock = [0.0]
    with tempfile.TemporaryDirectory() as d:
        rec = Recorder(pathlib.Path(d) / "rec", "kota", key, clock=lambda: clock[0])
        rec.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db0 = _db_size(rec)
        txs = {}
        for k in range(n_bursts):
            unit = "u%d" % (k % 12)
            tg = str(1 + k % 4)
            tx = txs.get((unit, tg))
            if tx is None:
                tx = txs[(unit, tg)] = Transmitter(tg_num(tg), unit_num(unit), codecs.PT_ADPCM, 20, key)
            n = rng.randint(100, 400)          # 2-8 s
            o = rng.randint(0, len(pcm) - n * 160 - 1)
            tx.begin()
            topic = T.voice("kota", tg, unit)
            for i in range(n):
                clock[0] += 0.02
                frame = array("h", pcm[o + i * 160:o + (i + 1) * 160].astype("<i2").tobytes())
                rec.on_message(topic, bytes(tx.encode(frame, i == n - 1)))
        rec.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        use = rec.disk_use()
        db = _db_size(rec) - db0
        minutes = use["duration_ms"] / 60000
        rec.close()
    return {"recorder_bytes_per_talk_minute": round((use["bytes"] + db) / minutes),
            "recorder_wav_bytes_per_talk_minute": round(use["bytes"] / minutes),
            "recorder_db_bytes_per_burst": round(db / n_bursts)}


def _db_size(rec):
    p = rec.db_path
    return sum(f.stat().st_size for f in p.parent.glob(p.name + "*") if f.exists())


def run():
    out = recorder_bytes()
    try:
        from htcc.desk import m2e
    except ImportError as e:      # the console app is not in this tree yet
        print("desk m2e: skipped (%s)" % e)
        return out
    out.update(m2e.run())
    return out
