"""Per-radio LTE link: a loopback TCP proxy between one radio and the broker that applies the link model
to every MQTT packet and counts the bytes the broker sees from and for that radio.

Why a proxy and not the modem emulator's sockets for every radio: an emulator per radio costs a modem's
worth of AT traffic and host CPU per radio, and the UART (not the LTE link) would shape the timing
(tests/e2e/test_radio_mosquitto.py and bench_radio_modem measure that path). The proxy applies the same LTE
delay model (htsim.linksim) per packet, so a fleet of MicroPython radios sees LTE timing; radios that need modem faults (hang, SIM pulled) ride the emulator
and *also* go through a proxy, so their bytes are counted the same way (docs/FLEET.md).

The proxy understands MQTT framing (fixed header + remaining length) so it can:
- delay each packet by ``model.sample(now_ms)`` in order (TCP's head-of-line blocking), per direction;
- drop QoS 0 voice PUBLISHes on the uplink with the loss model (a radio whose modem queue drops stale
  frames; TCP itself never loses a byte), leaving the stream a valid packet sequence;
- count bytes and packets by kind (voice / other) and direction, and the update's own bytes: ``stats()``;
- with ``trace=True``, keep the order in which voice and update packets (a chunk down, its request up)
  crossed the link: ``trace()`` (how tests/e2e/test_ota_fleet.py sees that an update yields to a burst);
- with ``on_packet=fn``, call ``fn(up, voice, read_ms, due_ms, pkt)`` for every packet it forwards (monotonic
  ms: when the proxy read it, when the link model lets it out), e.g. bench_desk's latency breakdown.
"""
import asyncio
import time

_PUBLISH = 3


def _now_ms():
    return time.monotonic() * 1000.0


def packet_len(buf):
    """Length of the first complete MQTT packet in buf, or 0 if it is not all there yet."""
    mult, rl, i = 1, 0, 1
    while True:
        if i >= len(buf):
            return 0
        b = buf[i]
        rl += (b & 0x7F) * mult
        i += 1
        if not b & 0x80:
            break
        mult *= 128
        if i > 4:
            raise ValueError("malformed MQTT remaining length")
    n = i + rl
    return n if len(buf) >= n else 0


def publish_parts(pkt):
    """(topic, payload) of a whole QoS 0 PUBLISH packet, as the proxy hands packets to on_packet."""
    i = 1
    while pkt[i] & 0x80:
        i += 1
    i += 1
    tl = (pkt[i] << 8) | pkt[i + 1]
    return bytes(pkt[i + 2:i + 2 + tl]), pkt[i + 2 + tl:]


def _topic(pkt):
    return publish_parts(pkt)[0]


def is_ota_chunk(pkt):
    """A QoS 0 PUBLISH of an update's manifest or chunk (ht/<f>/o/...): what a lossy downlink may lose
    (docs/OTA.md; the radio asks again after a timeout)."""
    if pkt[0] >> 4 != _PUBLISH or pkt[0] & 0x06:
        return False
    try:
        return b"/o/" in _topic(pkt)
    except IndexError:
        return False


def is_ota_request(pkt):
    """A SUBSCRIBE (or the UNSUBSCRIBE after it) to an update's manifest or chunk: how a radio asks for the
    next piece (docs/OTA.md)."""
    if pkt[0] not in (0x82, 0xA2):
        return False
    try:
        i = 1
        while pkt[i] & 0x80:
            i += 1
        i += 3                                   # past the remaining length and the packet id
        tl = (pkt[i] << 8) | pkt[i + 1]
    except IndexError:
        return False
    return b"/o/" in bytes(pkt[i + 2:i + 2 + tl])


def is_voice(pkt):
    """A QoS 0 PUBLISH on a voice topic (ht/<f>/tg/<tg>/v/<u>)."""
    if pkt[0] >> 4 != _PUBLISH or pkt[0] & 0x06:
        return False
    try:
        i = 1
        while pkt[i] & 0x80:
            i += 1
        i += 1
        tl = (pkt[i] << 8) | pkt[i + 1]
    except IndexError:
        return False        # malformed: forwarded as it is, the broker will drop the client
    return b"/v/" in bytes(pkt[i + 2:i + 2 + tl])


class Counter:
    def __init__(self):
        self.bytes = {"up_voice": 0, "up_other": 0, "down_voice": 0, "down_other": 0}
        self.packets = {k: 0 for k in self.bytes}
        self.dropped = 0
        self.connections = 0
        self.trace = None        # [(monotonic ms, "up"|"down", "voice"|"ota")] when tracing
        self.ota = {"up": 0, "down": 0}   # bytes of the update: requests up, manifest and chunks down
        self.on_packet = None    # fn(up, voice, read_ms, due_ms, pkt) or None

    def add(self, key, n):
        self.bytes[key] += n
        self.packets[key] += 1

    def snapshot(self):
        return {"bytes": dict(self.bytes), "packets": dict(self.packets), "dropped": self.dropped,
                "connections": self.connections, "ota_bytes": dict(self.ota)}


class Pipe:
    """One direction: parse packets, sample their arrival, write them out in order."""

    def __init__(self, reader, writer, model, loss, counter, up):
        self.r = reader
        self.w = writer
        self.model = model
        self.loss = loss
        self.c = counter
        self.up = up
        self.q = asyncio.Queue()

    async def read(self):
        buf = bytearray()
        try:
            while True:
                data = await self.r.read(65536)
                if not data:
                    break
                buf += data
                while True:
                    n = packet_len(buf)
                    if not n:
                        break
                    pkt = bytes(buf[:n])
                    del buf[:n]
                    self._one(pkt)
        except (OSError, ValueError, asyncio.IncompleteReadError):
            pass
        self.q.put_nowait(None)

    def _one(self, pkt):
        now = _now_ms()
        voice = is_voice(pkt)
        key = ("up_" if self.up else "down_") + ("voice" if voice else "other")
        lossy = voice and self.up or not self.up and self.loss is not None and is_ota_chunk(pkt)
        if lossy and self.loss is not None and self.loss.sample(now) is None:
            self.c.dropped += 1
            if self.model is not None:
                self.model.sample(now)     # keep the delay model's draws aligned with the packet count
            return
        self.c.add(key, len(pkt))
        ota = not voice and (is_ota_request(pkt) if self.up else is_ota_chunk(pkt))
        if ota:
            self.c.ota["up" if self.up else "down"] += len(pkt)
        if self.c.trace is not None:
            if voice or ota:
                self.c.trace.append((now, "up" if self.up else "down", "voice" if voice else "ota"))
        at = self.model.sample(now) if self.model is not None else now
        if self.c.on_packet is not None:
            self.c.on_packet(self.up, voice, now, at, pkt)
        self.q.put_nowait((at, pkt))

    async def write(self):
        try:
            while True:
                item = await self.q.get()
                if item is None:
                    break
                at, pkt = item
                d = at - _now_ms()
                if d > 0.5:
                    await asyncio.sleep(d / 1000.0)
                self.w.write(pkt)
                if self.q.empty():
                    await self.w.drain()
        except (OSError, ConnectionError):
            pass
        try:
            self.w.close()
        except Exception:
            pass


class LinkProxy:
    """LinkProxy(target_port, up_model, down_model, loss=None): listen on 127.0.0.1:.port.
    Models are factories (fn() -> object with sample(ms)) so every new connection starts a fresh link
    (a reconnect after a stall is a new TCP connection over the same cell). ``down()`` cuts the radio
    off (connections reset, new ones refused) until ``up()``. ``trace``: keep ``trace()`` (see the module)."""

    def __init__(self, target_port, up_model=None, down_model=None, loss=None, target_host="127.0.0.1",
                 down_loss=None, trace=False, on_packet=None):
        self.target = (target_host, target_port)
        self.up_model = up_model
        self.down_model = down_model
        self.loss = loss
        self.down_loss = down_loss     # drops downlink QoS 0 update chunks (is_ota_chunk)
        self.counter = Counter()
        if trace:
            self.counter.trace = []
        self.counter.on_packet = on_packet
        self.server = None
        self.port = None
        self.blocked = False
        self._conns = []

    async def start(self):
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def _accept(self, cr, cw):
        if self.blocked:
            cw.transport.abort()
            return
        try:
            br, bw = await asyncio.open_connection(*self.target)
        except OSError:
            cw.transport.abort()
            return
        self.counter.connections += 1
        up = Pipe(cr, bw, self.up_model() if self.up_model else None, self.loss, self.counter, True)
        down = Pipe(br, cw, self.down_model() if self.down_model else None, self.down_loss, self.counter, False)
        conn = (cw, bw)
        self._conns.append(conn)
        try:
            await asyncio.gather(up.read(), up.write(), down.read(), down.write())
        except asyncio.CancelledError:
            pass        # the simulation is shutting down
        finally:
            if conn in self._conns:
                self._conns.remove(conn)
            for w in conn:
                w.transport.abort()

    def cut(self):
        for cw, bw in list(self._conns):
            cw.transport.abort()
            bw.transport.abort()

    def down(self):
        self.blocked = True
        self.cut()

    def up(self):
        self.blocked = False

    def stats(self):
        return self.counter.snapshot()

    def trace(self):
        return list(self.counter.trace or ())

    async def stop(self):
        self.cut()
        if self.server is not None:
            self.server.close()
            try:
                await asyncio.wait_for(self.server.wait_closed(), 2)
            except (asyncio.TimeoutError, Exception):
                pass
