"""What a single Mosquitto gives beyond the MQTT spec, checked with the real topic scheme (each unit publishes
on its own ht/<f>/tg/<tg>/f/<unit>, subscribers use ht/<f>/tg/<tg>/f/+): every subscriber receives the QoS 1
messages of all publishers in one and the same order. The floor USED to rest on this (a fold over the broker
order); clusters do not give it, so the floor now rests on the arbiter (docs/FLOOR.md section 1, proven in
tests/e2e/test_arbiter_mosquitto.py). This test stays as the record of the single-broker property."""
import threading
import time

import paho.mqtt.client as mqtt
import pytest

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
