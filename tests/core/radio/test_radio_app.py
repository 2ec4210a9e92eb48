# The radio application end to end on an in-memory broker, portable (CPython and MicroPython):
# three radios; one talks, the others hear it and see who talks; a second presser gets the busy tone;
# an emergency pre-empts; a roll call is answered by a PTT press; a radio that dies is marked offline.
# Real-broker versions: tests/e2e/test_radio_mosquitto.py.
import asyncio
import math
from array import array
from ht.config import Config
from ht.radio.app import Radio
from ht.radio import topics as T
from radiofake import FakeHAL, MemBroker, MemClient, sleep_ms, until


def tone_pcm(n, hz=440, amp=8000):
    return array("h", [int(amp * math.sin(2 * math.pi * hz * i / 8000)) for i in range(n)])


def cfg(unit, prio="normal", tgs=("1",), codec="adpcm"):
    return Config({"unit.id": unit, "unit.priority": prio, "talkgroups.list": list(tgs), "audio.frame_ms": 20,
                   "emergency.sms_numbers": ["+62811000111"], "audio.codec": codec})


class Rig:
    def __init__(self, units, prios=None, codec="adpcm"):
        self.codec = codec
        self.broker = MemBroker(key=b"fleet-key")
        self.radios = {}
        self.hals = {}
        self.ev = {}
        self.clients = {}
        for u in units:
            self.add(u, (prios or {}).get(u, "normal"))

    def add(self, u, prio):
        hal = FakeHAL(tone_pcm(8000))
        log = []
        r = Radio(hal, cfg(u, prio, codec=self.codec), make_client=lambda m, s: MemClient(self.broker, u, m, s),
                  events=lambda now, k, d, log=log: log.append((now, k, d)), key=b"fleet-key")
        c = r.client
        self.radios[u], self.hals[u], self.ev[u], self.clients[u] = r, hal, log, c

    def start(self):
        self.tasks = [asyncio.create_task(r.run()) for r in self.radios.values()]

    async def stop(self):
        for r in self.radios.values():
            await r.stop()
        await sleep_ms(30)

    def cues(self, u):
        return [d["name"] for _, k, d in self.ev[u] if k == "cue"]

    def kinds(self, u, kind):
        return [d for _, k, d in self.ev[u] if k == kind]


def energy(pcm_bytes):
    a = array("h", bytes(pcm_bytes))
    s = 0
    for v in a:
        s += v * v
    return s // max(1, len(a))


async def _talk_busy_emergency():
    rig = Rig(["a", "b", "c"])
    rig.start()
    await until(lambda: all(r.online for r in rig.radios.values()), "all online")
    await until(lambda: len([d for d in rig.kinds("a", "presence") if d["stage"] == "online"]) >= 2, "presence")
    # a talks
    rig.hals["a"].press("ptt")
    await until(lambda: "permit" in rig.cues("a"), "talk permit on a")
    await until(lambda: any(d["unit"] == "a" for d in rig.kinds("b", "talker")), "b sees a talking")
    await until(lambda: any(d["unit"] == "a" for d in rig.kinds("c", "talker")), "c sees a talking")
    # b presses while a holds the floor: busy tone, no permit
    rig.hals["b"].press("ptt")
    await until(lambda: "busy" in rig.cues("b"), "busy on b")
    rig.hals["b"].press("ptt", False)
    await until(lambda: len(rig.hals["b"].played) > 8000, "b hears a")
    rig.hals["a"].press("ptt", False)
    await until(lambda: any(d["tg"] == "1" for d in rig.kinds("b", "free")), "floor freed")
    assert "permit" not in rig.cues("b")
    assert energy(rig.hals["b"].played) > 1000000      # the 440 Hz tone at amplitude 8000, not silence
    assert energy(rig.hals["c"].played) > 1000000
    assert rig.radios["b"].stats()["voice"]["accepted"] > 20
    # a talks again; c's emergency pre-empts it
    rig.hals["a"].press("ptt")
    await until(lambda: rig.cues("a").count("permit") == 2, "second permit on a")
    rig.hals["c"].press("emergency")
    await until(lambda: "preempted" in rig.cues("a"), "a pre-empted")
    await until(lambda: any(d["unit"] == "c" and d["prio"] == 3 for d in rig.kinds("b", "talker")),
                "b sees c's emergency burst")
    await until(lambda: any(d["unit"] == "c" for d in rig.kinds("b", "emergency_rx")), "alert reaches b")
    assert "emergency" in rig.cues("c")
    rig.hals["a"].press("ptt", False)
    await rig.stop()


def test_three_radios_talk_busy_and_emergency_preempts():
    asyncio.run(_talk_busy_emergency())


async def _rollcall_and_lwt():
    rig = Rig(["a", "b"])
    rig.start()
    await until(lambda: all(r.online for r in rig.radios.values()), "online")
    # A roll call without the fleet key's tag (an impostor with broker access) is ignored and counted.
    rig.broker.publish(T.rollcall("kota"), b'{"id":"rc0","dl":30,"by":"cc"}', False)
    await until(lambda: rig.radios["b"].counts["bad_tag_ctl"] >= 1, "forged roll call counted")
    assert "rollcall" not in rig.cues("b")
    t = T.rollcall("kota")
    rig.broker.publish(t, rig.broker.tagger.seal(t, b'{"id":"rc1","dl":30,"by":"cc"}'), True)
    await until(lambda: "rollcall" in rig.cues("b"), "roll call alert on b")
    rig.hals["b"].press("ptt")
    await until(lambda: "rollcall_ok" in rig.cues("b"), "roll call answered")
    rig.hals["b"].press("ptt", False)
    acks = [p for t, p in rig.broker.log if t == "ht/kota/u/b/a"]
    assert len(acks) == 1 and b'"rc1"' in acks[0]
    assert rig.broker.tagger.open("ht/kota/u/b/a", acks[0]) is not None     # the answer carries the tag
    assert "permit" not in rig.cues("b")   # the answering press did not key up the talkgroup
    assert not any(t == "ht/kota/tg/1/f/b" for t, _ in rig.broker.log)
    # a's link dies: its last will marks it offline at b
    rig.clients["a"].kill()
    await until(lambda: any(d["unit"] == "a" and d["stage"] == "offline" for d in rig.kinds("b", "presence")),
                "b sees a offline")
    assert rig.broker.retained["ht/kota/u/a/p"].find(b'"offline"') > 0
    await rig.stop()


def test_rollcall_answered_by_press_and_lwt_marks_offline():
    asyncio.run(_rollcall_and_lwt())


def test_radio_takes_its_fleet_and_voice_key_from_the_config():
    # What htctl provision writes (fleet.id, audio.key as hex) is what the radio uses: its topics carry the
    # fleet, and its voice frames are signed with the key's bytes (every radio of the fleet decodes the
    # same hex, so they agree on the key).
    import binascii
    from ht.voice import frame
    key = "a5c3" * 16
    r = Radio(FakeHAL(), Config({"unit.id": "u1", "fleet.id": "prov", "audio.key": key}),
              make_client=lambda m, s: MemClient(MemBroker(), "u1", m, s))
    want = frame.Key(binascii.unhexlify(key)).digest(b"frame")
    assert r.fleet == "prov"
    assert r.audio.tx.key.digest(b"frame") == want and r.audio.guard.key.digest(b"frame") == want
    r = Radio(FakeHAL(), Config({"unit.id": "u1"}), make_client=lambda m, s: MemClient(MemBroker(), "u1", m, s))
    assert r.fleet == "kota" and r.audio.tx.key is None


async def _codec_fleet(name, pt_name):
    rig = Rig(["a", "b"], codec=name)
    rig.start()
    await until(lambda: all(r.online for r in rig.radios.values()), "online")
    rig.hals["a"].press("ptt")
    await until(lambda: "permit" in rig.cues("a"), "talk permit on a")
    await until(lambda: len(rig.hals["b"].played) > 8000, "b hears a")
    rig.hals["a"].press("ptt", False)
    await until(lambda: any(d["tg"] == "1" for d in rig.kinds("b", "free")), "floor freed")
    assert energy(rig.hals["b"].played) > 1000000      # the tone came through the codec, not silence
    assert rig.radios["b"].stats()["voice"]["accepted"] > 20
    from ht.voice import frame, codecs
    sent = [p for t, p in rig.broker.log if t == "ht/kota/tg/1/v/a"]
    f = frame.Frame()
    assert sent and frame.parse(sent[0], f, frame.as_key(b"fleet-key")) == frame.OK
    assert f.pt == getattr(codecs, pt_name)
    await rig.stop()


def test_a_fleet_configured_for_g726_talks_with_it():
    from ht.voice import codecs
    try:
        asyncio.run(_codec_fleet("g726", "PT_G726"))
    finally:
        codecs.unregister(codecs.PT_G726)


def test_a_fleet_configured_for_adpcme_talks_with_it():
    asyncio.run(_codec_fleet("adpcme", "PT_ADPCME"))


async def _keyless():
    # A radio without the fleet key (the factory default): it says so and neither sends nor takes voice.
    broker = MemBroker(key=b"fleet-key")
    hal = FakeHAL(tone_pcm(8000))
    log = []
    r = Radio(hal, cfg("k", "normal"), make_client=lambda m, s: MemClient(broker, "k", m, s),
              events=lambda now, k, d: log.append((now, k, d)))
    t = asyncio.create_task(r.run())
    await until(lambda: r.online, "online")
    await until(lambda: any(b'"n":"nokey"' in p for tp, p in broker.log if tp == "ht/kota/u/k/p"),
                "presence says nokey")
    hal.press("ptt")
    await until(lambda: any(k == "cue" and d["name"] == "provision" for _, k, d in log), "provisioning tone")
    hal.press("ptt", False)
    assert not [1 for tp, _ in broker.log if tp.startswith("ht/kota/tg/1/f/") or tp.startswith("ht/kota/tg/1/v/")]
    from ht.radio.guard import NO_KEY
    from ht.voice import transceiver as voice, codecs
    tx = voice.Transmitter(1, 7, codecs.PT_ADPCM, 20, b"fleet-key", 1, epoch=3)
    from array import array
    assert r.audio.on_voice(bytes(tx.encode(array("h", [0] * 160))), 7, 1, 0) == NO_KEY
    assert r.stats()["voice"]["no key"] == 1
    await r.stop()
    t.cancel()


def test_a_radio_without_the_fleet_key_refuses_voice_and_says_why():
    asyncio.run(_keyless())
