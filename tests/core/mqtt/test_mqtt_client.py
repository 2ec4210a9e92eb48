# MQTT client behaviour over a scripted in-memory broker stream (portable: CPython and MicroPython).
import asyncio

from ht.mqtt import packet as P
from ht.mqtt.client import MQTTClient, MQTTError, ONLINE, OFFLINE
from ht.mqtt.robust import RobustClient


class FakeBroker:
    # The byte stream the client rides, with a tiny broker behind it: answers CONNECT,
    # SUBSCRIBE, UNSUBSCRIBE and (if `pong`) PINGREQ; records every packet the client sent.
    def __init__(self, connack=0, pong=True, chunk=4096):
        self.inbox = b""
        self.got = []  # (first byte, body bytes)
        self.connack = connack
        self.pong = pong
        self.chunk = chunk
        self.closed = False
        self.ev = asyncio.Event()
        self._buf = b""

    def feed(self, data):
        self.inbox += bytes(data)
        self.ev.set()

    async def recv(self, n):
        while not self.inbox and not self.closed:
            self.ev.clear()
            await self.ev.wait()
        if not self.inbox:
            return b""
        n = min(n, self.chunk)
        d, self.inbox = self.inbox[:n], self.inbox[n:]
        return d

    async def send(self, buf):
        if self.closed:
            raise OSError("closed")
        self._buf += bytes(buf)
        while len(self._buf) >= 2:
            n, body = P.get_varint(self._buf, 1, len(self._buf))
            if n < 0 or len(self._buf) < body + n:
                return
            head, data = self._buf[0], self._buf[body:body + n]
            self._buf = self._buf[body + n:]
            self.got.append((head, data))
            self._answer(head & 0xF0, data)

    def _answer(self, kind, data):
        if kind == P.CONNECT:
            self.feed(bytes([0x20, 2, 0, self.connack]))
        elif kind == 0x80:
            codes = b""
            i = 2
            while i < len(data):  # one granted QoS per (topic, qos) pair
                i += 2 + ((data[i] << 8) | data[i + 1])
                codes += bytes([data[i]])
                i += 1
            self.feed(bytes([0x90, 2 + len(codes)]) + data[:2] + codes)
        elif kind == 0xA0:
            self.feed(b"\xb0\x02" + data[:2])
        elif kind == P.PINGREQ and self.pong:
            self.feed(b"\xd0\x00")

    async def close(self):
        self.closed = True
        self.ev.set()

    def kinds(self):
        return [h & 0xF0 for h, d in self.got]


def _run(coro):
    return asyncio.run(coro)


async def _poll(cond, ms=5000):
    for _ in range(ms // 10):
        if cond():
            return True
        await asyncio.sleep(0.01)
    return cond()


def test_connect_and_state_callback():
    async def main():
        states = []
        c = MQTTClient("r1", "u", "pw", keepalive=30)
        c.on_state = lambda s, why: states.append(s)
        b = FakeBroker()
        assert await c.connect(b) is False
        assert c.is_connected() and states == [ONLINE]
        assert b.kinds()[0] == P.CONNECT
        await c.disconnect()
        assert b.kinds()[-1] == P.DISCONNECT and states[-1] == OFFLINE
        assert await _poll(lambda: b.closed)
    _run(main())


def test_refused_connack_is_a_clear_error():
    async def main():
        c = MQTTClient("r1", "u", "bad")
        b = FakeBroker(connack=4)
        try:
            await c.connect(b)
            assert False, "connected with bad password"
        except MQTTError as e:
            assert e.code == 4 and "bad username or password" in str(e)
        assert not c.is_connected() and b.closed
    _run(main())


def test_incoming_qos1_delivered_and_acked_even_when_split_bytewise():
    async def main():
        got = []
        c = MQTTClient("r1")
        c.on_message = lambda t, p, r: got.append((t, bytes(p), r))
        b = FakeBroker(chunk=1)
        await c.connect(b)
        buf = bytearray(64)
        n = P.frame_publish(buf, b"ht/k/rc", b"absen", 1, True, 77)
        b.feed(buf[:n])
        n = P.frame_publish(buf, b"a/b", b"x", 0)
        b.feed(buf[:n])
        assert await _poll(lambda: len(got) == 2)
        assert got == [(b"ht/k/rc", b"absen", True), (b"a/b", b"x", False)]
        assert await _poll(lambda: (0x40, b"\x00\x4d") in b.got)
        await c.disconnect()
    _run(main())


def test_malformed_packet_closes_link_with_reason_not_crash():
    async def main():
        for junk in (b"\x30\xff\xff\xff\xff\x01", b"\x50\x02\x00\x01", b"\x32\x03\x00\x05a"):
            c = MQTTClient("r1")
            b = FakeBroker()
            await c.connect(b)
            b.feed(junk)
            assert await _poll(lambda: not c.is_connected()), junk
            assert "malformed" in c.reason and c.state == OFFLINE
            assert b.closed or await _poll(lambda: b.closed)
    _run(main())


def test_oversized_publish_dropped_but_acked_and_link_survives():
    async def main():
        got = []
        c = MQTTClient("r1", max_packet=64)
        c.on_message = lambda t, p, r: got.append(bytes(p))
        b = FakeBroker(chunk=16)
        await c.connect(b)
        big = bytearray(400)
        n = P.frame_publish(big, b"a/b", bytes(300), 1, False, 9)
        b.feed(big[:n])
        small = bytearray(32)
        n = P.frame_publish(small, b"a/b", b"ok", 0)
        b.feed(small[:n])
        assert await _poll(lambda: got == [b"ok"])
        assert c.is_connected() and c.stats["dropped_big"] == 1
        assert (0x40, b"\x00\x09") in b.got
        await c.disconnect()
    _run(main())


def test_qos1_retried_with_dup_until_puback():
    async def main():
        c = MQTTClient("r1", retry_ms=200)
        b = FakeBroker()
        await c.connect(b)
        pid = await c.publish(b"ht/k/tg/1/f/r1", b"claim", 1)
        assert c.pending(pid)
        assert await _poll(lambda: [h for h, d in b.got if h & 0xF0 == P.PUBLISH][-1] & 0x08)
        assert c.stats["retries"] >= 1
        b.feed(bytes([0x40, 2, pid >> 8, pid & 255]))
        assert await c.wait_ack(pid, 5000)
        assert not c.pending(pid)
        await c.disconnect()
    _run(main())


def test_inflight_is_bounded():
    async def main():
        c = MQTTClient("r1", max_inflight=2, retry_ms=60000)
        b = FakeBroker()
        await c.connect(b)
        p1 = await c.publish(b"a", b"1", 1)
        await c.publish(b"a", b"2", 1)
        t = asyncio.create_task(c.publish(b"a", b"3", 1))
        await asyncio.sleep(0.05)
        assert len([k for k in b.kinds() if k == P.PUBLISH]) == 2  # third waits for a slot
        b.feed(bytes([0x40, 2, p1 >> 8, p1 & 255]))
        await t
        assert len([k for k in b.kinds() if k == P.PUBLISH]) == 3
        await c.disconnect()
    _run(main())


def test_refused_subscription_raises_0x80():
    async def main():
        c = MQTTClient("r1")
        b = FakeBroker()
        await c.connect(b)
        b._answer = lambda kind, data: b.feed(b"\x90\x03" + data[:2] + b"\x80") if kind == 0x80 else None
        try:
            await c.subscribe(b"ht/other/#", 1)
            assert False
        except MQTTError as e:
            assert e.code == 0x80
        await c.disconnect()
    _run(main())


def test_silent_link_declared_dead_after_keepalive():
    async def main():
        c = MQTTClient("r1", keepalive=1)
        b = FakeBroker(pong=False)
        await c.connect(b)
        assert await _poll(lambda: not c.is_connected(), 5000)
        assert "keepalive" in c.reason and P.PINGREQ in b.kinds()
    _run(main())


def test_robust_reconnects_resubscribes_and_resends():
    async def main():
        links = []

        async def opener():
            links.append(FakeBroker())
            return links[-1]
        c = RobustClient(opener, "r1", min_backoff_ms=50, retry_ms=60000)
        await c.subscribe(b"ht/k/tg/1/v/+", 0)
        c.start()
        assert await c.wait_online(5000)
        pid = await c.publish(b"ht/k/em/r1", b"help", 1)  # never acked on link 1
        await links[0].close()  # modem socket dropped under us
        assert await _poll(lambda: len(links) == 2 and c.is_connected() and P.PUBLISH in links[1].kinds())
        second = links[1]
        assert P.SUBSCRIBE & 0xF0 in second.kinds()
        pub = [h for h, d in second.got if h & 0xF0 == P.PUBLISH][0]
        assert pub & 0x08 and c.pending(pid)  # resent with DUP
        await c.stop()
        assert not c.is_connected()
    _run(main())


def test_reconnect_waits_are_jittered_within_half_to_full_backoff():
    # issue 11: a fleet retried at the same instants after a broker restart
    from ht.mqtt.robust import jitter

    class Rng:
        def __init__(self, v):
            self.v = v

        def getrandbits(self, n):
            return self.v
    assert jitter(1000, Rng(0)) == 500 and jitter(1000, Rng(65535)) == 999
    import random
    seen = set(jitter(8000, random) for _ in range(50))
    assert len(seen) > 10 and min(seen) >= 4000 and max(seen) < 8000


def test_stop_returns_when_the_link_comes_up_as_it_stops():
    # The opener finishes in the same turn as stop(): CPython 3.11's wait_for then drops the cancel and
    # the loop went on to connect and wait on a live link, so stop() (an arbiter's shutdown) never returned.
    async def main():
        gate = asyncio.Event()
        links = []

        async def opener():
            await gate.wait()
            links.append(FakeBroker())
            return links[-1]
        c = RobustClient(opener, "r1", min_backoff_ms=50)
        c.start()
        await asyncio.sleep(0.05)
        gate.set()
        await asyncio.wait_for(c.stop(), 10)
        assert not c.is_connected()
        assert await _poll(lambda: all(b.closed for b in links))
    _run(main())
