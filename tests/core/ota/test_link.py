# ht.radio.update.UpdateLink on the radio's real state machines: the download asks for nothing while the
# user holds PTT, whether or not the press got the floor (no arbiter answered: the PTT state stays
# idle, yet the user wants the link for the voice), while an emergency runs, or while a roll call waits.
import json

from ht.radio.floor import Floor, Outbox
from ht.radio.ptt import PTT
from ht.radio.emergency import Emergency
from ht.radio.rollcall import RollCallRadio, call_payload
from ht.radio.presence import Presence
from ht.radio.update import UpdateLink
import otafake as F
import vectors

FILES = {"ht/__init__.mpy": b"V" * 100, "ht/radio/app.mpy": bytes(range(200)) * 30}   # ~100 chunks of 64 B


class Pub:
    # The radio's Publisher surface the link uses; subscriptions go to the Wire that plays the broker.
    def __init__(self, wire):
        self.wire = wire
        self.acks = []

    def subscribe(self, topic, qos):
        self.wire.send("sub", topic.decode(), None)

    def unsubscribe(self, topic):
        pass

    def publish(self, topic, payload, qos, retain):
        self.acks.append(json.loads(payload))


def make():
    blob, chunks = F.release(FILES)
    wire = F.Wire(chunks)
    ob = Outbox()
    rc = RollCallRadio("u1", ob)
    ptt = PTT(Floor("1", "u1", ob), ob, rollcall=rc)
    em = Emergency("u1", ptt, ob)
    pres = Presence("u1", ob, "0.1.0")
    pub = Pub(wire)
    link = UpdateLink("kota", "u1", F.MemStore(), vectors.N, "LILYGO_T_A7670", "0.1.0", pub, "ht/kota/u/u1/a",
                      pres, {"1": ptt}, em, rc, lambda k, d: None, lambda: None)
    link.agent.ctx.target = "x64"
    link.start(0)
    link.offer({"rid": "r1", "v": "0.2.0", "mb": wire.mb}, 0)
    return link, wire, ptt, em, rc


def step(link, wire, t, n=1):
    asked = 0
    for _ in range(n):
        before = wire.requests
        for p in link.ptts.values():
            p.tick(t)              # as the app ticks its PTTs (the floor times the request out)
        link.tick(t)
        asked += wire.requests - before
        wire.deliver(link.agent, t)
        t += 10
    return t, asked


def test_no_chunk_is_asked_for_while_ptt_is_held_even_without_a_grant():
    link, wire, ptt, em, rc = make()
    t, asked = step(link, wire, 0, 5)
    assert asked > 0 and link.agent.status == "downloading"
    ptt.press(t)
    assert ptt.held
    t, asked = step(link, wire, t, 300)        # 3 s held; the press asked the (absent) arbiter for the floor
    assert ptt.state == "idle" and not ptt.floor.service    # no answer: no floor service, the PTT rests
    assert asked == 0 and link.agent.paused
    ptt.release(t)
    t, asked = step(link, wire, t, 400)
    assert asked > 0 and link.agent.status == "staged v0.2.0"


def test_an_emergency_or_a_roll_call_waiting_for_its_answer_pauses_the_download():
    link, wire, ptt, em, rc = make()
    t, _ = step(link, wire, 0, 5)
    rc.on_call(call_payload("rc1", 30, "cc"), t)
    assert rc.wants_press(t)
    t, asked = step(link, wire, t, 100)
    assert asked == 0
    ptt.press(t)                                  # the press answers the roll call and keys nothing up
    ptt.release(t + 100)
    t, asked = step(link, wire, t + 100, 5)
    assert asked > 0
    em.trigger(t)
    t, asked = step(link, wire, t, 300)
    assert asked == 0 and em.state != "idle" and ptt.state == "idle"   # the alert waits for its answer
