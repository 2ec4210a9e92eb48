"""The embedded demo broker (amqtt wrapped by htsim.embedded_broker) with our client and with paho-mqtt."""
import asyncio
import queue

import paho.mqtt.client as paho
import pytest

from hal import netstream
from ht.radio import topics
from ht.mqtt.client import MQTTClient, MQTTError
from htctl.mosquitto import fleet_rights

from fixtures.mosquitto import poll

pytestmark = pytest.mark.sim
USERS = {"u1": "p1", "u2": "p2", "cc": "pc"}


async def ours(port, user, cid, got=None, will=None):
    c = MQTTClient(cid, user, USERS[user] if user else None, keepalive=10)
    if got is not None:
        c.on_message = lambda t, p, r: got.append((t.decode(), bytes(p), r))
    if will:
        c.set_last_will(*will)
    await c.connect(await netstream.open_tcp("127.0.0.1", port))
    return c


def paho_client(port, cid, user=None, will=None):
    q = queue.Queue()
    c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=cid, protocol=paho.MQTTv311)
    if user:
        c.username_pw_set(user, USERS[user])
    if will:
        c.will_set(*will)
    c.on_message = lambda cl, ud, msg: q.put((msg.topic, msg.payload, msg.retain, msg.qos))
    c.connect("127.0.0.1", port, keepalive=10)
    c.loop_start()
    return c, q


def test_start_stop_free_port_and_restartable(embedded_broker):
    b = embedded_broker()
    assert b.port > 0
    b.stop()
    port = b.start()  # a stopped broker can start again

    async def main():
        c = await ours(port, None, "x")
        await c.disconnect()
    asyncio.run(main())


def test_qos1_wildcards_and_retained_between_our_client_and_paho(embedded_broker):
    b = embedded_broker()
    pc, q = paho_client(b.port, "paho-sub")
    pc.subscribe("ht/k/tg/+/v/+", qos=1)
    pc.subscribe("ht/k/u/#", qos=1)

    async def main():
        got = []
        c = await ours(b.port, None, "ours", got)
        await c.subscribe(b"ht/k/rc", 1)
        # wait until paho's subscriptions are live: it answers a probe on one of them
        probe = topics.voice("k", "9", "probe")
        for _ in range(200):
            await c.publish(probe, b"probe", 0)
            try:
                if q.get(timeout=0.05)[1] == b"probe":
                    break
            except queue.Empty:
                pass
        pid = await c.publish(topics.voice("k", "1", "u1"), b"voice-q1", 1)
        assert await c.wait_ack(pid, 10000)
        pid = await c.publish(topics.unit_topic("k", "u1", "p"), b"online", 1, True)
        assert await c.wait_ack(pid, 10000)
        msgs = []
        while len(msgs) < 2:
            m = q.get(timeout=10)
            if m[1] != b"probe":  # late copies of the probe are not what we are checking
                msgs.append(m)
        assert ("ht/k/tg/1/v/u1", b"voice-q1", False, 1) in msgs
        assert ("ht/k/u/u1/p", b"online", False, 1) in msgs
        pc.publish("ht/k/rc", b"absen", qos=1, retain=True).wait_for_publish(10)
        assert await poll(lambda: got)
        assert got[0] == ("ht/k/rc", b"absen", False)
        late = []
        c2 = await ours(b.port, None, "late", late)
        await c2.subscribe(b"ht/k/#", 1)
        assert await poll(lambda: len(late) >= 2)
        assert ("ht/k/rc", b"absen", True) in late and ("ht/k/u/u1/p", b"online", True) in late
        await c.disconnect()
        await c2.disconnect()
    try:
        asyncio.run(main())
    finally:
        pc.loop_stop()
        pc.disconnect()


def test_lwt_published_when_our_client_dies(embedded_broker):
    b = embedded_broker()
    pc, q = paho_client(b.port, "watcher")
    pc.subscribe("ht/k/u/+/p", qos=1)

    async def main():
        c = MQTTClient("dying", keepalive=10)
        c.set_last_will(b"ht/k/u/u1/p", b"offline", 1, True)
        s = await netstream.open_tcp("127.0.0.1", b.port)
        await c.connect(s)
        await s.close()  # socket killed under the client, no DISCONNECT
        topic, payload, retain, qos = q.get(timeout=20)
        assert (topic, payload) == ("ht/k/u/u1/p", b"offline")
    try:
        asyncio.run(main())
    finally:
        pc.loop_stop()
        pc.disconnect()


def test_credentials_and_acl_enforced(embedded_broker):
    b = embedded_broker(users=USERS, acl=fleet_rights("k", {"u1": ["1"], "u2": ["1"]}))

    async def main():
        with pytest.raises(MQTTError) as e:
            await _bad(b.port)
        assert e.value.code in (4, 5)
        seen = []
        cc = await ours(b.port, "cc", "cc", seen)
        await cc.subscribe(b"ht/k/#", 1)
        u1 = await ours(b.port, "u1", "u1")
        await u1.publish(topics.unit_topic("k", "u2", "p"), b"forged", 1)
        await u1.publish(topics.unit_topic("k", "u1", "p"), b"genuine", 1)
        assert await poll(lambda: seen)
        assert [p for t, p, r in seen] == [b"genuine"]
        with pytest.raises(MQTTError) as e:
            await u1.subscribe(topics.unit_topic("k", "u2", "c"), 1)
        assert e.value.code == 0x80
        await cc.disconnect()
        await u1.disconnect()
    asyncio.run(main())


async def _bad(port):
    c = MQTTClient("bad", "u1", "wrong")
    await c.connect(await netstream.open_tcp("127.0.0.1", port))
