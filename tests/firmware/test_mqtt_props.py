"""Property tests for the MQTT codec and the client's receive path (hypothesis)."""
import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ht.mqtt import packet as P
from ht.radio import topics
from ht.mqtt.client import MQTTClient
from ht.mqtt.robust import RobustClient

from core.mqtt.test_mqtt_client import FakeBroker

level = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=8)
topic_st = st.lists(level, min_size=1, max_size=6).map(lambda ps: "/".join(ps).encode())
payload_st = st.binary(max_size=600)


@given(st.integers(0, P.MAX_REMAINING))
def test_varint_round_trip(n):
    buf = bytearray(4)
    end = P.put_varint(buf, 0, n)
    assert end == P.varint_size(n)
    assert P.get_varint(buf, 0, end) == (n, end)
    if end > 1:  # any proper prefix is "incomplete", never a wrong value
        assert P.get_varint(buf, 0, end - 1) == (-1, 0)


@given(topic_st, payload_st, st.integers(0, 1), st.booleans(), st.integers(1, 65535), st.booleans())
def test_publish_round_trip(topic, payload, qos, retain, pid, dup):
    buf = bytearray(P.publish_size(len(topic), len(payload), qos))
    n = P.frame_publish(buf, topic, payload, qos, retain, pid if qos else 0, dup)
    assert n == len(buf)
    rl, body = P.get_varint(buf, 1, n)
    assert body + rl == n
    assert buf[0] & 0xF0 == P.PUBLISH and (buf[0] >> 1) & 3 == qos
    assert bool(buf[0] & 1) == retain and bool(buf[0] & 8) == dup
    ts, te, got_pid, ps = P.parse_publish(buf, body, n, buf[0] & 15)
    assert bytes(buf[ts:te]) == topic and bytes(buf[ps:n]) == payload
    assert got_pid == (pid if qos else 0)


@given(st.lists(level, min_size=1, max_size=5), st.data())
def test_wildcard_filters_match_like_the_spec(parts, data):
    topic = "/".join(parts)
    i = data.draw(st.integers(0, len(parts) - 1))
    plus = "/".join(parts[:i] + ["+"] + parts[i + 1:])
    hash_ = "/".join(parts[:i] + ["#"])
    assert P.topic_matches(plus, topic) and P.topic_matches(hash_, topic)
    assert not P.topic_matches(topic + "/x", topic)
    assert not P.topic_matches(plus + "/+", topic)


def _frames(msgs):
    out = b""
    for i, (t, p, q) in enumerate(msgs):
        buf = bytearray(P.publish_size(len(t), len(p), q))
        P.frame_publish(buf, t, p, q, False, i + 1 if q else 0)
        out += bytes(buf)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(topic_st, st.binary(max_size=300), st.integers(0, 1)), min_size=1, max_size=8),
       st.integers(1, 64))
def test_any_chunking_delivers_every_message_in_order(msgs, chunk):
    async def main():
        got = []
        c = MQTTClient("p", max_packet=512)
        c.on_message = lambda t, p, r: got.append((t, bytes(p)))
        b = FakeBroker(chunk=chunk)
        await c.connect(b)
        b.feed(_frames(msgs))
        for _ in range(2000):
            if len(got) == len(msgs):
                break
            await asyncio.sleep(0.001)
        acks = [d for h, d in b.got if h == 0x40]
        await c.disconnect()
        return got, acks
    got, acks = asyncio.run(main())
    assert got == [(t, p) for t, p, q in msgs]
    assert len(acks) == sum(q for t, p, q in msgs)  # one PUBACK per QoS 1 message


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=1, max_size=200), st.integers(1, 32))
def test_garbage_from_network_never_crashes_the_client(junk, chunk):
    async def main():
        c = MQTTClient("p", max_packet=128)
        c.on_message = lambda t, p, r: None
        b = FakeBroker(chunk=chunk)
        await c.connect(b)
        b.feed(junk)
        for _ in range(50):
            await asyncio.sleep(0)
        alive = c.is_connected()
        reason = c.reason
        if alive:  # still up means still listening, not a reader task that died quietly
            assert not any(t.done() for t in c._tasks)
        await c.disconnect()
        return alive, reason
    alive, reason = asyncio.run(main())
    # either the bytes were (a prefix of) valid packets, or the link closed with a stated reason
    assert alive or "malformed" in reason or "exceeds" in reason


@given(st.sampled_from(["kota", "bdg", "k1"]), st.text("0123456789", min_size=1, max_size=3),
       st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6))
def test_topic_scheme_parse_inverts_builders(fleet, tg, unit):
    assert topics.parse(topics.voice(fleet, tg, unit)) == ("v", fleet, tg, unit)
    assert topics.parse(topics.floor(fleet, tg, unit)) == ("f", fleet, tg, unit)
    for kind in (topics.PRESENCE, topics.TELEMETRY, topics.COMMAND, topics.ACK):
        assert topics.parse(topics.unit_topic(fleet, unit, kind)) == (kind, fleet, None, unit)
    assert P.topic_matches(topics.talkgroup_sub(fleet, tg, "v"), topics.voice(fleet, tg, unit))


class AckingBroker(FakeBroker):
    auto_ack = False

    def _answer(self, kind, data):
        FakeBroker._answer(self, kind, data)
        if kind == P.PUBLISH and self.auto_ack:
            self.ack_all()

    def published(self):
        out = []
        for h, d in self.got:
            if h & 0xF0 == P.PUBLISH:
                ts, te, pid, ps = P.parse_publish(d, 0, len(d), h & 15)
                out.append((pid, bytes(d[ps:])))
        return out

    def ack_all(self):
        for pid, _ in self.published():
            self.feed(bytes([0x40, 2, pid >> 8, pid & 255]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["pub", "pub", "ack", "drop"]), min_size=1, max_size=12))
def test_qos1_survives_any_sequence_of_link_drops(ops):
    # At-least-once across reconnects: whatever order publishes, acks and dropped links
    # come in, every QoS 1 message reaches a broker and ends acknowledged.
    async def main():
        links = []
        healthy = [False]

        async def opener():
            b = AckingBroker()
            b.auto_ack = healthy[0]
            links.append(b)
            return b
        c = RobustClient(opener, "r", min_backoff_ms=5, max_backoff_ms=20, retry_ms=60000, max_inflight=32)
        c.start()
        assert await c.wait_online(5000)
        sent = []
        for i, op in enumerate(ops):
            if op == "pub":
                payload = b"m%d" % i
                sent.append((await c.publish(b"ht/k/em/r", payload, 1), payload))
            elif op == "ack":
                links[-1].ack_all()
            else:
                await links[-1].close()
                for _ in range(500):
                    if c.is_connected():
                        break
                    await asyncio.sleep(0.002)
            await asyncio.sleep(0)
        healthy[0] = True
        await links[-1].close()  # final link acks everything it gets
        for _ in range(3000):
            if all(not c.pending(pid) for pid, _ in sent):
                break
            await asyncio.sleep(0.002)
        delivered = set(p for b in links for _, p in b.published())
        pending = [pid for pid, _ in sent if c.pending(pid)]
        await c.stop()
        return sent, delivered, pending
    sent, delivered, pending = asyncio.run(main())
    assert pending == []
    assert set(p for _, p in sent) <= delivered
