# Portable: runs under CPython (pytest) and MicroPython (tests/mpy_runner.py).
import hashlib
from ht.voice import codecs, frame, transceiver as voice
from ht.voice.frame import Frame, parse, pack, Key


def _hex(b):
    return "".join("%02x" % x for x in b)


def _packet(pt=codecs.PT_ADPCM, ms=20, key=None, flags=frame.F_START, seq=513):
    c = codecs.get(pt)
    buf = bytearray(frame.packet_len(c, ms, key is not None))
    state = bytes([0x12, 0x34, 40])[:c.STATE_LEN]
    payload = bytes([(i * 7) & 0xFF for i in range(c.payload_len(ms * 8))])
    n = pack(buf, flags, pt, ms, 0xBEEF, 0xABCDEF, 201, seq, state, payload, key, epoch=0xC0FFEE)
    assert n == len(buf)
    return buf, state, payload


def test_hmac_matches_rfc4231_vectors():
    # RFC 4231 test case 2 (short key) and 6 (key longer than the block: hashed first)
    k = Key(b"Jefe")
    assert _hex(k.digest(b"what do ya want for nothing?")) == \
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    k = Key(b"\xaa" * 131)
    d = k.digest(b"Test Using Larger Than Block-Size Key - Hash Key First")
    assert _hex(d) == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"


def test_round_trip_every_codec_and_duration():
    for pt in (codecs.PT_ADPCM, codecs.PT_ULAW):
        for ms in (20, 40, 60):
            for key in (None, Key(b"secret")):
                buf, state, payload = _packet(pt, ms, key, frame.F_START | frame.F_EMERG)
                f = Frame()
                assert parse(buf, f, key) == frame.OK
                assert f.pt == pt and f.frame_ms == ms and f.nsamples == ms * 8
                assert f.talkgroup == 0xBEEF and f.unit == 0xABCDEF
                assert f.burst == 201 and f.seq == 513 and f.epoch == 0xC0FFEE
                assert f.flags & frame.F_START and f.flags & frame.F_EMERG
                assert not f.flags & frame.F_END
                assert bytes(buf[f.state_off:f.payload_off]) == state
                assert bytes(buf[f.payload_off:f.payload_off + f.payload_len]) == payload


def test_header_is_thirteen_bytes_and_adpcm_20ms_packet_is_104():
    # 13 header (10 + the 3-byte sender epoch of version 2) + 3 ADPCM state + 80 payload + 8 tag
    assert frame.HDR_LEN == 13 and frame.VERSION == 2
    buf, _, _ = _packet(key=Key(b"k"))
    assert len(buf) == 104


def test_the_tag_covers_the_epoch():
    key = Key(b"k")
    buf, _, _ = _packet(key=key)
    bad = bytearray(buf)
    bad[12] ^= 1                     # a recording passed off as a later boot
    assert parse(bad, Frame(), key) == frame.BAD_TAG


def test_the_epoch_advances_when_the_sequence_wraps():
    from array import array
    tx = voice.Transmitter(1, 2, codecs.PT_ADPCM, 20, b"k", seq=0xFFFE, epoch=0xFFFFFF)
    pcm = array("h", [0] * 160)
    f = Frame()
    seen = []
    for _ in range(3):
        assert parse(bytes(tx.encode(pcm)), f, Key(b"k")) == frame.OK
        seen.append((f.epoch, f.seq))
    assert seen == [(0xFFFFFF, 0xFFFE), (0xFFFFFF, 0xFFFF), (0, 0)] and tx.wraps == 1


def test_parse_reasons():
    f = Frame()
    buf, _, _ = _packet()
    assert parse(b"", f) == frame.TOO_SHORT
    assert parse(bytes(buf[:9]), f) == frame.TOO_SHORT
    assert parse(None, f) == frame.TOO_SHORT
    assert parse("x" * 101, f) == frame.TOO_SHORT            # not bytes at all
    assert parse(list(buf), f, Key(b"k")) == frame.TOO_SHORT  # ints, but not a buffer
    bad = bytearray(buf)
    bad[0] = (1 << 4) | (bad[0] & 0xF)          # version 1 (no epoch) is refused
    assert parse(bad, f) == frame.BAD_VERSION
    assert parse(bytes(buf) + b"x", f) == frame.BAD_LENGTH
    assert parse(bytes(buf[:-1]), f) == frame.BAD_LENGTH
    bad = bytearray(buf)
    bad[1] = (9 << 4) | (bad[1] & 0xF)
    assert parse(bad, f) == frame.UNKNOWN_PT
    bad = bytearray(buf)
    bad[1] = (bad[1] & 0xF0) | 3
    assert parse(bad, f) == frame.BAD_DURATION
    assert frame.REASONS[frame.BAD_TAG] == "bad tag"


def test_tag_required_when_receiver_has_a_key():
    key = Key(b"fleet key")
    f = Frame()
    plain, _, _ = _packet()
    assert parse(plain, f, key) == frame.BAD_TAG          # no tag at all
    signed, _, _ = _packet(key=key)
    assert parse(signed, f, key) == frame.OK
    assert parse(signed, f, Key(b"other key")) == frame.BAD_TAG
    for i in (0, 2, 7, 9, 50, len(signed) - 1):           # any changed byte
        bad = bytearray(signed)
        bad[i] ^= 0x01 if i else 0x04  # byte 0: flip EMERG, keep version and tag flag
        assert parse(bad, f, key) == frame.BAD_TAG, i
    assert parse(signed, f, None) == frame.OK             # no key: tag skipped


def test_transmitter_flags_burst_and_sequence_wrap():
    from array import array
    tx = voice.Transmitter(5, 77, codecs.PT_ADPCM, 20, seq=65534)
    pcm = array("h", [0] * 160)
    f = Frame()
    seen = []
    for i in range(4):
        assert parse(tx.encode(pcm, last=(i == 3)), f) == frame.OK
        seen.append((f.seq, f.flags & 3, f.burst))
    assert seen == [(65534, 1, 1), (65535, 0, 1), (0, 0, 1), (1, 2, 1)]
    tx.begin(emergency=True)
    assert parse(tx.encode(pcm), f) == frame.OK
    assert f.burst == 2 and f.seq == 2 and f.flags & frame.F_EMERG and f.flags & frame.F_START


def test_transmitter_refuses_bad_config():
    for args in ((5, 1, 99, 20), (5, 1, codecs.PT_ADPCM, 30), (70000, 1, codecs.PT_ADPCM, 20),
                 (5, 1 << 24, codecs.PT_ADPCM, 20)):
        try:
            voice.Transmitter(*args)
        except ValueError:
            continue
        assert False, args


def test_hash_module_is_sha256():
    assert len(hashlib.sha256(b"x").digest()) == 32
