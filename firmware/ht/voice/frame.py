# Voice frame: pack and parse (layout byte by byte in docs/FRAME.md).
# Every byte counts: at 20 ms frames a radio sends 50 packets/s, so one header byte
# is 3 KB per talk-minute. The layout is fixed by (payload type, frame duration,
# tag flag), so the parser checks the exact length instead of trusting a length field.
# parse() never raises for bad input: it returns a reason code the caller counts.
import hashlib
from ht.voice import codecs

VERSION = 2
HDR_LEN = 13     # version 2 adds the sender epoch (3 bytes) after the sequence: replay bound to the boot
TAG_LEN = 8  # truncated HMAC-SHA256 (64 bits, like SRTP's 80-bit tags minus 2 bytes)

# Flags: low nibble of byte 0 (version is the high nibble).
F_START = 0x1
F_END = 0x2
F_EMERG = 0x4
F_TAG = 0x8

# 20 and 40 ms for speech latency; 60 ms trades 40 ms of delay for a third fewer
# packets (bytes per talk-minute, docs/FRAME.md).
DURATIONS = (20, 40, 60)

OK = 0
TOO_SHORT = 1
BAD_VERSION = 2
BAD_LENGTH = 3
UNKNOWN_PT = 4
BAD_TAG = 5
BAD_DURATION = 6
REASONS = ("ok", "too short", "bad version", "bad length", "unknown payload type", "bad tag",
           "bad duration")


class Key:
    # HMAC-SHA256 per RFC 2104, built on hashlib alone: MicroPython has no hmac
    # module. The padded inner/outer keys are computed once per key, not per frame.
    def __init__(self, key):
        if isinstance(key, str):
            key = key.encode()
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        k = bytearray(64)
        for i in range(len(key)):
            k[i] = key[i]
        self.ipad = bytes([b ^ 0x36 for b in k])
        self.opad = bytes([b ^ 0x5C for b in k])
        self.also = None      # another Key whose tags are accepted too (a rotation's overlap); never signs

    def digest(self, data):
        h = hashlib.sha256(self.ipad)
        h.update(data)
        inner = h.digest()
        h = hashlib.sha256(self.opad)
        h.update(inner)
        return h.digest()

    def sign(self, buf, n):
        # Writes the tag over buf[0:n] at buf[n:n+TAG_LEN].
        d = self.digest(_head(buf, n))
        for i in range(TAG_LEN):
            buf[n + i] = d[i]

    def check(self, buf, n):
        # Constant-time compare so timing does not leak how many tag bytes matched.
        d = self.digest(_head(buf, n))
        x = 0
        for i in range(TAG_LEN):
            x |= d[i] ^ buf[n + i]
        if x and self.also is not None:
            return self.also.check(buf, n)
        return x == 0


def _head(buf, n):
    # buf[0:n] without a copy. A received frame is already a memoryview (into the MQTT buffer):
    # slicing it directly makes one view instead of two, per frame on every listener.
    if isinstance(buf, memoryview):
        return buf[:n]
    return memoryview(buf)[:n]


def key_ring(new, old):
    # A Key that signs with `new` and accepts tags made with `new` or `old` (key rotation overlap).
    k = Key(new)
    k.also = Key(old)
    return k


def as_key(key):
    if key is None or isinstance(key, Key):
        return key
    return Key(key)


def packet_len(codec, frame_ms, tagged):
    return HDR_LEN + codec.STATE_LEN + codec.payload_len(frame_ms * 8) + (TAG_LEN if tagged else 0)


def pack_header(buf, flags, pt, frame_ms, talkgroup, unit, burst, seq, epoch=0):
    buf[0] = (VERSION << 4) | (flags & 0xF)
    buf[1] = (pt << 4) | (frame_ms // 10)
    buf[2] = (talkgroup >> 8) & 0xFF
    buf[3] = talkgroup & 0xFF
    buf[4] = (unit >> 16) & 0xFF
    buf[5] = (unit >> 8) & 0xFF
    buf[6] = unit & 0xFF
    buf[7] = burst & 0xFF
    buf[8] = (seq >> 8) & 0xFF
    buf[9] = seq & 0xFF
    buf[10] = (epoch >> 16) & 0xFF
    buf[11] = (epoch >> 8) & 0xFF
    buf[12] = epoch & 0xFF


_BUFFERS = (bytes, bytearray, memoryview)  # built once: a tuple literal per call would allocate


class Frame:
    # A parsed frame. Header fields are plain ints; state and payload stay in the
    # packet (at .state_off / .payload_off) so parsing copies nothing.
    def __init__(self):
        self.clear()

    def clear(self):
        self.flags = 0
        self.pt = 0
        self.frame_ms = 0
        self.talkgroup = 0
        self.unit = 0
        self.burst = 0
        self.seq = 0
        self.epoch = 0
        self.codec = None
        self.nsamples = 0
        self.state_off = HDR_LEN
        self.payload_off = HDR_LEN
        self.payload_len = 0
        self.length = 0


def parse(data, frame, key=None):
    # Returns OK or a reason code; fills `frame` only as far as the checks went.
    # With a key, a frame without a valid tag is refused (BAD_TAG). Without a key
    # a tag is skipped unchecked: the receiver did not ask for authentication.
    if not isinstance(data, _BUFFERS):  # the tag check and the slot copies need a buffer
        return TOO_SHORT
    n = len(data)
    if n < HDR_LEN:
        return TOO_SHORT
    b0 = data[0]
    b1 = data[1]
    if (b0 >> 4) != VERSION:
        return BAD_VERSION
    flags = b0 & 0xF
    pt = b1 >> 4
    frame_ms = (b1 & 0xF) * 10
    codec = codecs.get(pt)
    if codec is None:
        return UNKNOWN_PT
    if frame_ms != 20 and frame_ms != 40 and frame_ms != 60:
        return BAD_DURATION
    nsamples = frame_ms * 8
    plen = codec.payload_len(nsamples)
    body = HDR_LEN + codec.STATE_LEN + plen
    tagged = flags & F_TAG
    if n != body + (TAG_LEN if tagged else 0):
        return BAD_LENGTH
    if key is not None and not (tagged and key.check(data, body)):
        return BAD_TAG
    f = frame
    f.flags = flags
    f.pt = pt
    f.frame_ms = frame_ms
    f.talkgroup = (data[2] << 8) | data[3]
    f.unit = (data[4] << 16) | (data[5] << 8) | data[6]
    f.burst = data[7]
    f.seq = (data[8] << 8) | data[9]
    f.epoch = (data[10] << 16) | (data[11] << 8) | data[12]
    f.codec = codec
    f.nsamples = nsamples
    f.state_off = HDR_LEN
    f.payload_off = HDR_LEN + codec.STATE_LEN
    f.payload_len = plen
    f.length = n
    return OK


def pack(buf, flags, pt, frame_ms, talkgroup, unit, burst, seq, state, payload, key=None, epoch=0):
    # Convenience packer for tests and tools (the Transmitter packs in place instead).
    # `state` is the codec's packed state bytes, `payload` the encoded samples.
    # Returns the packet length.
    key = as_key(key)
    if key is not None:
        flags |= F_TAG
    else:
        flags &= ~F_TAG
    pack_header(buf, flags, pt, frame_ms, talkgroup, unit, burst, seq, epoch)
    o = HDR_LEN
    for b in state:
        buf[o] = b
        o += 1
    for b in payload:
        buf[o] = b
        o += 1
    if key is not None:
        key.sign(buf, o)
        o += TAG_LEN
    return o
