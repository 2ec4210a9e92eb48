"""AT sockets as real TCP connections on loopback, with a delay/jitter/loss/stall model on the data.

TCP is reliable, so a lost segment does not lose bytes: it arrives one retransmission timeout (RTO) later, and
everything behind it waits too (head-of-line blocking). That is what an MQTT client on a lossy LTE link sees.
The model's numbers are wall-clock (physical link), not scaled by time_scale.
"""
from __future__ import annotations

import asyncio
import collections
import random
from typing import Any

from .atio import CTRL_Z, ESC

LOOPBACK = ("127.0.0.1", "localhost", "::1")
_RX_LIMIT = 256 * 1024      # stop reading from the peer while this much waits unread in the modem (TCP window)


class LinkModel:
    def __init__(self, delay_ms: float = 0.0, jitter_ms: float = 0.0, loss: float = 0.0, seed: Any = 1,
                 rto_ms: float | None = None, mss: int = 1400) -> None:
        if delay_ms < 0 or jitter_ms < 0 or not (0.0 <= loss < 1.0):
            raise ValueError("delay/jitter must be >= 0 and loss in [0, 1)")
        self.delay_ms = float(delay_ms)
        self.jitter_ms = float(jitter_ms)
        self.loss = float(loss)
        self.seed = seed
        # Linux never retransmits sooner than 200 ms; on a slow link RTO tracks about 3x the one-way delay.
        self.rto_ms = float(rto_ms) if rto_ms is not None else max(200.0, 3.0 * self.delay_ms)
        self.mss = int(mss)

    def one_way_s(self, rng: random.Random) -> float:
        d = self.delay_ms + (rng.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0.0)
        rto = self.rto_ms
        while self.loss and rng.random() < self.loss:
            d += rto
            rto *= 2.0       # exponential backoff on repeated loss of the same segment
        return max(0.0, d) / 1000.0

    def __repr__(self) -> str:
        return "LinkModel(delay_ms=%g, jitter_ms=%g, loss=%g)" % (self.delay_ms, self.jitter_ms, self.loss)


class Pipe:
    """One direction of a link: segments leave in order, each no earlier than its modelled arrival time and
    never while the data path is stalled."""

    def __init__(self, model_fn, rng, deliver, stalled_until):
        self.model_fn = model_fn             # read per segment: a "link" fault changes live connections too
        self.rng = rng
        self.deliver = deliver
        self.stalled_until = stalled_until   # callable -> loop time before which nothing moves
        self.q = collections.deque()
        self.ev = asyncio.Event()
        self.last = 0.0
        self.pending = 0
        self.task = asyncio.get_running_loop().create_task(self._run())

    def put(self, data):
        loop = asyncio.get_running_loop()
        model = self.model_fn()
        mss = model.mss if model else 65536
        for i in range(0, len(data), mss) if data else [0]:
            seg = data[i:i + mss] if data else b""
            t = loop.time() + (model.one_way_s(self.rng) if model else 0.0)
            t = max(t, self.last)
            self.last = t
            self.q.append((t, seg))
            self.pending += len(seg)
        self.ev.set()

    async def _run(self):
        loop = asyncio.get_running_loop()
        while True:
            while not self.q:
                self.ev.clear()
                await self.ev.wait()
            t, seg = self.q[0]
            while True:
                wait = max(t, self.stalled_until()) - loop.time()
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            self.q.popleft()
            self.pending -= len(seg)
            self.deliver(seg)

    def close(self):
        self.task.cancel()


class SocketLink:
    """One modem socket (link id 0..9) = one real TCP connection from the emulator to 127.0.0.1:<port>.

    on_data(link, bytes) and on_close(link) are set by the dialect's socket commands; b'' marks the peer's FIN
    inside the down pipe so a close is reported only after the data before it.
    """

    def __init__(self, modem, link_id, host, port):
        self.modem = modem
        self.id = link_id
        self.host = host
        self.port = port
        self.state = "opening"        # opening -> open -> closed (by peer / network) ; released when freed
        self.rx = bytearray()         # received, not yet read by the host (buffer-access modes)
        self.notified = False         # a "data waiting" URC is outstanding
        self.sent = 0
        self.received = 0
        self.read_total = 0
        self.on_data = None
        self.on_close = None
        self.writer = None
        self.reader = None
        self.reader_task = None
        self._space = asyncio.Event()
        self._space.set()
        rng = random.Random((modem.seed, link_id, port).__hash__())
        stall = modem.stalled_until
        model = lambda: modem.link    # noqa: E731
        self.up = Pipe(model, rng, self._to_peer, stall)
        self.down = Pipe(model, rng, self._from_peer, stall)

    async def connect(self, timeout):
        if self.host not in LOOPBACK:
            self.modem.note("socket %d: refused non-loopback host %s (this sandbox allows 127.0.0.1 only)"
                            % (self.id, self.host))
            raise OSError("non-loopback host refused")
        hole = getattr(self.modem, "hole_end", 0.0) - asyncio.get_running_loop().time()
        if hole > 0:                  # faults.blackhole: the SYN goes nowhere
            await asyncio.sleep(min(hole, timeout))
            if hole >= timeout:
                raise TimeoutError("connect timed out (data path blackholed)")
        reader, self.writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port), timeout)
        self.reader = reader
        self.state = "open"
        self.reader_task = asyncio.get_running_loop().create_task(self._read(reader))

    async def _read(self, reader):
        try:
            while True:
                while len(self.rx) + self.down.pending > _RX_LIMIT:
                    self._space.clear()
                    await self._space.wait()
                data = await reader.read(16384)
                self.down.put(data)     # b'' = peer closed, delivered in order after the data
                if not data:
                    return
        except (OSError, asyncio.IncompleteReadError):
            self.down.put(b"")

    def _from_peer(self, seg):
        if self.state != "open":
            return
        if not seg:
            self.state = "closed"
            self._shut()
            if self.on_close:
                self.on_close(self)
            return
        self.received += len(seg)
        self.modem.count("sock_rx", len(seg))
        if self.on_data:
            self.on_data(self, seg)

    def _to_peer(self, seg):
        if not seg:                  # the modem's own close, queued behind the data it sent before
            self._shut()
            self.up.close()
            return
        if self.writer is not None:
            try:
                self.writer.write(seg)
            except (OSError, RuntimeError):
                pass

    def send(self, data):
        """Queue data towards the peer; False when the link is not open."""
        if self.state != "open":
            return False
        self.sent += len(data)
        self.modem.count("sock_tx", len(data))
        self.up.put(bytes(data))
        return True

    def take(self, n):
        """Read up to n buffered bytes (buffer-access mode)."""
        out = bytes(self.rx[:n])
        del self.rx[:n]
        self.read_total += len(out)
        if not self.rx:
            self.notified = False
        self._space.set()
        return out

    def _shut(self):
        if self.writer is not None:
            try:
                self.writer.close()
            except (OSError, RuntimeError):
                pass
            self.writer = None

    def close(self, state="released", flush=True):
        """Close by the modem: AT close (flush=True: data already sent still reaches the peer, then FIN),
        network loss or power off (flush=False: the connection just dies)."""
        was_open = self.state in ("open", "opening")
        self.state = state
        if self.reader_task:
            self.reader_task.cancel()
        self.down.close()
        if flush and was_open and self.writer is not None:
            self.up.put(b"")
        else:
            self._vanish()
            self.up.close()

    def _vanish(self):
        """The radio lost its network or power. peer_on_loss="reset" (default): reset the connection so the
        peer notices now. "silent": keep the peer's connection open and swallow what it sends, as a real
        broker sees a radio that drove out of coverage - it notices only at its keepalive timeout."""
        w, r, self.writer = self.writer, self.reader, None
        if w is None:
            return
        if self.modem.peer_on_loss == "silent" and r is not None:
            self.modem.orphan(w, r)
        else:
            w.transport.abort()

    def kill_silently(self):
        """faults.blackhole: this flow is gone for good, with no RST and no FIN either way. The module still
        reports the socket open; what the host sends vanishes, nothing more arrives; its own close later
        releases the real connection."""
        self.up.deliver = lambda seg: self._shut() if not seg else None
        self.down.deliver = lambda seg: None

    def snapshot(self):
        return {"id": self.id, "host": self.host, "port": self.port, "state": self.state, "sent": self.sent,
                "received": self.received, "unread": len(self.rx)}


async def connect_and_report(m, s, urc, fail_code):
    """Connect a dialect's socket in the background and report it the dialect's way: ``<urc>: <id>,0`` when
    open, ``<urc>: <id>,<fail_code>`` (and the link freed) when the connect fails."""
    try:
        await s.connect(timeout=10.0)
    except (OSError, TimeoutError) as e:
        m.note("socket %d: connect to %s:%s failed: %s" % (s.id, s.host, s.port, e))
        s.close()
        if m.sockets.get(s.id) is s:
            del m.sockets[s.id]
        m.urc("%s: %d,%d" % (urc, s.id, fail_code))
        return
    m.urc("%s: %d,0" % (urc, s.id))


async def read_payload(m, r, n):
    """The bytes a send command carries after its data prompt: exactly n, or (n None) up to Ctrl-Z.
    None when the host cancels with ESC."""
    await r.prompt(m.d.cipsend_prompt)
    if n is not None:
        return await m.rxbuf.read_exact(n)
    data, stop = await m.rxbuf.read_until((CTRL_Z, ESC), m.d.max_send)
    return None if stop == ESC else data
