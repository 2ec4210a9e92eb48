# A talker does not receive its own voice back (MQTT 3.1.1 has no "no local"; through the modem every echoed
# frame costs UART time the next frame needs): it leaves its talkgroup's voice topic while it holds the floor
# and rejoins on release, and still hears a burst that starts or is already running once it lets go.
# Portable (CPython and MicroPython), on the in-memory broker; through Mosquitto and the modem emulator:
# tests/e2e/test_radio_mosquitto.py::test_radio_through_modem_emulator_*.
import asyncio
from ht.config import Config
from ht.radio.app import Radio
from ht.radio import topics as T
from radiofake import FakeHAL, MemBroker, MemClient, sleep_ms, until
from test_radio_app import tone_pcm


class UnsubClient(MemClient):
    # MemClient with UNSUBSCRIBE, logging both requests in order
    def __init__(self, broker, client_id, on_message=None, on_state=None):
        MemClient.__init__(self, broker, client_id, on_message, on_state)
        self.requests = []

    async def subscribe(self, topic, qos=0):
        self.requests.append(("sub", _s(topic)))
        return await MemClient.subscribe(self, topic, qos)

    async def unsubscribe(self, topic):
        t = _s(topic)
        self.requests.append(("unsub", t))
        while t in self.subs:
            self.subs.remove(t)


def _s(topic):
    return topic.decode() if isinstance(topic, bytes) else topic


async def _scenario():
    broker = MemBroker(key=b"k")
    radios, hals, clients, ev = {}, {}, {}, {}
    for u in ("a", "b"):
        hals[u] = FakeHAL(tone_pcm(16000))
        log = ev[u] = []
        radios[u] = Radio(hals[u], Config({"unit.id": u, "talkgroups.list": ["1"], "audio.frame_ms": 20}),
                          make_client=lambda m, s, u=u: UnsubClient(broker, u, m, s), key=b"k",
                          events=lambda now, k, d, log=log: log.append((now, k, d)))
        clients[u] = radios[u].client
    tasks = [asyncio.create_task(r.run()) for r in radios.values()]
    a, b = radios["a"], radios["b"]
    vsub = _s(T.talkgroup_sub("kota", "1", T.VOICE))
    await until(lambda: a.online and b.online, "online")
    assert vsub in clients["a"].subs

    hals["a"].press("ptt")
    await until(lambda: b.stats()["voice"]["accepted"] >= 20, "b hears a")
    assert vsub not in clients["a"].subs                # left while talking ...
    assert a.counts["own_voice"] == 0                   # ... so none of its frames came back
    hals["a"].press("ptt", False)
    await until(lambda: any(k == "free" for _, k, _ in ev["b"]), "floor free at b")
    await until(lambda: vsub in clients["a"].subs, "a back on the voice topic")
    assert clients["a"].requests[-2:] == [("unsub", vsub), ("sub", vsub)]

    # b talks now: a hears it (the burst reaches a's speaker)
    n0 = len(hals["a"].played)
    hals["b"].press("ptt")
    await until(lambda: a.stats()["voice"]["accepted"] >= 20, "a hears b")
    await until(lambda: len(hals["a"].played) > n0 + 8000, "b's burst on a's speaker")
    assert vsub not in clients["b"].subs and vsub in clients["a"].subs
    hals["b"].press("ptt", False)
    for r in radios.values():
        await r.stop()
    await sleep_ms(30)
    for t in tasks:
        t.cancel()


def test_talker_leaves_its_voice_topic_and_rejoins():
    asyncio.run(_scenario())
