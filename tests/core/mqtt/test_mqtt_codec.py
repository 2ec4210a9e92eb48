# MQTT 3.1.1 packet codec and topic scheme (portable: CPython and MicroPython).
from ht.mqtt import packet as P
from ht.radio import topics
from ht.compat import IS_MPY


def _varint(n):
    buf = bytearray(4)
    end = P.put_varint(buf, 0, n)
    return bytes(buf[:end])


def test_remaining_length_edges_from_spec_table():
    # OASIS 3.1.1 table 2.4: the boundaries where the varint grows a byte
    assert _varint(0) == b"\x00"
    assert _varint(127) == b"\x7f"
    assert _varint(128) == b"\x80\x01"
    assert _varint(16383) == b"\xff\x7f"
    assert _varint(16384) == b"\x80\x80\x01"
    assert _varint(2097151) == b"\xff\xff\x7f"
    assert _varint(2097152) == b"\x80\x80\x80\x01"
    assert _varint(268435455) == b"\xff\xff\xff\x7f"


def test_remaining_length_round_trip_and_sizes():
    for n in (0, 1, 127, 128, 129, 16383, 16384, 16385, 2097151, 2097152, 268435455):
        enc = _varint(n)
        assert len(enc) == P.varint_size(n)
        assert P.get_varint(enc, 0, len(enc)) == (n, len(enc))


def test_remaining_length_out_of_range_and_malformed():
    for bad in (-1, 268435456):
        try:
            _varint(bad)
            assert False, "accepted %d" % bad
        except ValueError:
            pass
    try:
        P.get_varint(b"\xff\xff\xff\xff\x01", 0, 5)
        assert False, "5-byte varint accepted"
    except ValueError:
        pass


def test_incomplete_varint_asks_for_more():
    assert P.get_varint(b"\x80\x80", 0, 2) == (-1, 0)
    assert P.get_varint(b"", 0, 0) == (-1, 0)


def test_connect_packet_bytes():
    pkt = P.connect("r1", keepalive=30, clean=True, user="u", password="pw",
                    will=(b"ht/k/u/r1/p", b"0", 1, True))
    body = (b"\x00\x04MQTT\x04" + bytes([0x80 | 0x40 | 0x20 | 0x08 | 0x04 | 0x02]) + b"\x00\x1e"
            + b"\x00\x02r1" + b"\x00\x0bht/k/u/r1/p" + b"\x00\x010" + b"\x00\x01u" + b"\x00\x02pw")
    assert bytes(pkt) == b"\x10" + bytes([len(body)]) + body


def test_connect_minimal_has_only_clean_session_flag():
    pkt = P.connect("x", keepalive=0, clean=True)
    assert bytes(pkt) == b"\x10\x0d\x00\x04MQTT\x04\x02\x00\x00\x00\x01x"


def test_publish_qos0_and_qos1_framing():
    buf = bytearray(64)
    n = P.frame_publish(buf, b"a/b", b"hi", 0)
    assert bytes(buf[:n]) == b"\x30\x07\x00\x03a/bhi"
    n = P.frame_publish(buf, b"a/b", b"hi", 1, True, 0x1234, True)
    assert bytes(buf[:n]) == b"\x3b\x09\x00\x03a/b\x12\x34hi"
    assert P.publish_size(3, 2, 1) == n


def test_publish_crossing_128_byte_remaining_length():
    topic = b"ht/kota/tg/1/v/u07"
    for plen in (107, 108, 16363, 16364):  # remaining length 127/128/16383/16384
        buf = bytearray(P.publish_size(len(topic), plen, 0))
        n = P.frame_publish(buf, topic, bytes(plen), 0)
        assert n == len(buf)
        rl, body = P.get_varint(buf, 1, n)
        assert rl == 2 + len(topic) + plen
        ts, te, pid, ps = P.parse_publish(buf, body, n, buf[0] & 15)
        assert bytes(buf[ts:te]) == topic and n - ps == plen and pid == 0


def test_publish_too_big_for_buffer_is_refused():
    try:
        P.frame_publish(bytearray(10), b"a/b", bytes(20), 0)
        assert False
    except ValueError:
        pass


def test_parse_publish_rejects_malformed():
    for body, flags in ((b"\x00", 0), (b"\x00\x09ab", 0), (b"\x00\x01a\x00\x00", 2), (b"\x00\x01a", 6)):
        buf = bytearray(body)
        try:
            P.parse_publish(buf, 0, len(buf), flags)
            assert False, "accepted %r" % body
        except ValueError:
            pass


def test_subscribe_unsubscribe_ack_packets():
    assert bytes(P.subscribe(10, [(b"a/+", 1), ("b/#", 0)])) == \
        b"\x82\x0e\x00\x0a\x00\x03a/+\x01\x00\x03b/#\x00"
    assert bytes(P.unsubscribe(11, ["a/+"])) == b"\xa2\x07\x00\x0b\x00\x03a/+"
    assert bytes(P.put_ack(bytearray(4), P.PUBACK, 0x0102)) == b"\x40\x02\x01\x02"


def test_topic_wildcards():
    assert P.topic_matches("ht/k/tg/1/v/+", "ht/k/tg/1/v/u1")
    assert not P.topic_matches("ht/k/tg/1/v/+", "ht/k/tg/1/v/u1/x")
    assert P.topic_matches("ht/#", "ht/k/u/u1/p")
    assert P.topic_matches("ht/k/#", "ht/k")
    assert not P.topic_matches("ht/k/+", "ht/k")
    assert P.topic_matches(b"+/+", b"a/b")
    assert not P.topic_matches("#", "$SYS/broker/uptime")


def test_framing_voice_publish_does_not_allocate():
    # The voice path frames every 20-60 ms; on MicroPython prove it with the heap locked.
    buf = bytearray(300)
    topic = topics.voice("kota", "1", "u07")
    payload = memoryview(bytearray(160))
    P.frame_publish(buf, topic, payload, 0)
    if IS_MPY:
        import micropython
        micropython.heap_lock()
        try:
            n = P.frame_publish(buf, topic, payload, 0)
        finally:
            micropython.heap_unlock()
    else:
        n = P.frame_publish(buf, topic, payload, 0)
    assert n == 2 + 2 + len(topic) + 160 + (1 if 2 + len(topic) + 160 > 127 else 0)


def test_topic_scheme_round_trip():
    assert topics.voice("kota", "1", "u07") == b"ht/kota/tg/1/v/u07"
    assert topics.parse(topics.voice("kota", "1", "u07")) == ("v", "kota", "1", "u07")
    assert topics.parse(topics.floor("kota", "2", "cc")) == ("f", "kota", "2", "cc")
    assert topics.parse(topics.unit_topic("kota", "u07", topics.PRESENCE)) == ("p", "kota", None, "u07")
    assert topics.parse(topics.emergency("kota", "u07")) == ("em", "kota", None, "u07")
    assert topics.parse(topics.rollcall("kota")) == ("rc", "kota", None, None)
    assert topics.parse(b"ht/kota/zz") is None and topics.parse("other/x/y") is None


def test_topic_names_cannot_inject_wildcards():
    for bad in ("a/b", "+", "#", ""):
        try:
            topics.voice("kota", "1", bad)
            assert False, "accepted unit %r" % bad
        except ValueError:
            pass


def test_unit_rights_cover_only_its_own_topics():
    pub, sub = topics.unit_rights("kota", "u07", ["1", "3"])
    assert "ht/kota/u/u07/p" in pub and "ht/kota/tg/3/v/u07" in pub
    assert not any(P.topic_matches(f, "ht/kota/u/u08/p") for f in pub)
    assert not any(P.topic_matches(f, "ht/kota/tg/2/v/u07") for f in pub)
    assert not any(P.topic_matches(f, "ht/kota/tg/all/v/u07") for f in pub)
    assert "ht/kota/tg/1/v/+" in sub and "ht/kota/u/u07/c" in sub
