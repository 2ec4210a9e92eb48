"""The ordering property floor control rests on (docs/FLOOR.md), checked against real Mosquitto: every
subscriber of one topic receives QoS 1 messages from many publishers in one and the same order — and the
floor fold on top of it, run by several real MQTT clients pressing at once, names one talker everywhere."""
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from ht import floormsg as fm
from ht.floor import Floor, Outbox

pytestmark = pytest.mark.sim

TOPIC = "ht/test/tg/tg1/floor"


class Client:
    def __init__(self, name, host, port, on_msg=None):
        self.got = []
        self.lock = threading.Lock()
        self.on_msg = on_msg
        self.subbed = threading.Event()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name)
        self.c.on_message = self._msg
        self.c.on_subscribe = lambda *a: self.subbed.set()
        self.c.connect(host, port, keepalive=30)
        self.c.loop_start()
        self.c.subscribe(TOPIC, qos=1)
        assert self.subbed.wait(10), "no SUBACK from mosquitto"

    def _msg(self, client, userdata, msg):
        with self.lock:
            self.got.append(msg.payload)
        if self.on_msg:
            self.on_msg(msg.payload)

    def publish(self, payload, retain=False):
        self.c.publish(TOPIC, payload, qos=1, retain=retain)

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

    def make(unit):
        ob = Outbox()
        f = Floor("tg1", unit, ob, burst_seed=len(radios) << 20)
        holder = {}

        def on_msg(payload):
            with lock:
                f.on_message(fm.parse(payload), int(time.monotonic() * 1000))
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
                    f.claim(fm.PRIO_NORMAL, int(time.monotonic() * 1000))
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
                winner.release(int(time.monotonic() * 1000))
                pubs = [x for f, ob, c in radios if f is winner for x in ob.drain()[0]]
            c = [c for f, _o, c in radios if f is winner][0]
            for _k, _key, p, _q, r in pubs:
                c.publish(p, r)
            assert wait_for(lambda: all(f.holder is None for f, _o, _c in radios))
    finally:
        for _f, _o, c in radios:
            c.stop()
