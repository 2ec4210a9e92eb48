# MicroPython-side driver for tests/e2e/test_mqtt_mosquitto.py and bench/bench_mqtt.py: runs the firmware's
# MQTT client against a real broker and prints one JSON object per line.
# Usage: micropython mqtt_driver.py <scenario> <port> <user> <password> [arg]
#   basic     connect + LWT, retained roll call, QoS 0/1 echo, then exit WITHOUT DISCONNECT (LWT fires)
#   badauth   connect with the given (wrong) password, report the refusal
#   tls       connect over TLS, arg = CA certificate (DER) path
#   bench     publish N (=arg) 100-byte messages at QoS 0 and QoS 1, report rates
#   robust    RobustClient with keepalive = arg s: report every state change and message, exit on "quit"
import asyncio
import json
import sys

from hal import netstream
from ht.radio import topics
from ht.compat import ticks_ms, ticks_diff
from ht.mqtt.client import MQTTClient, MQTTError, STATE_NAMES
from ht.mqtt.robust import RobustClient

FLEET = "k"
UNIT = "m1"


def out(**kw):
    print(json.dumps(kw))


async def _open(port, ca=None):
    if ca is None:
        return await netstream.open_tcp("127.0.0.1", port)
    with open(ca, "rb") as f:
        ctx = netstream.tls_context(cadata=f.read())
    return await netstream.open_tcp("127.0.0.1", port, ssl=ctx)


async def wait_for(cond, ms=10000):
    t0 = ticks_ms()
    while not cond():
        if ticks_diff(ticks_ms(), t0) > ms:
            return False
        await asyncio.sleep_ms(10)
    return True


async def basic(port, user, pw):
    got = []
    c = MQTTClient(UNIT, user, pw, keepalive=30)
    c.on_message = lambda t, p, r: got.append((t.decode(), bytes(p).decode(), r))
    presence = topics.unit_topic(FLEET, UNIT, topics.PRESENCE)
    c.set_last_will(presence, b"offline", 1, True)
    await c.connect(await _open(port))
    out(ev="connected")
    await c.subscribe(topics.rollcall(FLEET), 1)
    await c.subscribe(topics.talkgroup_sub(FLEET, "1", topics.VOICE), 1)
    pid = await c.publish(presence, b"online", 1, True)
    out(ev="presence", acked=await c.wait_ack(pid, 10000))
    voice = topics.voice(FLEET, "1", UNIT)
    frame = bytearray(b"v0")
    await c.publish(voice, memoryview(frame), 0)
    pid = await c.publish(voice, b"v1", 1)
    out(ev="qos1", acked=await c.wait_ack(pid, 10000))
    await wait_for(lambda: len(got) >= 3)
    for t, p, r in got:
        out(ev="msg", topic=t, payload=p, retained=r)
    out(ev="exit", connected=c.is_connected())
    # no DISCONNECT: the process ends and the OS closes the socket, as when a radio loses power


async def badauth(port, user, pw):
    c = MQTTClient(UNIT, user, pw)
    try:
        await c.connect(await _open(port))
        out(ev="connected")
    except MQTTError as e:
        out(ev="refused", code=e.code, reason=str(e))


async def tls(port, user, pw, ca):
    got = []
    c = MQTTClient(UNIT, user, pw)
    c.on_message = lambda t, p, r: got.append(bytes(p).decode())
    await c.connect(await _open(port, ca))
    await c.subscribe(b"ht/k/tg/1/v/+", 1)
    pid = await c.publish(topics.voice(FLEET, "1", UNIT), b"over tls", 1)
    acked = await c.wait_ack(pid, 10000)
    await wait_for(lambda: got)
    out(ev="tls", acked=acked, got=got)
    await c.disconnect()


async def bench(port, user, pw, n):
    c = MQTTClient(UNIT, user, pw, keepalive=60, max_inflight=16)
    await c.connect(await _open(port))
    topic = topics.voice(FLEET, "1", UNIT)
    payload = memoryview(bytearray(100))
    res = {}
    for _ in range(10):
        await c.publish(topic, payload, 0)  # warm up: the cached frame view exists from here on
    import gc
    gc.collect()
    gc.disable()  # count what the steady-state QoS 0 path allocates per message
    a0 = gc.mem_alloc()
    for _ in range(100):
        await c.publish(topic, payload, 0)
    res["alloc_qos0"] = (gc.mem_alloc() - a0) / 100
    gc.enable()
    for qos in (0, 1):
        t0 = ticks_ms()
        last = 0
        for _ in range(n):
            last = await c.publish(topic, payload, qos)
        if qos:  # the broker acks in order: the last PUBACK means all arrived
            await c.wait_ack(last, 30000)
        ms = ticks_diff(ticks_ms(), t0)
        res["qos%d" % qos] = n * 1000 / max(ms, 1)
    out(ev="bench", **res)
    await c.disconnect()


async def robust(port, user, pw, keepalive):
    done = asyncio.Event()
    c = RobustClient(netstream.opener("127.0.0.1", port), UNIT, user=user, password=pw,
                     keepalive=keepalive, min_backoff_ms=100, max_backoff_ms=1000, timeout_ms=3000)
    c.on_state = lambda st, why: out(ev="state", state=STATE_NAMES[st], reason=why)

    def on_msg(t, p, r):
        p = bytes(p).decode()
        out(ev="msg", payload=p)
        if p == "quit":
            done.set()
    c.on_message = on_msg
    await c.subscribe(topics.talkgroup_sub(FLEET, "1", topics.VOICE), 1)
    c.start()
    await done.wait()
    await c.stop()


def main():
    a = sys.argv[1:]
    scen, port, user, pw = a[0], int(a[1]), a[2], a[3]
    if scen == "basic":
        asyncio.run(basic(port, user, pw))
    elif scen == "badauth":
        asyncio.run(badauth(port, user, pw))
    elif scen == "tls":
        asyncio.run(tls(port, user, pw, a[4]))
    elif scen == "robust":
        asyncio.run(robust(port, user, pw, int(a[4])))
    elif scen == "bench":
        asyncio.run(bench(port, user, pw, int(a[4])))
    else:
        out(ev="error", reason="unknown scenario " + scen)


main()
