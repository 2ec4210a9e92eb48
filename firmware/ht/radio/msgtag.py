# Authentication tags on control messages (issue 11): floor claims/releases/heartbeats, the arbiter's floor
# records, emergency alerts, the Command Center's acknowledgements and commands, roll calls and their answers.
# The broker's ACL says who may publish where; the tag says the payload was made by a holder of the fleet key
# and was not moved to another topic: 8 bytes of HMAC-SHA256(key, topic | 0x00 | payload) appended to the
# payload (the same truncation as the voice frame's tag, docs/FRAME.md). Cost: 8 bytes a message, about
# 2 % of an idle hour's control traffic (docs/TOPICS.md). Presence and telemetry stay untagged: the
# heartbeat is the fleet's most frequent message and says nothing anyone acts on but "online".
# During a key rotation a Tagger signs with the new key and accepts the old one too (docs/PROVISION.md).
# Control messages are rare: this allocates (HMAC objects, the joined bytes), unlike the voice path.
from ht.voice import frame
from ht.radio import topics as T

TAG_LEN = 8
KINDS = (T.FLOOR, T.GRANTS, T.COMMAND, T.ACK, T.ROLLCALL, T.EMERGENCY)


def _b(x):
    return x.encode() if isinstance(x, str) else bytes(x)


class Tagger:
    # key: the fleet key that signs (bytes, or a frame.Key); accept: older keys still taken (rotation overlap).
    def __init__(self, key, accept=()):
        self.key = frame.as_key(key)
        self.keys = [self.key] + [frame.as_key(k) for k in accept if k]

    def tag(self, topic, payload, key=None):
        return (key or self.key).digest(_b(topic) + b"\x00" + _b(payload))[:TAG_LEN]

    def seal(self, topic, payload):
        # An empty payload clears a retained message: it stays empty (nothing to authenticate).
        if not payload:
            return payload
        return _b(payload) + self.tag(topic, payload)

    def open(self, topic, payload):
        # -> the payload without its tag, or None when no accepted key made the tag. Empty stays empty.
        if not payload:
            return b""
        n = len(payload) - TAG_LEN
        if n < 1:
            return None
        body = bytes(payload[:n])
        got = bytes(payload[n:])
        for k in self.keys:
            t = self.tag(topic, body, k)
            x = 0
            for i in range(TAG_LEN):
                x |= t[i] ^ got[i]
            if x == 0:
                return body
        return None


def kind_of(topic):
    p = T.parse(topic)
    return None if p is None else p[0]


def needs_tag(topic):
    return kind_of(topic) in KINDS


# Key rotation over the air (`htctl fleet key rotate`): the Command Center sends each unit, on its own command
# topic, {"rekey": hex, "kid": key_id(new)} tagged with the current key; hex is the new key XOR HMAC-SHA256(current key,
# "ht-rekey" 0x00 unit) -- only a holder of the current key learns the new one. {"retire": 1}, tagged with
# the new key, ends the overlap. Keys are 16-32 bytes (the registry makes 32).
def _pad(key, unit):
    return frame.as_key(key).digest(b"ht-rekey\x00" + _b(unit))


def wrap(old, unit, new):
    if not 16 <= len(new) <= 32:
        raise ValueError("a rotated key is 16-32 bytes")
    p = _pad(old, unit)
    return bytes([new[i] ^ p[i] for i in range(len(new))])


def unwrap(old, unit, wrapped):
    return wrap(old, unit, wrapped)


def key_id(key):
    # 8 hex digits naming a key without revealing it (rotation commands and logs)
    return "".join("%02x" % b for b in frame.as_key(key).digest(b"ht-key-id")[:4])
