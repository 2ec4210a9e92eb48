# MQTT 3.1.1 packet encoding/decoding (OASIS mqtt-v3.1.1, section 2 and 3).
# Pure functions over bytes/bytearrays; no I/O. The voice path calls
# frame_publish(), which writes into a caller-owned buffer and allocates nothing.
from ht.compat import const

CONNECT = const(0x10)
CONNACK = const(0x20)
PUBLISH = const(0x30)
PUBACK = const(0x40)
SUBSCRIBE = const(0x82)  # low nibble 0b0010 is mandatory for SUBSCRIBE/UNSUBSCRIBE (3.8.1)
SUBACK = const(0x90)
UNSUBSCRIBE = const(0xA2)
UNSUBACK = const(0xB0)
PINGREQ = const(0xC0)
PINGRESP = const(0xD0)
DISCONNECT = const(0xE0)

MAX_REMAINING = const(268435455)  # 4-byte varint limit (2.2.3)

PINGREQ_PKT = b"\xc0\x00"
DISCONNECT_PKT = b"\xe0\x00"

# CONNACK return codes (3.2.2.3) -> text a technician can act on.
CONNACK_TEXT = {
    1: "broker refused: unacceptable protocol version",
    2: "broker refused: client id rejected",
    3: "broker refused: server unavailable",
    4: "broker refused: bad username or password",
    5: "broker refused: not authorised (check username and password)",
}


class MQTTError(Exception):
    # code: CONNACK return code (1..5), 0x80 for a refused subscription, 0 for protocol errors.
    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code


def varint_size(n):
    if n < 128:
        return 1
    if n < 16384:
        return 2
    if n < 2097152:
        return 3
    return 4


def put_varint(buf, off, n):
    # Remaining length, 7 bits per byte, continuation bit 0x80 (2.2.3).
    if n < 0 or n > MAX_REMAINING:
        raise ValueError("remaining length out of range")
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            buf[off] = b | 0x80
            off += 1
        else:
            buf[off] = b
            return off + 1


def get_varint(buf, off, end):
    # -> (value, next offset), or (-1, off) when the bytes so far are incomplete.
    # ValueError when the varint is longer than 4 bytes (malformed).
    n = 0
    shift = 0
    i = off
    while i < end:
        b = buf[i]
        n |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return n, i
        shift += 7
        if shift >= 28:
            raise ValueError("remaining length longer than 4 bytes")
    return -1, off


def _put_str(buf, off, s):
    n = len(s)
    if n > 65535:
        raise ValueError("string longer than 65535 bytes")
    buf[off] = n >> 8
    buf[off + 1] = n & 0xFF
    buf[off + 2:off + 2 + n] = s
    return off + 2 + n


def _b(s):
    return s.encode() if isinstance(s, str) else bytes(s)


def connect(client_id, keepalive=60, clean=True, user=None, password=None, will=None):
    # will: (topic, payload, qos, retain) or None. Strings are encoded as UTF-8.
    cid = _b(client_id)
    flags = 0x02 if clean else 0
    body = 10 + 2 + len(cid)
    if will:
        wt, wp = _b(will[0]), _b(will[1])
        flags |= 0x04 | ((will[2] & 3) << 3) | (0x20 if will[3] else 0)
        body += 4 + len(wt) + len(wp)
    if user is not None:
        user = _b(user)
        flags |= 0x80
        body += 2 + len(user)
        if password is not None:
            password = _b(password)
            flags |= 0x40
            body += 2 + len(password)
    buf = bytearray(1 + varint_size(body) + body)
    buf[0] = CONNECT
    off = put_varint(buf, 1, body)
    off = _put_str(buf, off, b"MQTT")
    buf[off] = 4  # protocol level 4 = 3.1.1
    buf[off + 1] = flags
    buf[off + 2] = (keepalive >> 8) & 0xFF
    buf[off + 3] = keepalive & 0xFF
    off = _put_str(buf, off + 4, cid)
    if will:
        off = _put_str(buf, off, wt)
        off = _put_str(buf, off, wp)
    if user is not None:
        off = _put_str(buf, off, user)
        if password is not None:
            off = _put_str(buf, off, password)
    return buf


def publish_size(topic_len, payload_len, qos):
    body = 2 + topic_len + payload_len + (2 if qos else 0)
    return 1 + varint_size(body) + body


def frame_publish(buf, topic, payload, qos=0, retain=False, pid=0, dup=False):
    # Writes a whole PUBLISH into buf and returns its length. No allocation:
    # topic is pre-encoded bytes, payload any buffer. Raises ValueError if buf is too small.
    tl = len(topic)
    pl = len(payload)
    body = 2 + tl + pl + (2 if qos else 0)
    if 1 + varint_size(body) + body > len(buf):
        raise ValueError("packet larger than buffer")
    buf[0] = PUBLISH | (8 if dup else 0) | (qos << 1) | (1 if retain else 0)
    off = put_varint(buf, 1, body)
    off = _put_str(buf, off, topic)
    if qos:
        buf[off] = pid >> 8
        buf[off + 1] = pid & 0xFF
        off += 2
    buf[off:off + pl] = payload
    return off + pl


def subscribe(pid, topics):
    # topics: list of (topic, qos)
    enc = [(_b(t), q) for t, q in topics]
    body = 2 + sum(3 + len(t) for t, q in enc)
    buf = bytearray(1 + varint_size(body) + body)
    buf[0] = SUBSCRIBE
    off = put_varint(buf, 1, body)
    buf[off] = pid >> 8
    buf[off + 1] = pid & 0xFF
    off += 2
    for t, q in enc:
        off = _put_str(buf, off, t)
        buf[off] = q
        off += 1
    return buf


def unsubscribe(pid, topics):
    enc = [_b(t) for t in topics]
    body = 2 + sum(2 + len(t) for t in enc)
    buf = bytearray(1 + varint_size(body) + body)
    buf[0] = UNSUBSCRIBE
    off = put_varint(buf, 1, body)
    buf[off] = pid >> 8
    buf[off + 1] = pid & 0xFF
    off += 2
    for t in enc:
        off = _put_str(buf, off, t)
    return buf


def put_ack(buf, kind, pid):
    # PUBACK (and friends) into a preallocated 4-byte buffer.
    buf[0] = kind
    buf[1] = 2
    buf[2] = pid >> 8
    buf[3] = pid & 0xFF
    return buf


def parse_publish(buf, start, end, flags):
    # PUBLISH body in buf[start:end] -> (topic_start, topic_end, pid, payload_start).
    if end - start < 2:
        raise ValueError("PUBLISH too short")
    tl = (buf[start] << 8) | buf[start + 1]
    ts = start + 2
    te = ts + tl
    qos = (flags >> 1) & 3
    if qos == 3:
        raise ValueError("PUBLISH with QoS 3")
    if te + (2 if qos else 0) > end:
        raise ValueError("PUBLISH topic overruns packet")
    pid = 0
    ps = te
    if qos:
        pid = (buf[te] << 8) | buf[te + 1]
        ps = te + 2
        if pid == 0:
            raise ValueError("PUBLISH with packet id 0")
    return ts, te, pid, ps


def topic_matches(filt, topic):
    # MQTT wildcard match (4.7): '+' one level, '#' this level and below.
    # Topics beginning with '$' are not matched by a leading wildcard (4.7.2).
    f = (filt if isinstance(filt, str) else bytes(filt).decode()).split("/")
    t = (topic if isinstance(topic, str) else bytes(topic).decode()).split("/")
    if t[0][:1] == "$" and f[0] in ("+", "#"):
        return False
    for i, part in enumerate(f):
        if part == "#":
            return True
        if i >= len(t):
            return False
        if part != "+" and part != t[i]:
            return False
    return len(f) == len(t)
