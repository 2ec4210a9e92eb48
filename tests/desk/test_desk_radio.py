"""The desk's voice against a REAL firmware radio under MicroPython unix, through REAL Mosquitto with the fleet's
ACL and the floor arbiters: the radio talks -> the recorder files its burst (hash and length match an independent
decode of the frames the broker carried, and the radio's own count of frames it sent); the desk talks at Command
Center priority -> its frames reach the broker in order as one burst, the radio plays the speech (correlation with
the source >= 0.9) and shows the Command Center as the talker."""
import asyncio
import hashlib

import numpy as np
import pytest

from fixtures.console import decode_frames
from fixtures.mosquitto import poll
from hal import netstream
from ht.mqtt.robust import RobustClient
from ht.radio import topics as T
from ht.voice import frame as F
from htcc.desk.directory import static
from htcc.desk.recorder import wav_header
from htcc.desk.service import DeskService
from htctl.mosquitto import fleet_rights
from htsim import audiopath, speech
from htsim.radioproc import RadioProcess

pytestmark = [pytest.mark.sim, pytest.mark.mpy]
FLEET = "kota"
KEY = b"fleet-voice-key"
PEOPLE = {"a": {"holder": "Budi Santoso", "opd": "BPBD"}, "cc": {"holder": "Command Center", "opd": "Diskominfo"}}


def broker(mosquitto, arbiter):
    users = {"a": "pw-a", "cc": "pw-cc", "obs": "pw-obs", "arb-a": "pw-arb-a", "arb-b": "pw-arb-b"}
    m = mosquitto(users=users, acl=fleet_rights(FLEET, {"a": ["1"]}, command_center=("cc", "obs")))
    arbiter(m, FLEET, ("1", "all"), key=KEY)     # floor messages and records carry the fleet key's tag
    return m




async def observer(m, got):
    c = RobustClient(netstream.opener(m.host, m.port), "obs", user="obs", password="pw-obs", keepalive=10)
    c.on_message = lambda t, p, r: got.append((bytes(t).decode(), bytes(p)))
    await c.subscribe(T.talkgroup_sub(FLEET, "1", T.VOICE), 0)
    c.start()
    await c.wait_online(10000)
    return c


async def speak(engine, owner, pcm, chunk_ms=20):
    """A microphone: chunk_ms of samples every chunk_ms on the wall clock (deadlines, not sleeps that add up)."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    step = chunk_ms * 16
    for k, i in enumerate(range(0, len(pcm), step)):
        engine.mic(owner, pcm[i:i + step])
        await asyncio.sleep(max(0.0, t0 + (k + 1) * chunk_ms / 1000 - loop.time()))


async def scenario(m, tmp_path, clip, ref):
    got = []
    obs = await observer(m, got)
    events = []
    desk = DeskService(FLEET, KEY, ["1"], tmp_path / "rec", directory=static(PEOPLE))
    desk.engine.on_event = lambda k, d: events.append((k, d))
    await desk.start(host=m.host, port=m.port, user="cc", password="pw-cc")
    await desk.wait_online(10000)
    rp = RadioProcess(tmp_path / "radio", FLEET, KEY,
                      [{"unit": "a", "tgs": ["1"], "host": m.host, "port": m.port, "password": "pw-a"}],
                      clips={"speech": str(clip)},
                      script=[[500, "a", "talk", {"clip": "speech"}], [3000, "a", "release", {}]])
    res = {}
    try:
        await rp.start()
        assert await rp.ready(90) == []
        rp.go()
        # 1. the radio talks: the desk hears it live and the recorder files it
        await rp.until(lambda: rp.when("a", "tx_stop"), 60, "a's burst")
        assert await poll(lambda: desk.recorder.saved >= 1, 30), desk.recorder.status()
        res["rec"] = desk.recorder.search(unit="a")
        res["a_packets"] = [p for t, p in got if t.endswith("/v/a")]
        res["events"] = list(events)
        # 2. the desk talks: press, wait for the permit, then the microphone in real time
        assert desk.engine.press("1", "op1") is None
        assert await poll(lambda: desk.engine.talking, 20), events
        pcm = ref.astype("<i2").tobytes()
        await speak(desk.engine, "op1", pcm)
        desk.engine.release("op1")
        await rp.until(lambda: rp.when("a", "free", after=rp.when("a", "talker", lambda d: d["unit"] == "cc")),
                       30, "the floor free after the desk")
        res["cues"] = [d["cue"] for k, d in events if k == "talk.cue"]
        res["a_talker"] = [d for _, d in rp.all("a", "talker")]
        res["cc_packets"] = [p for t, p in got if t.endswith("/v/cc")]
    finally:
        stats = await rp.finish()
        await desk.stop()
        await obs.stop()
    res["stats"] = stats
    res["heard_a"] = rp.heard("a")
    return res


def test_desk_talks_and_records_with_a_micropython_radio(own_machines, mosquitto, arbiter, tmp_path):
    m = broker(mosquitto, arbiter)
    ref_all = speech.load()
    clip = tmp_path / "clip.raw"
    clip.write_bytes(ref_all[: 8000 * 4].astype("<i2").tobytes())
    ref = ref_all[8000 * 4: 8000 * 7]       # the desk says something else than the radio
    res = asyncio.run(scenario(m, tmp_path, clip, ref))

    # -- the recorder: one file for a's burst, equal to the frames the broker carried, byte for byte
    rec = res["rec"]
    assert len(rec) == 1, rec
    r = rec[0]
    sent = res["stats"]["a"]["voice"]["tx_frames"]
    pk = res["a_packets"]
    assert len(pk) == sent, (len(pk), sent)
    assert r["frames"] == sent and r["lost_frames"] == 0
    assert r["duration_ms"] == sent * 20
    pcm = decode_frames(pk, KEY)
    data = wav_header(len(pcm)) + pcm
    body = (tmp_path / "rec" / r["path"]).read_bytes()
    assert body == data and r["sha256"] == hashlib.sha256(body).hexdigest()
    assert r["talkgroup"] == "1" and r["holder"] == "Budi Santoso" and r["opd"] == "BPBD" and r["emergency"] == 0
    corr, _ = audiopath.aligned_correlation(np.frombuffer(open(clip, "rb").read(), "<i2")[:len(pcm) // 2],
                                            np.frombuffer(body[44:], "<i2"))
    assert corr >= 0.9, corr
    # the desk heard it live and named the talker
    talkers = [d for k, d in res["events"] if k == "listen.talker"]
    assert talkers and talkers[0]["unit"] == "a" and talkers[0]["holder"] == "Budi Santoso"
    assert any(k == "listen.start" and d["unit"] == "a" for k, d in res["events"])

    # -- the desk's burst: permit, one burst in order, the radio plays the speech and shows the Command Center
    assert res["cues"][0] == "permit" and "roger" in res["cues"], res["cues"]
    cc = res["cc_packets"]
    f = F.Frame()
    seqs, flags, bursts = [], [], set()
    for p in cc:
        assert F.parse(p, f, F.as_key(KEY)) == F.OK
        seqs.append(f.seq)
        flags.append(f.flags)
        bursts.add(f.burst)
    assert len(cc) >= len(ref) // 160 and len(bursts) == 1
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:])), "frames out of order"
    assert flags[0] & F.F_START and flags[-1] & F.F_END
    assert any(d["unit"] == "cc" and d["prio"] == 2 for d in res["a_talker"])
    g = res["stats"]["a"]["voice"]
    assert g["replayed"] == 0 and g["spoofed"] == 0 and g["accepted"] >= len(cc)
    corr, blocks = audiopath.blockwise_correlation(ref, res["heard_a"])
    print("desk -> radio correlation", round(corr, 3), "blocks", blocks, "frames", len(cc))
    assert corr >= 0.9, corr
