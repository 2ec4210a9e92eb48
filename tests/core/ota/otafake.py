# Fakes for the OTA tests: a storage object in memory (the contract of ht.ota.agent) and a release
# built and signed here with the test key (vectors.D), served the way the broker serves retained chunks.
import json
import hashlib
import binascii
from ht.ota import rsa
import vectors

KEY = rsa.PublicKey(vectors.N)


def sign(msg, d_hex=vectors.D, key=KEY):
    s = pow(rsa.encoded(hashlib.sha256(msg).digest(), key.k), int(d_hex, 16), key.n)
    return s.to_bytes(key.k, "big")


class MemStore:
    BOOT = 1

    def __init__(self, free=1 << 20):
        self.files = {}
        self.stage = {}
        self.versions = {}
        self.capacity = free

    def get(self, name):
        return self.files.get(name)

    def put(self, name, text):
        self.files[name] = text

    def remove(self, name):
        self.files.pop(name, None)

    def write(self, rel, offset, data):
        b = self.stage.get(rel, b"")
        b = b[:offset] + b"\x00" * (offset - len(b)) + bytes(data) + b[offset + len(data):]
        self.stage[rel] = b

    def digest(self, rel):
        return hashlib.sha256(self.stage.get(rel, b"")).digest()

    def free(self):
        return self.capacity

    def clear_stage(self):
        self.stage = {}

    def stage_done(self, version):
        self.versions[version] = self.stage
        self.stage = {}


def release(files, v="0.2.0", cs=64, target="x64", boards=None, floor=None, min_boot=1, d_hex=vectors.D):
    # files: {path: bytes} -> (manifest blob, {topic suffix: payload}) for rid "r1"
    m = {"v": v, "floor": floor or v, "min_boot": min_boot, "target": target, "boards": boards or [],
         "cs": cs, "files": [[p, len(files[p]), binascii.hexlify(hashlib.sha256(files[p]).digest()).decode()]
                             for p in sorted(files)]}
    raw = json.dumps(m).encode()
    blob = sign(raw, d_hex) + raw
    chunks = {}
    for k in range((len(blob) + 1023) // 1024):
        chunks["m/%d" % k] = blob[k * 1024:(k + 1) * 1024]
    for i, p in enumerate(sorted(files)):
        data = files[p]
        for k in range((len(data) + cs - 1) // cs):
            chunks["%d/%d" % (i, k)] = data[k * cs:(k + 1) * cs]
    return blob, chunks


class Wire:
    # The radio's send(): records subscriptions; deliver() answers the outstanding ones like a broker
    # with retained messages (drop: a set of suffixes lost once, like a QoS 0 chunk on a bad link).
    def __init__(self, chunks, prefix="ht/kota/o/r1/"):
        self.chunks = chunks
        self.mb = sum(len(chunks[k]) for k in chunks if k.startswith("m/"))
        self.prefix = prefix
        self.subs = []
        self.status = []
        self.requests = 0
        self.drop = set()
        self.lag = 0        # ms from a request to its answer (the link's round trip)
        self.asked = []     # (ms, suffix) of every request, when the wire saw it

    def send(self, op, topic, payload):
        if op == "sub":
            self.subs.append(topic)
            self.requests += 1
        elif op == "status":
            self.status.append(payload)

    def deliver(self, agent, now):
        subs, self.subs = self.subs, []
        for t in subs:
            if isinstance(t, str):
                self.asked.append((now, t[len(self.prefix):]))
                t = (t, now)
            if now - t[1] < self.lag:
                self.subs.append(t)
                continue
            t = t[0]
            suffix = t[len(self.prefix):]
            if suffix in self.drop:
                self.drop.discard(suffix)
                continue
            if suffix in self.chunks:
                agent.on_message(t.encode(), self.chunks[suffix], now)
