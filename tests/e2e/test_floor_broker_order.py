"""The ordering property floor control rests on (docs/FLOOR.md), checked against real Mosquitto with the real
topic scheme (ht.radio.topics: each unit publishes on its own ht/<f>/tg/<tg>/f/<unit>, every radio subscribes
ht/<f>/tg/<tg>/f/+): every subscriber receives the QoS 1 messages of all publishers in one and the same
order — and the floor fold on top of it, run by several real MQTT clients pressing at once, names one talker
everywhere. Retained floor messages give a late subscriber the current holder."""
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from ht.radio import floormsg as fm
from ht.radio.floor import Floor, Outbox
from ht.radio import topics

pytestmark = pytest.mark.sim

SUB = topics.talkgroup_sub("test", "tg1", topics.FLOOR).decode()


class Client:
    def __init__(self, name, host, port, on_msg=None):
        self.name = name
        self.got = []
        self.lock = threading.Lock()
        self.on_msg = on_msg
        self.subbed = threading.Event()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name)
        self.c.on_message = self._msg
        self.c.on_subscribe = lambda *a: self.subbed.set()
        self.c.connect(host, port, keepalive=30)
        self.c.loop_start()
        self.c.subscribe(SUB, qos=1)
        assert self.subbed.wait(10), "no SUBACK from mosquitto"

    def _msg(self, client, userdata, msg):
        sender = topics.parse(msg.topic)[3]
        with self.lock:
            self.got.append(msg.payload)
        if self.on_msg:
            self.on_msg(msg.payload, sender)

    def publish(self, payload, retain=False):
        self.c.publish(topics.floor("test", "tg1", self.name).decode(), payload, qos=1, retain=retain)

    def stop(self):
        self.c.loop_stop()
        self.c.disconnect()


def wait_for(pred, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def test_mosquitto_delivers_one_topic_in_one_order_to_every_subscriber(mosquitto):
    m = mosquitto()
    clients = [Client("c%d" % i, m.host, m.port) for i in range(4)]
    try:
        per = 60

        def blast(i):
            for k in range(per):
                clients[i].publish(b"%d:%d" % (i, k))

        threads = [threading.Thread(target=blast, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert wait_for(lambda: all(len(c.got) >= 4 * per for c in clients))
        orders = [list(c.got) for c in clients]
        assert all(o == orders[0] for o in orders)
        # and it really interleaves senders (otherwise this proves nothing about cross-sender order)
        senders = [p.split(b":")[0] for p in orders[0]]
        switches = sum(1 for a, b in zip(senders, senders[1:]) if a != b)
        assert switches > 4
    finally:
        for c in clients:
            c.stop()


def test_simultaneous_presses_through_mosquitto_give_one_talker(mosquitto):
    m = mosquitto()
    radios = []
    lock = threading.Lock()
    # Logical clock (1 ms per event): the property under test is ordering, and a busy shared machine
    # must not turn a slow round trip into a claim or heartbeat timeout.
    clock = [0]

    def now():
        clock[0] += 1
        return clock[0]

    def make(unit):
        ob = Outbox()
        f = Floor("tg1", unit, ob, burst_seed=len(radios) << 20)
        holder = {}

        def on_msg(payload, sender):
            with lock:
                f.on_message(fm.parse(payload, sender), now())
                pubs = ob.drain()[0]
            for _k, _key, p, _q, r in pubs:
                holder["c"].publish(p, r)

        holder["c"] = Client(unit, m.host, m.port, on_msg)
        radios.append((f, ob, holder["c"]))

    for u in ("u0", "u1", "u2", "u3"):
        make(u)
    try:
        for rnd in range(5):
            go = threading.Barrier(4)

            def press(f, ob, c):
                go.wait()
                with lock:
                    f.claim(fm.PRIO_NORMAL, now())
                    pubs = ob.drain()[0]
                for _k, _key, p, _q, r in pubs:
                    c.publish(p, r)

            ts = [threading.Thread(target=press, args=r) for r in radios]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            assert wait_for(lambda: all(f.mine is None for f, _o, _c in radios))
            talking = [f.unit for f, _o, _c in radios if f.talking]
            assert len(talking) == 1
            assert wait_for(lambda: len(set((f.epoch, f.holder) for f, _o, _c in radios)) == 1)
            winner = [f for f, _o, _c in radios if f.talking][0]
            with lock:
                winner.release(now())
                pubs = [x for f, ob, c in radios if f is winner for x in ob.drain()[0]]
            c = [c for f, _o, c in radios if f is winner][0]
            for _k, _key, p, _q, r in pubs:
                c.publish(p, r)
            assert wait_for(lambda: all(f.holder is None for f, _o, _c in radios))
    finally:
        for _f, _o, c in radios:
            c.stop()


def test_late_subscriber_learns_the_talker_from_retained_floor_messages(mosquitto):
    m = mosquitto()
    ob = Outbox()
    a = Floor("tg1", "u0", ob)
    pub = Client("u0", m.host, m.port)
    b_ob = Outbox()
    b = Floor("tg1", "u1", b_ob)
    pub2 = Client("u1", m.host, m.port)
    try:
        # u1 talked and released earlier (epoch 1), then u0 took the floor (epoch 2) and is talking
        for f, c, o in ((b, pub2, b_ob), (a, pub, ob)):
            f.claim(fm.PRIO_NORMAL, 0)
            claim = o.drain()[0][0][2]
            a.on_message(fm.parse(claim), 1)
            b.on_message(fm.parse(claim), 1)
            for _k, _key, p, _q, r in o.drain()[0]:
                c.publish(p, r)
            if f is b:
                b.release(2)
                rel = b_ob.drain()[0][0]
                a.on_message(fm.parse(rel[2]), 3)
                b.on_message(fm.parse(rel[2]), 3)
                pub2.publish(rel[2], rel[4])
        assert a.talking and a.epoch == 2
        late_f = Floor("tg1", "u9", Outbox())
        late = Client("u9", m.host, m.port,
                      lambda p, s: late_f.on_message(fm.parse(p, s), int(time.monotonic() * 1000)))
        try:
            assert wait_for(lambda: late_f.talker() == "u0")
            assert late_f.epoch == 2
        finally:
            late.stop()
    finally:
        pub.stop()
        pub2.stop()
