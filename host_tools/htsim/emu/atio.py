"""The byte-level side of the AT channel: the host's input buffer (line / exact-length / until-Ctrl-Z reads),
the reply being built for one command line, and the error texts of +CMEE=2."""
import asyncio

MAX_LINE = 1024          # A76xx/Quectel command line buffer; longer lines are discarded with ERROR
RX_LIMIT = 64 * 1024     # bytes waiting while a command runs; beyond this input is dropped (counted)

CME_TEXT = {3: "operation not allowed", 4: "operation not supported", 10: "SIM not inserted",
            11: "SIM PIN required", 12: "SIM PUK required", 13: "SIM failure", 14: "SIM busy",
            16: "incorrect password", 30: "no network service", 50: "Incorrect parameters", 100: "unknown"}
CMS_TEXT = {302: "operation not allowed", 304: "invalid PDU mode parameter", 310: "SIM not inserted",
            311: "SIM PIN required", 313: "SIM failure", 314: "SIM busy", 316: "SIM PUK required",
            321: "invalid memory index", 331: "no network service", 500: "unknown error"}
OVERFLOW = object()
CTRL_Z, ESC = 0x1A, 0x1B   # end / cancel of the text after a data prompt (socket send, SMS)


class RxBuffer:
    """Bytes from the host, read by the command worker in line / exact-length / until-Ctrl-Z modes."""

    def __init__(self):
        self.buf = bytearray()
        self.ev = asyncio.Event()

    def feed(self, data):
        """False when the bytes did not fit: like a real UART FIFO, a flood the modem is not reading is lost."""
        if len(self.buf) + len(data) > RX_LIMIT:
            return False
        self.buf += data
        self.ev.set()
        return True

    def clear(self):
        del self.buf[:]

    async def _more(self):
        self.ev.clear()
        await self.ev.wait()

    async def read_line(self, maxlen):
        overflow = False
        while True:
            i = self.buf.find(b"\r")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 1]
                return OVERFLOW if (overflow or len(line) > maxlen) else line
            if len(self.buf) > maxlen:       # keep memory bounded: drop the flood, answer ERROR at its CR
                del self.buf[:]
                overflow = True
            await self._more()

    async def read_exact(self, n):
        while len(self.buf) < n:
            await self._more()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    async def read_until(self, stops, maxlen, echo=None):
        """Text terminated by one of the stop bytes (Ctrl-Z / ESC). Returns (text, stop)."""
        out = bytearray()
        while True:
            while not self.buf:
                await self._more()
            b = self.buf[0]
            del self.buf[:1]
            if b in stops:
                return bytes(out), b
            if echo:
                echo(bytes((b,)))
            if len(out) < maxlen:
                out.append(b)


class Reply:
    def __init__(self, modem):
        self.m = modem
        self.items = []
        self.final = "OK"
        self.after = []

    def line(self, s):
        self.items.append(s)

    def raw(self, b):
        self.items.append(bytes(b))

    def later(self, s):
        """A line printed right after the final result (e.g. +CIPSEND: 0,5,5)."""
        self.after.append(s)

    async def prompt(self, marker):
        """Print what we have so far and the data prompt; the caller then reads raw bytes."""
        self.m.write(self.m.frame(self.items) + marker)
        self.items = []
