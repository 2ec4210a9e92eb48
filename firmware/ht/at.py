# AT command engine: one command at a time over any UART-like stream, URCs routed at any moment.
#
# UART duck type (see ht/uart.py and docs/MODEM.md): an object with
#   await uart.read(n)   -> 1..n bytes, b"" when the stream is closed
#   await uart.write(buf) -> writes all of buf
# The engine owns one reader task. Lines are split on "\n" into a preallocated buffer; a
# line longer than the buffer is dropped whole (field logs show modems spewing garbage at
# boot). A response line that announces raw bytes (+CIPRXGET: 2,.. / +QIRD: n) switches the
# reader to raw mode for exactly that many bytes, so binary payloads never hit the line parser.
import asyncio
from ht.compat import const
from ht.atparse import ModemError, parse_error, text  # noqa: F401 (ModemError re-exported)

_LINE_MAX = const(512)
_RX_CHUNK = const(512)
FINALS = ("OK", "ERROR")


class Waiter:
    # A one-shot wait for a URC that completes an asynchronous command (+CIPOPEN: 0,0 ...).
    def __init__(self, prefix, pred):
        self.prefix = prefix
        self.pred = pred
        self.line = None
        self.ev = asyncio.Event()


class AT:
    def __init__(self, uart, dialect, on_urc=None, scale=1.0):
        self.uart = uart
        self.dialect = dialect
        self.on_urc = on_urc          # called with each URC line (str); must not block
        self.scale = scale            # emulator time scale: every timeout is multiplied by it
        self._lb = bytearray(_LINE_MAX)
        self._ln = 0
        self._over = False
        self._lock = asyncio.Lock()
        self._done = asyncio.Event()
        self._prompt = asyncio.Event()
        self._waiters = []
        self._multi = None            # URC spanning several lines (+CUSD text)
        self._idle()
        self._task = None
        self.closed = False
        self.stale = False            # a command timed out: its late final may still arrive
        self._owed = None             # payload of an abandoned send the modem may be waiting for
        # counters for supervision, tests and benchmarks
        self.timeouts = 0             # consecutive timeouts; reset by any final result
        self.lines = self.urcs = self.stray = self.overlong = self.errors = 0

    def _idle(self):
        self._cmd = None
        self._expect = None
        self._raw_fn = None
        self._want_prompt = False
        self._resp = []
        self._final = None
        self.raw = None
        self._raw_need = 0

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

    # ---- byte level: pure and synchronous, so tests and the fuzzer drive it without a loop
    def feed(self, data):
        try:
            self._feed(data)
        except Exception:
            # The reader must survive anything; losing one line is better than a dead radio.
            self.errors += 1
            self._ln = 0
            self._raw_need = 0

    def _feed(self, data):
        i = 0
        n = len(data)
        mv = memoryview(data)
        while i < n:
            if self._raw_need:
                k = min(self._raw_need, n - i)
                self.raw.extend(mv[i:i + k])
                self._raw_need -= k
                i += k
                continue
            j = data.find(b"\n", i)
            end = n if j < 0 else j
            k = end - i
            if self._over or self._ln + k > _LINE_MAX:
                self._over = True
            else:
                self._lb[self._ln:self._ln + k] = mv[i:end]
                self._ln += k
            if j < 0:
                break
            i = j + 1
            self._end_line()
        # '>' comes without a line end: look at the partial line only while a send waits for it
        if self._want_prompt and 0 < self._ln < 8 and \
                bytes(self._lb[:self._ln]).replace(b"\x00", b"").strip() == b">":
            self._ln = 0
            self._want_prompt = False
            self._prompt.set()

    def _end_line(self):
        if self._over:
            self._over = False
            self._ln = 0
            self.overlong += 1
            return
        raw = bytes(self._lb[:self._ln]).replace(b"\x00", b"")
        self._ln = 0
        # "AT\r" echo followed by "\r\nOK" arrives as one line with inner CRs
        for part in raw.split(b"\r"):
            part = part.strip()
            if part:
                self.lines += 1
                self._line(text(part))

    def _line(self, line):
        if self._multi is not None:
            self._multi_add(line)
            return
        cmd = self._cmd
        if cmd is not None:
            if line == cmd:
                return  # echo before ATE0 (or a modem that forgets it after a reset)
            if line in FINALS or line.startswith("+CME ERROR") or line.startswith("+CMS ERROR") \
                    or line in self.dialect.extra_finals:
                self._finish(line)
                return
            if self._is_response(line):
                self._resp.append(line)
                if self._raw_fn is not None:
                    k = self._raw_fn(line)
                    if k:
                        self._raw_need = k
                return
        elif line in FINALS or line.startswith("+CME ERROR"):
            self.stray += 1  # late final of a command that timed out
            return
        self._urc(line)

    def _is_response(self, line):
        exp = self._expect
        if exp is None:
            return False
        d = self.dialect
        if exp == "":
            # bare responses (IMSI, IMEI): anything that is not a known URC
            return not d.is_urc(line)
        for p in (exp if isinstance(exp, tuple) else (exp,)):
            if line.startswith(p):
                return not d.urc_form(line)
        return False

    def _finish(self, line):
        if self._done.is_set():
            self.stray += 1         # a second final for one command: the first one counts
            return
        self._final = line
        self.timeouts = 0
        self._done.set()
        self._prompt.set()  # ERROR instead of '>' (no socket, buffer full) ends the prompt wait

    def _urc(self, line):
        self.urcs += 1
        if line.startswith(self.dialect.multiline_urcs) and not self.dialect.urc_complete(line):
            self._multi = [line]
            return
        self._deliver(line)

    def _multi_add(self, line):
        m = self._multi
        if line in FINALS or (line[0] == "+" and ":" in line) or self.dialect.is_urc(line):
            # an unterminated +CUSD (garbled quote) must not swallow the next command's result
            self._multi = None
            self._deliver("\n".join(m))
            self._line(line)
            return
        m.append(line)
        whole = "\n".join(m)
        if self.dialect.urc_complete(whole) or len(m) >= 12:
            self._multi = None
            self._deliver(whole)

    def _deliver(self, line):
        for w in self._waiters:
            if line.startswith(w.prefix) and (w.pred is None or w.pred(line)):
                self._waiters.remove(w)
                w.line = line
                w.ev.set()
                break
        if self.on_urc is not None:
            try:
                self.on_urc(line)
            except Exception:
                self.errors += 1

    # ---- commands
    def waiter(self, prefix, pred=None):
        # Register BEFORE sending the command whose result arrives as a URC.
        w = Waiter(prefix, pred)
        self._waiters.append(w)
        return w

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
        self._idle()
        self._done.clear()
        self._prompt.clear()
        self._cmd = cmd
        self._expect = expect
        self._raw_fn = raw
        if raw is not None:
            self.raw = bytearray()
        self._want_prompt = payload is not None
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
