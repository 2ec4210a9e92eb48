"""The radio's MQTT receive side gives the same outcome however the byte stream is cut into reads
(issue 11: an oversized packet whose header was split across reads killed the link or was dropped
depending on where the boundary fell). Outcome = messages delivered, oversized drops counted, PUBACKs
written, link state. Also the mqtt_fuzz_chunking_divergent benchmark's engine."""
import asyncio
import random

from hypothesis import HealthCheck, given, settings, strategies as st

from ht.mqtt import packet as P
from ht.mqtt.rx import Reader

MAX = 256       # the Reader's buffer in these tests (the radio's is 1536)


class _Stream:
    def __init__(self, chunks):
        self.chunks = list(chunks)

    async def recv(self, n):
        if not self.chunks:
            return b""
        c = self.chunks[0]
        if len(c) > n:
            self.chunks[0] = c[n:]
            return c[:n]
        self.chunks.pop(0)
        return c


class _Client:
    def __init__(self):
        self.got, self.acks, self.dropped = [], [], None

    def on_message(self, topic, payload, retained):
        self.got.append((topic, bytes(payload)))

    async def _write(self, pkt):
        self.acks.append(bytes(pkt))

    def _drop(self, reason):
        self.dropped = reason.split(":")[0]

    def _on_ack(self, pid, codes):
        pass


class _Clock:
    last_rx = 0
    ping_out = False


def outcome(data, cuts):
    """Run a Reader over data cut at cuts -> (delivered, dropped_big, acks, link end)."""
    cuts = sorted(set(c for c in cuts if 0 < c < len(data)))
    chunks = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
    c = _Client()
    stats = {"rx": 0, "dropped_big": 0, "handler_errors": 0}
    r = Reader(c, MAX, _Clock(), stats)
    s = _Stream(chunks)

    async def main():
        r._s = s
        await r._run(s, 0, 0)
    asyncio.run(main())
    return c.got, stats["dropped_big"], c.acks, c.dropped


def publish(topic, payload, qos, pid):
    buf = bytearray(P.publish_size(len(topic), len(payload), qos))
    P.frame_publish(buf, topic, payload, qos, False, pid if qos else 0, False)
    return bytes(buf)


def packet(kind, size, qos, pid):
    # kind: small publish, big publish (payload past the buffer), huge topic, PINGRESP, oversized SUBACK
    if kind == 0:
        return publish(b"ht/kota/v/1", bytes(size % 120), qos, pid)
    if kind == 1:
        return publish(b"ht/kota/p/u1", b"\xaa" * (MAX + size), qos, pid)
    if kind == 2:
        return publish(b"t" * (MAX + size), b"x", qos, pid)
    if kind == 3:
        return b"\xd0\x00"
    body = b"\x00\x01" + b"\x00" * (MAX + size)
    buf = bytearray(1 + P.varint_size(len(body)))
    buf[0] = P.SUBACK
    P.put_varint(buf, 1, len(body))
    return bytes(buf) + body


def stream(rng, n):
    out = []
    for i in range(n):
        k = rng.choice((0, 0, 0, 1, 2, 3, 4)) if rng.random() < 0.98 else 4
        if k == 4 and rng.random() < 0.7:
            k = 1
        out.append(packet(k, rng.randrange(0, 3000), rng.randrange(2), 1 + i))
    return b"".join(out)


packets = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 2000), st.integers(0, 1)), min_size=1,
                   max_size=12)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packets, st.lists(st.integers(0, 40000), max_size=30), st.lists(st.integers(0, 40000), max_size=30))
def test_same_stream_any_chunking_same_outcome(pkts, cuts_a, cuts_b):
    data = b"".join(packet(k, size, qos, i + 1) for i, (k, size, qos) in enumerate(pkts))
    whole = outcome(data, [])
    assert outcome(data, cuts_a) == whole
    assert outcome(data, cuts_b) == whole
    assert outcome(data, range(1, len(data))) == whole if len(data) < 3000 else True
    got, drops, acks, link = whole
    bigs = [k for k, _, _ in pkts if k in (1, 2)]
    if 4 not in [k for k, _, _ in pkts]:
        assert drops == len(bigs) and link == "broker closed the connection"
        assert len(got) == sum(1 for k, _, _ in pkts if k == 0)
        assert len(acks) == sum(1 for k, _, q in pkts if q and k in (0, 1, 2))


def divergent(n_streams=200, seed=1, packets_per_stream=8, chunkings=3):
    """-> (streams, streams whose outcome differed between random chunkings)"""
    rng = random.Random(seed)
    bad = 0
    for _ in range(n_streams):
        data = stream(rng, packets_per_stream)
        ref = outcome(data, [])
        for _ in range(chunkings):
            cuts = [rng.randrange(len(data)) for _ in range(rng.randrange(1, 40))]
            if outcome(data, cuts) != ref:
                bad += 1
                break
    return n_streams, bad


def test_fuzzed_streams_never_diverge():
    assert divergent(40)[1] == 0
