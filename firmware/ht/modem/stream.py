# One AT socket as the byte stream MQTT rides (docs/ARCHITECTURE.md "Byte stream"):
#   await s.recv(n) -> 1..n bytes, b"" = closed by the peer;  await s.send(buf) takes all of buf
#   or raises OSError;  await s.close() is idempotent.
# Sends are queued and written by one flusher task, like a kernel socket buffer: the voice
# publisher does not wait a whole CIPSEND round trip per frame, and frames queued meanwhile leave
# together in one CIPSEND (at 115200 baud every command saved is ~2 ms of wire and a round trip).
# The queue is bounded, so a sender still cannot outrun the UART; a failed write is raised by the
# next send/recv. Receive is "manual": the modem holds data and announces it with a URC; an idle
# socket also polls, because a URC lost in line noise must not stall the stream.
import asyncio

_POLL_MS = 2000
_SEND_CHUNK = 1024
_TXQ_MAX = 2048
_CLOSE_FLUSH_MS = 3000


class ATSocket:
    def __init__(self, net, lid):
        self.net = net
        self.lid = lid
        self.readable = asyncio.Event()
        self.peer_closed = False
        self.dead = None          # reason string once the link under us went away
        self.closed = False
        self._buf = b""
        self._txq = bytearray()
        self._txkick = asyncio.Event()
        self._txprog = asyncio.Event()
        self._txerr = None
        self._task = None
        self._writing = False

    def _check(self):
        if self._txerr or self.closed or self.dead or self.peer_closed:
            raise OSError("socket %s" % (self._txerr or self.dead or "closed"))

    async def recv(self, n):
        while True:
            if self._buf:
                out = self._buf[:n]
                self._buf = self._buf[n:]
                return out
            if self.closed or self.dead or self._txerr:
                raise OSError("socket %s" % (self.dead or self._txerr or "closed"))
            if self.readable.is_set() or self.peer_closed:
                self.readable.clear()
                data, more = await self.net.read(self)
                if data:
                    self._buf = data
                    if more:
                        self.readable.set()
                    continue
                if self.peer_closed:
                    return b""
            try:
                await asyncio.wait_for(self.readable.wait(),
                                       getattr(self.net, "poll_ms", _POLL_MS) * self.net.at.scale / 1000)
            except asyncio.TimeoutError:
                self.readable.set()

    async def send(self, buf):
        self._check()
        while self._txq and len(self._txq) + len(buf) > _TXQ_MAX:
            self._txprog.clear()
            await self._txprog.wait()
            self._check()
        self._txq.extend(buf)     # a copy: MQTT reuses its transmit buffer
        if self._task is None:
            self._task = asyncio.create_task(self._flush())
        self._txkick.set()

    async def _flush(self):
        try:
            while not (self.closed or self.dead or self.peer_closed):
                if not self._txq:
                    self._txkick.clear()
                    await self._txkick.wait()
                    continue
                data = self._txq
                self._txq = bytearray()
                mv = memoryview(data)
                self._writing = True
                for i in range(0, len(mv), _SEND_CHUNK):
                    await self.net.write(self, mv[i:i + _SEND_CHUNK])
                self._writing = False
                self._txprog.set()
        except Exception as e:
            self._txerr = str(e) or "send failed"
            self.readable.set()   # a reader blocked in recv learns now, not at its next poll
        finally:
            self._task = None
            self._writing = False
            self._txprog.set()

    async def flushed(self, timeout_ms=_CLOSE_FLUSH_MS):
        # wait until queued bytes left (or the socket failed); False on timeout
        t = 0
        while (self._txq or self._writing) and self._txerr is None and not self.dead:
            if t >= timeout_ms:
                return False
            self._txprog.clear()
            try:
                await asyncio.wait_for(self._txprog.wait(), 0.05)
            except asyncio.TimeoutError:
                t += 50
        return True

    async def close(self):
        if self.closed:
            return
        if self._txq and not (self.dead or self._txerr):
            await self.flushed()   # let a final MQTT DISCONNECT leave before CIPCLOSE
        self.closed = True
        self.readable.set()
        self._txkick.set()
        await self.net.close(self)
