"""The firmware's MQTT client against a REAL Mosquitto (started per test on a free loopback port),
on CPython and under MicroPython unix (htsim/rig/mqtt_driver.py)."""
import asyncio
import json
import ssl

import pytest

from hal import netstream
from ht.radio import topics
from ht.mqtt.client import MQTTClient, MQTTError, ONLINE, OFFLINE
from ht.mqtt.robust import RobustClient
from htctl.mosquitto import fleet_rights

from fixtures.mosquitto import poll
from fixtures.mpy import run_mpy
from htsim import rig

pytestmark = pytest.mark.sim
FLEET = "k"
USERS = {"u1": "pw-u1", "u2": "pw-u2", "cc": "pw-cc", "m1": "pw-m1"}
DRIVER = str(rig.program("mqtt_driver"))


def acl():
    return fleet_rights(FLEET, {"u1": ["1"], "u2": ["1"], "m1": ["1"]}, command_center=("cc",))


_ids = iter(range(1, 1 << 30))


async def client(port, user, got=None, host="127.0.0.1", **kw):
    c = MQTTClient("t-%s-%d" % (user, next(_ids)), user, USERS[user], **kw)
    if got is not None:
        c.on_message = lambda t, p, r: got.append((t.decode(), bytes(p).decode(), r))
    await c.connect(await netstream.open_tcp(host, port))
    return c


def test_connect_ok_and_wrong_password_refused(mosquitto):
    m = mosquitto(users=USERS, acl=acl())

    async def main():
        c = await client(m.port, "u1")
        assert c.is_connected() and c.state == ONLINE
        await c.disconnect()
        bad = MQTTClient("t-bad", "u1", "wrong")
        with pytest.raises(MQTTError) as e:
            await bad.connect(await netstream.open_tcp(m.host, m.port))
        assert e.value.code in (4, 5) and "password" in str(e.value)  # mosquitto 2.0 answers 5
        assert not bad.is_connected()
    asyncio.run(main())


def test_lwt_marks_unit_offline_when_link_dies(mosquitto, tcp_proxy):
    m = mosquitto(users=USERS, acl=acl())
    proxy = tcp_proxy(m.port)

    async def main():
        seen = []
        cc = await client(m.port, "cc", seen)
        await cc.subscribe(topics.units_sub(FLEET, topics.PRESENCE), 1)
        u1 = MQTTClient("t-u1", "u1", USERS["u1"], keepalive=30)
        pres = topics.unit_topic(FLEET, "u1", topics.PRESENCE)
        u1.set_last_will(pres, b"offline", 1, True)
        await u1.connect(await netstream.open_tcp("127.0.0.1", proxy.port))
        await u1.publish(pres, b"online", 1, True)
        assert await poll(lambda: ("ht/k/u/u1/p", "online", False) in seen)
        proxy.cut()  # the socket dies without DISCONNECT (power loss, modem reset)
        assert await poll(lambda: ("ht/k/u/u1/p", "offline", False) in seen)
        assert await poll(lambda: not u1.is_connected())
        late = []
        c2 = await client(m.port, "u2", late)
        await c2.subscribe(topics.units_sub(FLEET, topics.PRESENCE), 1)
        assert await poll(lambda: late)
        assert late == [("ht/k/u/u1/p", "offline", True)]  # the will was retained
        await cc.disconnect()
        await c2.disconnect()
    asyncio.run(main())


def test_qos1_reaches_exactly_the_subscribers(mosquitto):
    m = mosquitto(users=USERS, acl=acl())

    async def main():
        a, b, other = [], [], []
        ca = await client(m.port, "u2", a)
        cb = await client(m.port, "cc", b)
        co = await client(m.port, "cc", other)
        for c in (ca, cb):
            await c.subscribe(topics.talkgroup_sub(FLEET, "1", topics.VOICE), 1)
        await co.subscribe(topics.talkgroup_sub(FLEET, "2", topics.VOICE), 1)
        tx = await client(m.port, "u1")
        pid = await tx.publish(topics.voice(FLEET, "1", "u1"), b"claim-1", 1)
        assert await tx.wait_ack(pid, 10000)
        end = await tx.publish(topics.voice(FLEET, "1", "u1"), b"marker", 1)
        assert await tx.wait_ack(end, 10000)
        assert await poll(lambda: len(a) == 2 and len(b) == 2)
        for got in (a, b):
            assert [p for t, p, r in got] == ["claim-1", "marker"]
        co_pid = await co.publish(topics.voice(FLEET, "2", "cc"), b"own", 1)
        assert await co.wait_ack(co_pid, 10000)
        assert await poll(lambda: other)
        assert [p for t, p, r in other] == ["own"]  # nothing from talkgroup 1
        for c in (ca, cb, co, tx):
            await c.disconnect()
    asyncio.run(main())


def test_retained_presence_seen_by_late_subscriber(mosquitto):
    m = mosquitto(users=USERS, acl=acl())

    async def main():
        u1 = await client(m.port, "u1")
        pid = await u1.publish(topics.unit_topic(FLEET, "u1", topics.PRESENCE), b'{"s":"online"}', 1, True)
        assert await u1.wait_ack(pid, 10000)
        got = []
        cc = await client(m.port, "cc", got)
        await cc.subscribe(topics.units_sub(FLEET, topics.PRESENCE), 1)
        assert await poll(lambda: got)
        assert got == [("ht/k/u/u1/p", '{"s":"online"}', True)]
        await u1.disconnect()
        await cc.disconnect()
    asyncio.run(main())


def test_silent_link_detected_by_keepalive_and_recovered(mosquitto, tcp_proxy):
    m = mosquitto(users=USERS, acl=acl())
    proxy = tcp_proxy(m.port)

    async def main():
        states, got = [], []
        r = RobustClient(netstream.opener("127.0.0.1", proxy.port), "t-u2", user="u2", password=USERS["u2"],
                         keepalive=1, min_backoff_ms=100, max_backoff_ms=500, timeout_ms=1500)
        r.on_state = lambda s, why: states.append((s, why))
        r.on_message = lambda t, p, rt: got.append(bytes(p))
        await r.subscribe(topics.talkgroup_sub(FLEET, "1", topics.VOICE), 0)
        r.start()
        assert await r.wait_online(20000)
        proxy.pause()  # TCP stays open, nothing flows: only MQTT keepalive can notice
        assert await poll(lambda: not r.is_connected())
        assert "keepalive timeout" in r.reason
        proxy.resume()
        assert await poll(lambda: r.is_connected())
        tx = await client(m.port, "u1")
        assert await poll(lambda: r.is_connected() and r.state == ONLINE)
        await tx.publish(topics.voice(FLEET, "1", "u1"), b"after", 1)
        assert await poll(lambda: b"after" in got)  # resubscribed on the new link
        assert any(s == OFFLINE and "keepalive" in why for s, why in states)
        await r.stop()
        await tx.disconnect()
    asyncio.run(main())


def test_reconnect_and_resubscribe_after_broker_restart(mosquitto):
    m = mosquitto(users=USERS, acl=acl())

    async def main():
        got = []
        r = RobustClient(netstream.opener(m.host, m.port), "t-u2", user="u2", password=USERS["u2"],
                         keepalive=5, min_backoff_ms=100, max_backoff_ms=500)
        r.on_message = lambda t, p, rt: got.append(bytes(p))
        await r.subscribe(topics.rollcall(FLEET), 1)
        r.start()
        assert await r.wait_online(20000)
        links = r.stats["links"]
        m.restart()  # same port, no session kept (persistence false)
        assert await poll(lambda: r.stats["links"] > links and r.is_connected())
        cc = await client(m.port, "cc")
        await cc.publish(topics.rollcall(FLEET), b"absen", 1)
        assert await poll(lambda: b"absen" in got)
        await r.stop()
        await cc.disconnect()
    asyncio.run(main())


def test_acl_unit_cannot_publish_as_another_unit(mosquitto):
    m = mosquitto(users=USERS, acl=acl())

    async def main():
        seen = []
        cc = await client(m.port, "cc", seen)
        await cc.subscribe(b"ht/k/#", 1)
        u1 = await client(m.port, "u1")
        await u1.publish(topics.unit_topic(FLEET, "u2", topics.PRESENCE), b"forged", 1, True)
        await u1.publish(topics.voice(FLEET, "1", "u2"), b"forged voice", 1)
        await u1.publish(topics.unit_topic(FLEET, "u1", topics.PRESENCE), b"genuine", 1)
        assert await poll(lambda: any(p == "genuine" for t, p, r in seen))
        assert [p for t, p, r in seen] == ["genuine"]  # mosquitto dropped both forgeries
        # reading another unit's commands: mosquitto 2.0 grants the SUBSCRIBE but delivers nothing
        mine = []
        u1.on_message = lambda t, p, r: mine.append(bytes(p))
        await u1.subscribe(topics.unit_topic(FLEET, "u2", topics.COMMAND), 1)
        await u1.subscribe(topics.unit_topic(FLEET, "u1", topics.COMMAND), 1)
        await cc.publish(topics.unit_topic(FLEET, "u2", topics.COMMAND), b"for u2", 1)
        await cc.publish(topics.unit_topic(FLEET, "u1", topics.COMMAND), b"for u1", 1)
        assert await poll(lambda: mine)
        assert mine == [b"for u1"]
        await u1.disconnect()
        await cc.disconnect()
    asyncio.run(main())


def test_tls_with_ca_generated_at_test_time(mosquitto):
    m = mosquitto(users=USERS, acl=acl(), tls=True)

    async def main():
        ctx = netstream.tls_context(cafile=m.certs["ca"])
        c = MQTTClient("t-tls", "u1", USERS["u1"])
        await c.connect(await netstream.open_tcp(m.host, m.port, ssl=ctx))
        pid = await c.publish(topics.unit_topic(FLEET, "u1", topics.PRESENCE), b"tls", 1)
        assert await c.wait_ack(pid, 10000)
        await c.disconnect()
        stranger = ssl.create_default_context()  # system CAs only: must not trust our broker
        with pytest.raises((ssl.SSLError, OSError)):
            await netstream.open_tcp(m.host, m.port, ssl=stranger)
    asyncio.run(main())


def _mpy_driver(*args, timeout=120):
    r = run_mpy([DRIVER] + [str(a) for a in args], timeout=timeout)
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert r.returncode == 0 and lines, r.stdout + r.stderr
    return lines


@pytest.mark.mpy
def test_micropython_client_connect_qos_retained_and_lwt(mosquitto):
    m = mosquitto(users=USERS, acl=acl())

    async def observer():
        seen = []
        cc = await client(m.port, "cc", seen)
        await cc.subscribe(b"ht/k/#", 1)
        pid = await cc.publish(topics.rollcall(FLEET), b"absen-1", 1, True)
        assert await cc.wait_ack(pid, 10000)
        lines = await asyncio.to_thread(_mpy_driver, "basic", m.port, "m1", USERS["m1"])
        assert await poll(lambda: ("ht/k/u/m1/p", "offline", False) in seen)  # LWT after the process died
        await cc.disconnect()
        return lines, seen

    lines, seen = asyncio.run(observer())
    ev = {x["ev"]: x for x in lines}
    assert ev["connected"] and ev["presence"]["acked"] and ev["qos1"]["acked"]
    msgs = [(x["topic"], x["payload"], x["retained"]) for x in lines if x["ev"] == "msg"]
    assert ("ht/k/rc", "absen-1", True) in msgs
    assert ("ht/k/tg/1/v/m1", "v0", False) in msgs and ("ht/k/tg/1/v/m1", "v1", False) in msgs
    got = [(t, p) for t, p, r in seen]
    assert got.index(("ht/k/u/m1/p", "online")) < got.index(("ht/k/u/m1/p", "offline"))
    assert ("ht/k/tg/1/v/m1", "v0") in got and ("ht/k/tg/1/v/m1", "v1") in got


@pytest.mark.mpy
def test_micropython_client_wrong_password_refused(mosquitto):
    m = mosquitto(users=USERS, acl=acl())
    (line,) = _mpy_driver("badauth", m.port, "m1", "wrong")
    assert line["ev"] == "refused" and line["code"] in (4, 5) and "password" in line["reason"]


@pytest.mark.mpy
def test_micropython_client_over_tls(mosquitto):
    m = mosquitto(users=USERS, acl=acl(), tls=True)
    (line,) = _mpy_driver("tls", m.port, "m1", USERS["m1"], m.certs["ca_der"])
    assert line == {"ev": "tls", "acked": True, "got": ["over tls"]}


class MpyProcess:
    """The driver under MicroPython as a live process: JSON lines arrive on a queue as they are printed."""

    def __init__(self, *args):
        import queue
        import subprocess
        import threading


        self.lines = queue.Queue()
        self.proc = subprocess.Popen(rig.command([DRIVER] + list(args)),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env=rig.env(), cwd=str(rig.DATA_ROOT))
        self.log = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.log.append(line)
            if line.startswith("{"):
                self.lines.put(json.loads(line))

    def expect(self, pred, seconds=30):
        import queue
        import time

        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                x = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if pred(x):
                return x
        raise AssertionError("MicroPython driver never reported it; output:\n" + "".join(self.log))

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def _say(port, payload):
    async def main():
        c = await client(port, "cc")
        pid = await c.publish(topics.voice(FLEET, "1", "cc"), payload, 1)
        assert await c.wait_ack(pid, 10000)
        await c.disconnect()
    asyncio.run(main())


@pytest.mark.mpy
def test_micropython_robust_client_recovers_from_silent_link_and_broker_restart(mosquitto, tcp_proxy):
    m = mosquitto(users=USERS, acl=acl())
    proxy = tcp_proxy(m.port)
    p = MpyProcess("robust", proxy.port, "m1", USERS["m1"], 1)
    try:
        online = lambda x: x == {"ev": "state", "state": "online", "reason": "connected"}  # noqa: E731
        p.expect(online)
        _say(m.port, b"one")
        p.expect(lambda x: x.get("payload") == "one")
        proxy.pause()  # silent link: TCP open, nothing moves
        down = p.expect(lambda x: x.get("state") == "offline")
        assert "keepalive" in down["reason"]
        proxy.resume()
        p.expect(online)
        _say(m.port, b"two")
        p.expect(lambda x: x.get("payload") == "two")  # resubscribed after the silent link
        m.restart()
        p.expect(lambda x: x.get("state") == "offline")
        p.expect(online)
        _say(m.port, b"three")
        p.expect(lambda x: x.get("payload") == "three")  # and after the broker restart
        _say(m.port, b"quit")
        assert p.proc.wait(30) == 0
    finally:
        p.close()


def test_broker_limits_stop_one_unit_flooding_the_fleet(mosquitto):
    # issue 11: a 5 MB retained presence sent with one unit's own credentials reached every radio on each
    # reconnect. Now the sender is cut off (max_packet_size) and an 8 KiB+ payload is not forwarded or kept.
    from htctl.mosquitto import MESSAGE_SIZE_LIMIT
    m = mosquitto(users=USERS, acl=acl())
    ptopic = topics.unit_topic(FLEET, "u1", topics.PRESENCE)

    async def main():
        big = await client(m.port, "u1", max_packet=6 * 1024 * 1024)
        try:
            await big.publish(ptopic, b"x" * (5 * 1024 * 1024), 1, True)
        except OSError:
            pass
        assert await poll(lambda: big.state == OFFLINE)
        mid = await client(m.port, "u1", max_packet=16384)
        pid = await mid.publish(ptopic, b"y" * (MESSAGE_SIZE_LIMIT + 100), 1, True)
        assert await mid.wait_ack(pid, 10000)        # QoS flow completes, the message goes nowhere
        got = []
        cc = await client(m.port, "cc", got)
        await cc.subscribe(topics.units_sub(FLEET, topics.PRESENCE), 1)
        # a retained copy would come right after the SUBACK, before anything published later: a marker
        u2 = await client(m.port, "u2")
        await u2.publish(topics.unit_topic(FLEET, "u2", topics.PRESENCE), b"m", 0, False)
        assert await poll(lambda: got)
        assert [g[0] for g in got] == ["ht/k/u/u2/p"]
        await u2.disconnect()
        await mid.disconnect()
        await cc.disconnect()
    asyncio.run(main())
