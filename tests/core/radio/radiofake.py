# Fakes for the portable radio tests (both interpreters): a HAL with pins a test presses, a microphone
# fed from an array and a speaker that keeps what it played; and an in-memory MQTT broker whose clients
# have RobustClient's surface (one delivery task = one broker order; retained messages; last wills). The
# broker hosts the floor arbiter's pure core (htcc.arbiter.core), as the arbiter service does beside a real one.
import asyncio
from array import array
from ht.compat import ticks_ms, ticks_diff, asleep_ms as sleep_ms
from ht.mqtt.client import ONLINE, OFFLINE
from ht.radio import floormsg as fm
from ht.radio import grant as G
from ht.radio import topics as T
from ht.radio.msgtag import Tagger
from htcc.arbiter.core import Arbiter


async def until(pred, what, ms=20000):
    """Wait (polling every 10 ms) until pred() holds; fail after ms milliseconds (a deadline for a stuck
    test, generous so a machine running CPU hogs under MicroPython never trips it)."""
    t0 = ticks_ms()
    while not pred():
        if ticks_diff(ticks_ms(), t0) > ms:
            raise AssertionError("timed out waiting for " + what)
        await sleep_ms(10)


class FakeHAL:
    name = "fake"

    def __init__(self, mic_pcm=None, battery_mv=4000):
        self.down = {"ptt": False, "emergency": False}
        self.tones = []
        self.leds = []
        self.mic_pcm = mic_pcm if mic_pcm is not None else array("h")
        self.mic_pos = 0
        self.played = bytearray()
        self.mv = battery_mv
        hal = self

        class Mic:
            def readinto(self, buf):
                # int16 samples, as both HALs' microphones fill them
                n = len(buf)
                for i in range(n):
                    j = hal.mic_pos + i
                    buf[i] = hal.mic_pcm[j] if j < len(hal.mic_pcm) else 0
                hal.mic_pos += n
                return n

        class Speaker:
            def write(self, buf):
                hal.played += buf
                return len(buf)

        self._mic = Mic()
        self._spk = Speaker()

    def button(self, name):
        return lambda: self.down[name]

    def press(self, name, down=True):
        self.down[name] = down

    def mic(self):
        return self._mic

    def speaker(self):
        return self._spk

    def tone(self, f, ms, amp=None):
        self.tones.append((f, ms))

    def led(self, name, on):
        self.leds.append((name, on))

    def battery_mv(self):
        return self.mv

    def unique_id(self):
        return "fake"


def match(filt, topic):
    f = filt.split("/")
    t = topic.split("/")
    for i in range(len(f)):
        if f[i] == "#":
            return True
        if i >= len(t) or (f[i] != "+" and f[i] != t[i]):
            return False
    return len(f) == len(t)


class MemBroker:
    # arbiter=False: no floor arbiter (the radios must report "no floor service"). key: the fleet key its
    # arbiter checks floor messages and tags records with, as htcc.arbiter.service does (ht.radio.msgtag).
    def __init__(self, arbiter=True, talkgroups=("1", "2"), key=None):
        self.clients = []
        self.retained = {}
        self.q = []
        self.ev = asyncio.Event()
        self.log = []           # (topic, payload) in broker order
        self.task = None
        self.arb = Arbiter("mem", 1, talkgroups=talkgroups, now=ticks_ms()) if arbiter else None
        self.fleet = None
        self.tagger = Tagger(key) if key else None

    def start(self):
        if self.task is None:
            self.task = asyncio.create_task(self._run())
            if self.arb is not None:
                asyncio.create_task(self._arb_tick())

    def _arbitrate(self, t, payload):
        p = T.parse(t)
        if p is not None:
            self.fleet = p[1]
        if p is None or p[0] != T.FLOOR:
            return
        if self.tagger is not None:
            payload = self.tagger.open(t, payload)
            if payload is None:
                return          # untagged or forged: the arbiter ignores it
        self._records(self.arb.on_floor(fm.parse(payload), ticks_ms()))

    def _records(self, recs):
        for r in recs:
            t = T.grants(self.fleet, r.tg)
            rec = G.pack(r)
            self.publish(t, self.tagger.seal(t, rec) if self.tagger is not None else rec, r.kind != G.REJECT)

    async def _arb_tick(self):
        while True:
            if self.fleet is not None:
                self._records(self.arb.tick(ticks_ms()))
            await sleep_ms(20)

    def publish(self, topic, payload, retain, sender=None):
        self.q.append((topic, bytes(payload), retain))
        self.ev.set()

    async def _run(self):
        while True:
            if not self.q:
                self.ev.clear()
                await self.ev.wait()
                continue
            topic, payload, retain = self.q.pop(0)
            t = topic.decode()
            self.log.append((t, payload))
            if retain:
                if payload:
                    self.retained[t] = payload
                else:
                    self.retained.pop(t, None)
            for c in list(self.clients):
                if c.state == ONLINE and c.wants(t):
                    c.deliver(topic, payload, False)
            if self.arb is not None:
                self._arbitrate(t, payload)
            await asyncio.sleep(0)


class MemClient:
    def __init__(self, broker, client_id, on_message=None, on_state=None):
        self.b = broker
        self.client_id = client_id
        self.on_message = on_message
        self.on_state = on_state
        self.state = OFFLINE
        self.subs = []
        self.will = None
        self.sent = []

    def set_last_will(self, topic, payload, qos=0, retain=False):
        self.will = (topic, payload, retain)

    async def subscribe(self, topic, qos=0):
        t = topic.decode() if isinstance(topic, bytes) else topic
        self.subs.append(t)
        if self.state == ONLINE:
            self._retained(t)
        return qos

    def wants(self, t):
        for f in self.subs:
            if match(f, t):
                return True
        return False

    def deliver(self, topic, payload, retained):
        cb = self.on_message
        if cb is not None:
            cb(topic, memoryview(payload), retained)

    def _retained(self, filt):
        for t in list(self.b.retained):
            if match(filt, t):
                self.deliver(t.encode(), self.b.retained[t], True)

    def start(self):
        self.b.start()
        self.b.clients.append(self)
        self.state = ONLINE
        if self.on_state:
            self.on_state(ONLINE, "connected")
        for f in self.subs:
            self._retained(f)

    def kill(self):
        # The link dies without DISCONNECT: the broker publishes the last will.
        if self in self.b.clients:
            self.b.clients.remove(self)
        self.state = OFFLINE
        if self.on_state:
            self.on_state(OFFLINE, "killed")
        if self.will:
            self.b.publish(self.will[0], self.will[1], self.will[2])

    async def stop(self):
        if self in self.b.clients:
            self.b.clients.remove(self)
        self.state = OFFLINE

    async def publish(self, topic, payload, qos=0, retain=False):
        if self.state != ONLINE:
            raise OSError("offline")
        self.sent.append(bytes(topic))
        self.b.publish(topic, payload, retain, self)
        return 0
