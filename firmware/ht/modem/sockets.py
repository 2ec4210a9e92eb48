# TCP through the modem's own IP stack: PDP/socket-service bring-up and the per-family socket
# commands (SIMCom NETOPEN/CIPOPEN/CIPSEND/CIPRXGET, Quectel QIACT/QIOPEN/QISEND/QIRD). The
# stream each open() returns is ht/modem/stream.py. Receive is "manual" on both families
# (AT+CIPRXGET=1, Quectel buffer access mode): the modem holds data and announces it with a URC;
# we fetch it with a read command whose response carries raw bytes.
import asyncio
from ht.modem import parse as P
from ht.modem.at import ModemError
from ht.modem.lines import RAW_MAX
from ht.modem.stream import ATSocket


class Net:
    # Family-specific subclasses below fill in the commands; this holds the socket table.
    def __init__(self, at, dialect, counter=None):
        self.at = at
        self.d = dialect
        self.counter = counter    # counter(tx_bytes, rx_bytes): the data plan
        self.socks = {}
        self.ip = None
        self.epoch = 0
        self.peers = []           # services riding the same PDP (ht/modem/tls.py): they die with it

    def _free(self):
        for i in range(self.d.sock_links):
            if i not in self.socks:
                return i
        raise OSError("no free modem socket")

    def drop_all(self, reason):
        self.epoch += 1
        # PDP gone, modem reset, SIM pulled: every open socket is dead, tell their readers now
        for s in self.socks.values():
            s.dead = reason
            s.readable.set()
            s._txkick.set()
        self.socks = {}
        for p in self.peers:
            p.drop_all(reason)

    async def open(self, host, port, timeout_ms=20000):
        lid = self._free()
        s = ATSocket(self, lid)
        self.socks[lid] = s
        try:
            await self._open(lid, host, port, timeout_ms)
        except Exception as e:
            self.socks.pop(lid, None)
            await self._close_quiet(lid)
            raise _oserror(e, "open %s:%d" % (host, port))
        return s

    async def _close_quiet(self, lid):
        epoch = self.epoch
        try:
            # only while nothing reused the link id and no restart dropped everything meanwhile
            await self._close(lid, lambda: lid not in self.socks and self.epoch == epoch)
        except Exception:
            pass

    def _current(self, s):
        return lambda: self.socks.get(s.lid) is s and not s.dead

    async def write(self, s, mv):
        try:
            await self._send(s.lid, mv, self._current(s))
        except Exception as e:
            raise _oserror(e, "send")
        if self.counter:
            self.counter(len(mv), 0)

    async def read(self, s):
        try:
            data, more = await self._read(s.lid, self._current(s))
        except ModemError:
            # Some builds answer "+IP ERROR: No data" + ERROR on an empty buffer: only a link the
            # modem no longer lists is closed.
            try:
                alive = await self._alive(s.lid)
            except ModemError:
                alive = False
            if not alive:
                s.peer_closed = True
            return b"", False
        except Exception as e:
            raise _oserror(e, "recv")
        if data and self.counter:
            self.counter(0, len(data))
        return data, more

    async def close(self, s):
        if self.socks.get(s.lid) is s:
            del self.socks[s.lid]
            if not s.dead:
                await self._close_quiet(s.lid)

    def _sock(self, lid):
        return self.socks.get(lid)

    def on_urc(self, line):
        pass


def _oserror(e, what):
    if isinstance(e, OSError):
        return e
    if isinstance(e, asyncio.TimeoutError):
        return OSError("%s: modem timeout" % what)
    return OSError("%s: %s" % (what, getattr(e, "text", e)))


# Raw-payload lengths: None for a count that is not a plain number in 0..RAW_MAX (the engine
# counts it in `badlen` and reads no raw bytes; the command still ends on its final line).
def _raw_simcom(line):
    f = P.fields(line)
    return P.length(f[2], RAW_MAX) if len(f) >= 4 and P.num(f[0]) == 2 else 0


def _raw_quectel(line):
    return P.length(P.fields(line)[0], RAW_MAX)


class SIMComNet(Net):
    async def up(self, apn):
        at = self.at
        await _try(at.cmd("AT+CIPRXGET=1"))       # manual receive, before NETOPEN (manual 15.2)
        await _try(at.cmd("AT+CGACT=1,1", timeout_ms=30000))
        w = at.waiter("+NETOPEN:")
        try:
            await at.cmd("AT+NETOPEN", timeout_ms=30000)
            line = await at.wait(w, 30000)
            if P.num(P.fields(line)[0]) != 0:
                raise OSError("NETOPEN failed: %s" % line)
        except ModemError:
            # "Network is already opened" comes back as ERROR; believe the query, not the error
            lines = await at.cmd("AT+NETOPEN?", "+NETOPEN:")
            if not lines or P.num(P.fields(lines[0])[0]) != 1:
                raise
        return await self._ip()

    async def _ip(self):
        lines = await self.at.cmd("AT+CGPADDR=1", "+CGPADDR:")
        self.ip = P.cgpaddr(lines[0]) if lines else None
        return self.ip

    async def check(self):
        lines = await self.at.cmd("AT+NETOPEN?", "+NETOPEN:")
        return bool(lines) and P.num(P.fields(lines[0])[0]) == 1

    async def down(self):
        self.drop_all("data down")
        await _try(self.at.cmd("AT+NETCLOSE", timeout_ms=10000))

    async def _open(self, lid, host, port, timeout_ms):
        w = self.at.waiter("+CIPOPEN: %d," % lid)
        await self.at.cmd('AT+CIPOPEN=%d,"TCP","%s",%d' % (lid, host, port), timeout_ms=5000)
        line = await self.at.wait(w, timeout_ms)
        err = P.num(P.fields(line)[1], -1)
        if err != 0:
            raise OSError("CIPOPEN error %d" % err)

    async def _send(self, lid, mv, g):
        await self.at.cmd("AT+CIPSEND=%d,%d" % (lid, len(mv)), payload=mv, timeout_ms=5000,
                          extra_ms=len(mv) // 5, guard=g)

    async def _read(self, lid, g):
        at = self.at
        lines = await at.cmd("AT+CIPRXGET=2,%d,%d" % (lid, self.d.sock_max_read), "+CIPRXGET:",
                             raw=_raw_simcom, timeout_ms=5000, extra_ms=self.d.sock_max_read // 5,
                             guard=g)
        rest = 0
        for line in lines:
            f = P.fields(line)
            if len(f) >= 4:
                rest = P.length(f[3], 1 << 20) or 0
        return bytes(at.raw or b""), rest > 0

    async def _close(self, lid, g=None):
        await self.at.cmd("AT+CIPCLOSE=%d" % lid, timeout_ms=5000, guard=g)

    async def _alive(self, lid):
        # AT+CIPCLOSE? -> "+CIPCLOSE: 1,0,0,..." one flag per link
        for line in await self.at.cmd("AT+CIPCLOSE?", "+CIPCLOSE:"):
            f = P.fields(line)
            return lid < len(f) and P.num(f[lid]) == 1
        return False

    def on_urc(self, line):
        if line.startswith("+CIPRXGET:"):
            f = P.fields(line)
            s = self._sock(P.num(f[1] if len(f) > 1 else "", -1))
            if s and P.num(f[0]) == 1:
                s.readable.set()
        elif line.startswith("+IPCLOSE:"):
            s = self._sock(P.num(P.fields(line)[0], -1))
            if s:
                s.peer_closed = True
                s.readable.set()


class QuectelNet(Net):
    async def up(self, apn):
        at = self.at
        await _try(at.cmd('AT+QICSGP=1,1,"%s","","",1' % apn))
        try:
            await at.cmd("AT+QIACT=1", timeout_ms=40000)
        except ModemError:
            if not await self.check():   # ERROR when already active
                raise
        lines = await at.cmd("AT+CGPADDR=1", "+CGPADDR:")
        self.ip = P.cgpaddr(lines[0]) if lines else None
        return self.ip

    async def check(self):
        for line in await self.at.cmd("AT+QIACT?", "+QIACT:"):
            f = P.fields(line)
            if P.num(f[0]) == 1 and len(f) > 1 and P.num(f[1]) == 1:
                return True
        return False

    async def down(self):
        self.drop_all("data down")
        await _try(self.at.cmd("AT+QIDEACT=1", timeout_ms=40000))

    async def _open(self, lid, host, port, timeout_ms):
        w = self.at.waiter("+QIOPEN: %d," % lid)
        await self.at.cmd('AT+QIOPEN=1,%d,"TCP","%s",%d,0,0' % (lid, host, port), timeout_ms=5000)
        line = await self.at.wait(w, timeout_ms)
        err = P.num(P.fields(line)[1], -1)
        if err != 0:
            raise OSError("QIOPEN error %d" % err)

    async def _send(self, lid, mv, g):
        await self.at.cmd("AT+QISEND=%d,%d" % (lid, len(mv)), payload=mv, timeout_ms=5000,
                          extra_ms=len(mv) // 5, guard=g)

    async def _read(self, lid, g):
        at = self.at
        await at.cmd("AT+QIRD=%d,%d" % (lid, self.d.sock_max_read), "+QIRD:", raw=_raw_quectel,
                     timeout_ms=5000, extra_ms=self.d.sock_max_read // 5, guard=g)
        data = bytes(at.raw or b"")
        # QIRD has no "rest" field: a full read means there may be more
        return data, len(data) >= self.d.sock_max_read

    async def _close(self, lid, g=None):
        await self.at.cmd("AT+QICLOSE=%d" % lid, timeout_ms=10000, guard=g)

    async def _alive(self, lid):
        # +QISTATE: <id>,"TCP",<ip>,<port>,<local>,<state>,...  state 2 = connected
        for line in await self.at.cmd("AT+QISTATE=1,%d" % lid, "+QISTATE:"):
            f = P.fields(line)
            return len(f) > 5 and P.num(f[5]) in (1, 2)
        return False

    def on_urc(self, line):
        if not line.startswith("+QIURC:"):
            return
        f = P.fields(line)
        kind = P.unq(f[0])
        s = self._sock(P.num(f[1], -1)) if len(f) > 1 else None
        if s is None:
            return
        if kind == "recv":
            s.readable.set()
        elif kind == "closed":
            s.peer_closed = True
            s.readable.set()


async def _try(coro):
    # for setup commands whose failure is harmless (already set, not supported by this build)
    try:
        return await coro
    except ModemError:
        return None


def make(at, dialect, counter=None):
    return (QuectelNet if dialect.family == "quectel" else SIMComNet)(at, dialect, counter)
