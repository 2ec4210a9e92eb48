# AT command engine: one command at a time over any UART-like stream, URCs routed at any moment.
#
# UART duck type (see ht/modem/uart.py and docs/MODEM.md): an object with
#   await uart.read(n)   -> 1..n bytes, b"" when the stream is closed
#   await uart.write(buf) -> writes all of buf
# The engine owns one reader task feeding ht/modem/lines.py (lines, URCs, raw payloads, prompts);
# this file runs the commands: per-command timeouts, prompts, resync after an abandoned command.
import asyncio
from ht.compat import const
from ht.modem.parse import ModemError, parse_error  # noqa: F401 (ModemError re-exported)
from ht.modem.lines import ATLines, Waiter, FINALS  # noqa: F401 (re-exported)

_RX_CHUNK = const(512)


class AT(ATLines):
    def __init__(self, uart, dialect, on_urc=None, scale=1.0):
        ATLines.__init__(self, dialect, on_urc)
        self.uart = uart
        self.scale = scale            # emulator time scale: every timeout is multiplied by it
        self._lock = asyncio.Lock()
        self._task = None
        self.closed = False
        self.stale = False            # a command timed out: its late final may still arrive
        self._owed = None             # payload of an abandoned send the modem may be waiting for

    def start(self):
        if self._task is None:
            self._task = asyncio.create_task(self._rx())

    def stop(self):
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _rx(self):
        while True:
            try:
                data = await self.uart.read(_RX_CHUNK)
            except asyncio.CancelledError:
                raise
            except Exception:
                data = b""
            if not data:
                # A UART never ends; a TCP "UART" (emulator, hal/sim.py) may drop and come back.
                # Fail the command in flight, then keep listening.
                self.closed = True
                self._final = "ERROR"
                self._done.set()
                self._prompt.set()
                await asyncio.sleep(0.5)
                continue
            self.closed = False
            self.feed(data)

    async def wait(self, w, timeout_ms):
        try:
            await asyncio.wait_for(w.ev.wait(), timeout_ms * self.scale / 1000)
        finally:
            if w in self._waiters:
                self._waiters.remove(w)
        return w.line

    async def cmd(self, cmd, expect=None, timeout_ms=3000, payload=None, raw=None, extra_ms=0,
                  guard=None):
        """Run one command; returns its response lines. expect: prefix (or tuple) of the response
        lines, "" for bare lines (IMSI), None for none. payload: bytes sent after the '>' prompt.
        raw: fn(line) -> number of raw bytes following that response line (kept in self.raw).
        extra_ms is added unscaled (bytes on the wire take real time whatever the emulator does).
        guard: fn() checked once the engine is ours; False drops the command (OSError): a socket
        write queued behind a PDP restart must not land in a new socket that reuses its link id.
        Raises ModemError, asyncio.TimeoutError (modem silent) or OSError (stream closed)."""
        async with self._lock:
            if guard is not None and not guard():
                raise OSError("command dropped: its socket is gone")
            if self.stale:
                await self._resync()
            return await self._run(cmd, expect, timeout_ms, payload, raw, extra_ms)

    async def probe(self, timeout_ms=1000):
        # bare AT for liveness; an answer also ends any resync need (the modem talks again)
        async with self._lock:
            if self._owed is not None:
                owed = self._owed
                self._owed = None
                await self._pay(owed)
            await self._run("AT", None, timeout_ms, None, None, 0)
            if self.stale:
                self.stale = False
                await asyncio.sleep(0.05 * self.scale + 0.01)

    async def _run(self, cmd, expect, timeout_ms, payload, raw, extra_ms):
        self.begin(cmd, expect, raw, payload is not None)
        t = timeout_ms * self.scale / 1000 + extra_ms / 1000
        sent = payload is None
        try:
            await self.uart.write(cmd.encode() + b"\r")
            if payload is not None:
                await asyncio.wait_for(self._prompt.wait(), t)
                sent = True     # handed to the stream below: owed no more, even if cancelled
                if not self._done.is_set():
                    await self.uart.write(payload)
            await asyncio.wait_for(self._done.wait(), t)
        except BaseException as e:
            # Timed out, or the caller was cancelled (MQTT dropping a link cancels its reader):
            # the modem may still answer this command, or sit after its '>' waiting for bytes
            # (CMGS eats every later command as message text). Owe it the payload; the next
            # command settles both before it runs (_resync).
            if isinstance(e, asyncio.TimeoutError):
                self.timeouts += 1
            self.stale = True
            self._idle()
            if not sent:
                self._owed = payload
                self._want_prompt = True
            raise
        final = self._final
        resp = self._resp
        self._idle_keep_raw()
        if self.closed:
            raise OSError("modem stream closed")
        if final == "OK" or final in self.dialect.ok_finals:
            return resp
        raise parse_error(final)

    def _idle_keep_raw(self):
        r = self.raw
        self._idle()
        self.raw = r

    async def _resync(self):
        # A late final from an abandoned command must not complete the next one: pay a payload
        # the modem may be waiting for, then send bare ATs until one gets its OK (a late ERROR may
        # come first), then drop whatever else shows up during a short quiet period.
        owed = self._owed
        self._owed = None
        if owed is not None:
            await self._pay(owed)
        for i in range(3):
            try:
                await self._run("AT", None, 1000, None, None, 0)
                break
            except ModemError:
                if i == 2:
                    raise
        self.stale = False
        await asyncio.sleep(0.05 * self.scale + 0.01)

    async def _pay(self, owed):
        try:
            await asyncio.wait_for(self._prompt.wait(), 0.5 * self.scale + 0.05)
        except asyncio.TimeoutError:
            self._want_prompt = False
            return                      # no '>' came: the modem is not waiting for bytes
        self._idle()
        self._done.clear()
        self._cmd = "<owed payload>"    # its final completes this, not the next command
        await self.uart.write(owed)
        try:
            await asyncio.wait_for(self._done.wait(), 3 * self.scale + 0.1)
        except asyncio.TimeoutError:
            pass
        self._idle()
