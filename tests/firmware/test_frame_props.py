"""Property tests for the voice frame: pack -> parse round trip over every field value; random bytes and
mutated frames never crash the parser and are never accepted when a tag is required; our HMAC equals
CPython's hmac module for any key and message."""
import hashlib
import hmac

from hypothesis import given, settings, strategies as st

from ht.voice import codecs, frame
from ht.voice.frame import Frame, Key, pack, parse

PTS = st.sampled_from([codecs.PT_ADPCM, codecs.PT_ULAW])
KEY = Key(b"fleet secret 2026")


@st.composite
def frames(draw):
    pt = draw(PTS)
    ms = draw(st.sampled_from(frame.DURATIONS))
    c = codecs.get(pt)
    return dict(
        flags=draw(st.integers(0, 7)), pt=pt, frame_ms=ms,
        talkgroup=draw(st.integers(0, 0xFFFF)), unit=draw(st.integers(0, 0xFFFFFF)),
        burst=draw(st.integers(0, 255)), seq=draw(st.integers(0, 0xFFFF)),
        state=draw(st.binary(min_size=c.STATE_LEN, max_size=c.STATE_LEN)),
        payload=draw(st.binary(min_size=c.payload_len(ms * 8), max_size=c.payload_len(ms * 8))),
        tagged=draw(st.booleans()))


def _pack(d, key=None):
    c = codecs.get(d["pt"])
    buf = bytearray(frame.packet_len(c, d["frame_ms"], key is not None))
    n = pack(buf, d["flags"], d["pt"], d["frame_ms"], d["talkgroup"], d["unit"], d["burst"], d["seq"],
             d["state"], d["payload"], key)
    assert n == len(buf)
    return bytes(buf)


@given(frames())
def test_pack_parse_round_trip(d):
    key = KEY if d["tagged"] else None
    pkt = _pack(d, key)
    f = Frame()
    assert parse(pkt, f, key) == frame.OK
    got = (f.flags & 7, f.pt, f.frame_ms, f.talkgroup, f.unit, f.burst, f.seq)
    assert got == (d["flags"], d["pt"], d["frame_ms"], d["talkgroup"], d["unit"], d["burst"], d["seq"])
    assert bool(f.flags & frame.F_TAG) == d["tagged"]
    assert pkt[f.state_off:f.payload_off] == d["state"]
    assert pkt[f.payload_off:f.payload_off + f.payload_len] == d["payload"]


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_random_bytes_never_crash_and_never_pass_a_tag_check(data):
    f = Frame()
    r = parse(data, f)
    assert 0 <= r < len(frame.REASONS)
    assert parse(data, f, KEY) != frame.OK


@settings(max_examples=300)
@given(frames(), st.data())
def test_mutated_tagged_frames_are_refused(d, data):
    pkt = bytearray(_pack(d, KEY))
    kind = data.draw(st.sampled_from(["flip", "truncate", "extend", "splice"]))
    if kind == "flip":
        i = data.draw(st.integers(0, len(pkt) - 1))
        pkt[i] ^= data.draw(st.integers(1, 255))
    elif kind == "truncate":
        del pkt[data.draw(st.integers(0, len(pkt) - 1)):]
    elif kind == "extend":
        pkt += data.draw(st.binary(min_size=1, max_size=50))
    else:
        i = data.draw(st.integers(0, len(pkt) - 1))
        repl = data.draw(st.binary(min_size=1, max_size=20))
        new = pkt[:i] + repl + pkt[i + len(repl):]
        if new == pkt:
            return
        pkt = new
    f = Frame()
    assert parse(bytes(pkt), f, KEY) != frame.OK
    assert 0 <= parse(bytes(pkt), f) < len(frame.REASONS)   # without a key: no crash either


@given(st.binary(max_size=200), st.binary(max_size=300))
def test_hmac_equals_cpython_hmac(key, msg):
    assert Key(key).digest(msg) == hmac.new(key, msg, hashlib.sha256).digest()


# -- the receiver as a state machine: any mix of packets, duplicates, junk and times -------------
from array import array  # noqa: E402

from ht.voice import transceiver as voice  # noqa: E402


def _burst_packets(unit, seq, n, ms, key=None):
    tx = voice.Transmitter(1, unit, codecs.PT_ADPCM, ms, key=key, seq=seq)
    pcm = array("h", [((i * 41) % 300 - 150) * 50 for i in range(ms * 8)])
    return [bytes(tx.encode(pcm, last=(i == n - 1))) for i in range(n)]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_receiver_survives_any_arrival_pattern(data):
    ms = data.draw(st.sampled_from([20, 40]))
    pool = []
    for unit in (1, 2):
        seq = data.draw(st.integers(0, 0xFFFF))
        pool += _burst_packets(unit, seq, data.draw(st.integers(1, 12)), ms)
    rx = voice.Receiver(nslots=data.draw(st.sampled_from([4, 8, 16])))
    played = []   # (unit, burst count, seq) of every frame handed to the decoder
    real_next = rx.jb.next

    def spy(now):
        i = real_next(now)
        if i >= 0:
            played.append((rx.jb.unit, rx.jb.bursts, (rx.jb.next_seq - 1) & 0xFFFF))
        return i

    rx.jb.next = spy
    out = array("h", [0] * 160)
    t = data.draw(st.integers(0, (1 << 30) - 1))   # any tick origin, wrap included
    pushes = 0
    bad = 0
    for _ in range(data.draw(st.integers(1, 80))):
        op = data.draw(st.sampled_from(["push", "push", "junk", "pull", "pull"]))
        if op == "push":
            rx.push(data.draw(st.sampled_from(pool)), t)
            pushes += 1
        elif op == "junk":
            if rx.push(data.draw(st.binary(max_size=120)), t) != frame.OK:
                bad += 1
            else:
                pushes += 1
        else:
            kind = rx.pull(t, out)
            assert kind in (voice.SILENCE, voice.VOICE, voice.CONCEALED)
            t = (t + 20) & ((1 << 30) - 1)
    s = rx.stats()
    jb = rx.jb
    assert s["rejected"] == bad
    assert s["received"] + s["late"] + s["duplicate"] + s["busy"] + s["oversize"] == pushes
    assert s["played"] <= s["received"]
    assert 40 <= s["playout_delay_ms"] <= 200 or s["playout_delay_ms"] == 80
    assert jb._count() <= jb.nslots
    # Within a burst, frames play once each and in sequence order (wrap included).
    for a, b in zip(played, played[1:]):
        if a[:2] == b[:2]:
            assert 0 < ((b[2] - a[2]) & 0xFFFF) < 0x8000, (a, b)
