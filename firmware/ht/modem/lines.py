# The line side of the AT engine: bytes from the modem -> lines, URCs, responses, finals, raw
# payloads and the '>' prompt. Pure and synchronous (feed() takes whatever the UART gave), so tests
# and the fuzzer drive it without an event loop; ht/modem/at.py adds the commands on top.
# Lines are split on "\n" into a preallocated buffer; a line longer than the buffer is dropped whole
# (field logs show modems spewing garbage at boot). A response line that announces raw bytes
# (+CIPRXGET: 2,.. / +QIRD: n) switches to raw mode for exactly that many bytes, so binary payloads
# never reach the line parser.
import asyncio
from ht.compat import const
from ht.modem.parse import text

_LINE_MAX = const(512)
# Largest raw payload one response may announce: both families read at most 1500 bytes per call
# (dialects.sock_max_read); anything larger, negative or not a number is refused (issue 11).
RAW_MAX = const(1600)
FINALS = ("OK", "ERROR")


class Waiter:
    # A one-shot wait for a URC that completes an asynchronous command (+CIPOPEN: 0,0 ...).
    def __init__(self, prefix, pred):
        self.prefix = prefix
        self.pred = pred
        self.line = None
        self.ev = asyncio.Event()


class ATLines:
    def __init__(self, dialect, on_urc=None):
        self.dialect = dialect
        self.on_urc = on_urc          # called with each URC line (str); must not block
        self._lb = bytearray(_LINE_MAX)
        self._ln = 0
        self._over = False
        self._done = asyncio.Event()
        self._prompt = asyncio.Event()
        self._waiters = []
        self._multi = None            # URC spanning several lines (+CUSD text)
        self._idle()
        # counters for supervision, tests and benchmarks
        self.timeouts = 0             # consecutive timeouts; reset by any final result
        self.lines = self.urcs = self.stray = self.overlong = self.errors = 0
        self.badlen = 0               # raw lengths refused (negative, oversized, not a number)
        self.hangs = 0                # feed() calls that hit the step budget (must stay 0)

    def _idle(self):
        self._cmd = None
        self._expect = None
        self._raw_fn = None
        self._until = None
        self._until_seen = False
        self._want_prompt = False
        self._resp = []
        self._final = None
        self.raw = None
        self._raw_need = 0

    def begin(self, cmd, expect, raw, prompt, until=None):
        # a command goes out: what its response lines look like, how long its raw payloads are.
        # until: fn(line) -> True for the line that ends a response the modem prints AFTER its OK
        # (SIMCom AT+CCHRECV: OK, then +CCHRECV: DATA,<s>,<n> + bytes, then +CCHRECV: <s>,<err>)
        self._idle()
        self._done.clear()
        self._prompt.clear()
        self._cmd = cmd
        self._expect = expect
        self._raw_fn = raw
        self._until = until
        if raw is not None:
            self.raw = bytearray()
        self._want_prompt = prompt

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
        # Every pass consumes at least one byte, so n + 1 passes are the budget; running past it
        # means a bug moved i backwards: count it and drop the chunk rather than spin forever.
        steps = n + 1
        while i < n:
            steps -= 1
            if steps < 0:
                self.hangs += 1
                self._ln = 0
                return
            if self._raw_need > 0:
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
            if self._want_prompt and line == "CONNECT":
                # Quectel AT+QFUPL asks for the file's bytes with CONNECT instead of '>'
                self._want_prompt = False
                self._prompt.set()
                return
            if self._until is not None and self._until(line):
                self._resp.append(line)
                self._until_seen = True
                if self._final is not None:
                    self._done.set()
                return
            if line in FINALS or line.startswith("+CME ERROR") or line.startswith("+CMS ERROR") \
                    or line in self.dialect.extra_finals:
                self._finish(line)
                return
            if self._is_response(line):
                self._resp.append(line)
                if self._raw_fn is not None:
                    self._raw_len(self._raw_fn(line))
                return
        elif line in FINALS or line.startswith("+CME ERROR"):
            self.stray += 1  # late final of a command that timed out
            return
        self._urc(line)

    def _raw_len(self, k):
        # k from the command's length parser: 0 = no raw bytes, None = refused; a count that would
        # take the buffer past RAW_MAX is refused too (two raw responses to one command)
        if k is None or not isinstance(k, int) or k < 0 or k > RAW_MAX - len(self.raw):
            self.badlen += 1
        elif k:
            self._raw_need = k

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
        if self._done.is_set() or self._final is not None:
            self.stray += 1         # a second final for one command: the first one counts
            return
        self._final = line
        self.timeouts = 0
        if self._until is None or self._until_seen or not (line == "OK" or line in self.dialect.ok_finals):
            self._done.set()        # else the response goes on after OK (begin's until)
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

    # ---- URC waiters for commands whose result comes later

    def waiter(self, prefix, pred=None):
        # Register BEFORE sending the command whose result arrives as a URC.
        w = Waiter(prefix, pred)
        self._waiters.append(w)
        return w
