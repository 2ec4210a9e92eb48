# What the radio sends to the broker: the MQTT client it rides (made here by default), the queue of
# publications and subscription changes, and the sender task that drains it in order. Voice frames do not
# queue here: the audio path has its own ring (ht.radio.audio) and publishes through voice().
import asyncio
from ht.compat import const
from ht.mqtt.robust import RobustClient
from ht.radio.msgtag import needs_tag

# What a queue entry asks for: (kind, topic, payload, qos, retain).
PUBLISH = const(0)
SUBSCRIBE = const(1)     # ht.radio.app._voice_sub: in order with the floor publications around it
UNSUBSCRIBE = const(2)


class CountingStream:
    # Byte stream wrapper that counts payload bytes into the data plan (on the radio the AT socket
    # layer counts instead: ht.modem.sockets counter).
    def __init__(self, s, count):
        self.s = s
        self.count = count

    async def recv(self, n):
        b = await self.s.recv(n)
        if b:
            self.count(0, len(b))
        return b

    async def send(self, buf):
        await self.s.send(buf)
        self.count(len(buf), 0)

    async def close(self):
        await self.s.close()


FAST_MS = 4000        # longest wait between reconnect attempts in the first 5 minutes of an outage


def opt_int(config, key, default):
    try:
        v = config.get(key)
    except (KeyError, ValueError):
        return default
    return default if v is None else v


def robust_client(config, unit, opener, count=None, dead_fast=True):
    # The Radio's default client factory: -> make(on_message, on_state) -> RobustClient over `opener`.
    # A factory rather than a client because the client's callbacks are the radio's own dispatcher,
    # which exists only once the radio is being built. count: fn(tx, rx) bytes into the data plan.
    if opener is None:
        raise ValueError("radio: no net_opener and no client")
    if count is not None:
        inner = opener

        async def opener():
            return CountingStream(await inner(), count)

    # Dead links found fast (docs/POWER.md): a reply deadline on every packet the broker must answer, and
    # retries at most FAST_MS apart for the first minutes of an outage. broker.reply_timeout_s 0 is not
    # allowed by the schema; the bench's "before" passes dead_fast=False to measure the old behaviour.
    reply = opt_int(config, "broker.reply_timeout_s", 10) * 1000 if dead_fast else 0

    def make(on_message, on_state):
        return RobustClient(opener, unit, user=config.get("broker.user") or unit,
                            password=config.get("broker.password") or None,
                            keepalive=config.get("broker.keepalive"), on_message=on_message, on_state=on_state,
                            reply_ms=reply, fast_ms=FAST_MS if dead_fast else 0)
    return make


class Publisher:
    # emit: fn(kind, fields) transcript hook; counts: the radio's counters (pub_dropped).
    def __init__(self, client, emit, counts, tagger=None):
        # tagger: ht.radio.msgtag.Tagger: control messages (floor, alerts, acks, roll calls) leave tagged.
        self.client = client
        self.tagger = tagger
        self.emit = emit
        self.counts = counts
        # An in-memory test client may not know UNSUBSCRIBE: the talker then stays subscribed.
        self.can_unsubscribe = hasattr(client, "unsubscribe")
        self.q = []
        self.ev = asyncio.Event()
        self.running = False

    def publish(self, topic, payload, qos=1, retain=False):
        if self.tagger is not None and payload and needs_tag(topic):
            payload = self.tagger.seal(topic, payload)
        self._put(PUBLISH, topic, payload, qos, retain)

    def subscribe(self, topic, qos=0):
        self._put(SUBSCRIBE, topic, None, qos, False)

    def unsubscribe(self, topic):
        self._put(UNSUBSCRIBE, topic, None, 0, False)

    def _put(self, kind, topic, payload, qos, retain):
        self.q.append((kind, topic, payload, qos, retain))
        self.ev.set()

    def voice(self, topic, pkt):
        # The audio path's sender, one frame at a time (QoS 0; the client frames it without allocating).
        return self.client.publish(topic, pkt, 0)

    async def run(self):
        self.running = True
        q = self.q
        while self.running:
            if not q:
                self.ev.clear()
                await self.ev.wait()
                continue
            kind, topic, payload, qos, retain = q.pop(0)
            try:
                if kind == PUBLISH:
                    await self.client.publish(topic, payload, qos, retain)
                elif kind == SUBSCRIBE:
                    await self.client.subscribe(topic, qos)
                else:
                    await self.client.unsubscribe(topic)
            except OSError:
                self.counts["pub_dropped"] += 1   # offline with a full QoS 1 window: stale anyway
            except Exception as e:                # MQTTError: the broker refused the subscription
                self.emit("sub_failed", {"topic": topic, "why": repr(e)})

    def stop(self):
        self.running = False
        self.ev.set()
