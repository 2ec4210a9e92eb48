# TLS through the modem's own TLS stack, as the same byte stream as a plain AT socket
# (ht/modem/stream.py ATSocket: MQTT rides it unchanged). The modem holds the CA certificate in its
# file system, verifies the broker's certificate and does the crypto; the UART carries plaintext
# between the ESP32 and the modem. Facts each command relies on: docs/MODEM.md "TLS".
#   SIMCom A76xx / SIM7600: CCERTDOWN, CSSLCFG, CCHSET/CCHSTART/CCHSSLCFG/CCHOPEN/CCHSEND/CCHRECV
#   Quectel EC200U / EG91:  QFUPL, QSSLCFG, QSSLOPEN/QSSLSEND/QSSLRECV/QSSLCLOSE
# There is no fallback: a TLS open that fails raises OSError with the reason; nothing here ever
# opens a plain socket (boot.py refuses mqtts:// without a CA file instead of connecting in clear).
import hashlib
import binascii
from ht.modem import parse as P
from ht.modem.at import ModemError
from ht.modem.lines import RAW_MAX
from ht.modem.sockets import Net, _try

CA_FILE = "ca.pem"        # on the radio's file system; written by `htctl provision --ca`
CTX = 1                   # the SSL context this radio configures (SIMCom 0..9, Quectel 0..5)
# Bytes a TLS 1.2 AES-GCM record adds (5 header + 8 explicit nonce + 16 tag): the data plan counts them per
# send and per read, since the UART only carries plaintext (bench_tls: 29.9 B per voice packet measured)
RECORD_OVERHEAD = 29
# ... and a full handshake with a one-certificate ECDSA P-256 chain (bench_tls: 1421 B); an RSA-2048 chain
# is about 1 KB more. Counted per open as (sent, received).
HANDSHAKE_BYTES = (450, 1000)
OPEN_MS = 120000          # both manuals: CCHOPEN / QSSLOPEN may take up to 120 s

# Reasons shown on the radio (link reason, presence) and in the bench detail: (English, Bahasa).
R_NO_CA = ("TLS: no CA certificate on the radio (ca.pem): provision again with --ca",
           "TLS: sertifikat CA tidak ada di radio (ca.pem): provisioning ulang dengan --ca")
R_HANDSHAKE = ("TLS refused: broker certificate not trusted or expired (modem error %s)",
               "TLS ditolak: sertifikat broker tidak dipercaya atau kedaluwarsa (galat modem %s)")
R_REFUSED = ("TLS: broker unreachable or its certificate refused (modem error %s)",
             "TLS: broker tidak terjangkau atau sertifikatnya ditolak (galat modem %s)")
R_CONNECT = ("TLS: broker unreachable (modem error %s)",
             "TLS: broker tidak terjangkau (galat modem %s)")
R_CLOCK = ("TLS refused: modem clock not set yet, certificates cannot be checked (modem error %s)",
           "TLS ditolak: jam modem belum diatur, sertifikat tak bisa diperiksa (galat modem %s)")
R_SETUP = ("TLS: modem refused the TLS setup (%s)", "TLS: modem menolak pengaturan TLS (%s)")
R_FAILED = ("TLS failed: %s", "TLS gagal: %s")


class TLSError(OSError):
    # .reason = (English, Bahasa): what the radio shows; .err = the modem's error number (or None)
    def __init__(self, reason, arg, err=None):
        en, idn = reason
        if "%s" in en:
            en, idn = en % arg, idn % arg
        super().__init__(en)
        self.reason = (en, idn)
        self.err = err


def ca_name(pem):
    # the CA's file name on the modem, from its content: a new CA is a new file, an unchanged one is
    # never written again (flash wear, and ~0.1 s of UART per KB)
    return "htca%s.pem" % binascii.hexlify(hashlib.sha256(pem).digest()[:4]).decode()


class TLSNet(Net):
    links = 2             # sessions this radio uses (SIMCom has 2, Quectel 12 shared with TCP)
    first = 0

    def __init__(self, at, dialect, counter=None):
        Net.__init__(self, at, dialect, counter)
        self.ca = None
        self.name = None
        self.written = 0          # CA files written into the modem
        self.last = None          # (English, Bahasa) of the last failure, None after a good open
        self.opens = 0

    def set_ca(self, pem):
        if isinstance(pem, str):
            pem = pem.encode()
        self.ca = pem or None
        self.name = ca_name(pem) if pem else None

    def _free(self):
        for i in range(self.first, self.first + self.links):
            if i not in self.socks:
                return i
        raise OSError("no free TLS session")

    async def open(self, host, port, timeout_ms=OPEN_MS):
        if not self.ca:
            self.last = R_NO_CA
            raise TLSError(R_NO_CA, None)
        try:
            await self._setup()
        except TLSError as e:
            self.last = e.reason
            raise
        except Exception as e:
            self.last = (R_SETUP[0] % _text(e), R_SETUP[1] % _text(e))
            raise TLSError(R_SETUP, _text(e))
        try:
            s = await Net.open(self, host, port, timeout_ms)
        except TLSError as e:
            if e.err in (15, 566) and not await self._clock_set():
                # a module whose clock the network has not set yet finds every certificate "not yet valid"
                e = TLSError(R_CLOCK, e.err, e.err)
            self.last = e.reason
            raise e
        except OSError as e:
            self.last = (R_FAILED[0] % _text(e), R_FAILED[1] % _text(e))
            raise TLSError(R_FAILED, _text(e))
        self.last = None
        self.opens += 1
        if self.counter:
            self.counter(HANDSHAKE_BYTES[0], HANDSHAKE_BYTES[1])
        return s

    async def write(self, s, mv):
        await Net.write(self, s, mv)
        if self.counter:
            self.counter(RECORD_OVERHEAD, 0)

    async def read(self, s):
        data, more = await Net.read(self, s)
        if data and self.counter:
            self.counter(0, RECORD_OVERHEAD)
        return data, more

    async def _clock_set(self):
        # False only when the modem says its clock is unset (1980/2004 after boot); unknown counts as set
        try:
            for line in await self.at.cmd("AT+CCLK?", "+CCLK:", timeout_ms=3000):
                return P.clock_fields(line) is None or P.cclk(line) is not None
        except Exception:
            pass
        return True

    async def _setup(self):
        # asked every time (one short command): a reboot, a swapped modem or a wiped file system is noticed
        if not await self._has_file(self.name):
            await self._put_file(self.name, self.ca)
            self.written += 1
        await self._context()


def _text(e):
    return getattr(e, "text", None) or str(e) or type(e).__name__


def _fail(lid, err):
    # SIMCom +CCHOPEN errors (A76xx manual, SSL chapter): 15 handshake, 19 no certificate set;
    # Quectel answers 566 for a refused certificate as for a refused connection (see docs/MODEM.md)
    if err in (15, 19):
        return TLSError(R_HANDSHAKE, err, err)
    if err == 566:
        return TLSError(R_REFUSED, err, err)
    return TLSError(R_CONNECT, err, err)


# ---- SIMCom A76xx / SIM7600 -------------------------------------------------------------------------
def _raw_cch(line):
    # "+CCHRECV: DATA,<session>,<len>" announces <len> raw bytes; "+CCHRECV: <session>,<err>" none
    f = P.fields(line)
    if len(f) >= 3 and f[0] == "DATA":
        return P.length(f[2], RAW_MAX)
    return 0


def _cch_end(line):
    return line.startswith("+CCHRECV:") and P.fields(line)[0] != "DATA"


class SIMComTLS(TLSNet):
    links = 2
    first = 0
    max_read = 1024

    async def _has_file(self, name):
        for line in await self.at.cmd("AT+CCERTLIST", "+CCERTLIST:"):
            if P.unq(P.fields(line)[0]) == name:
                return True
        return False

    async def _put_file(self, name, data):
        await self.at.cmd('AT+CCERTDOWN="%s",%d' % (name, len(data)), payload=data, timeout_ms=10000,
                          extra_ms=len(data) // 5)

    async def _context(self):
        at = self.at
        for c in ('AT+CSSLCFG="sslversion",%d,3' % CTX,       # TLS 1.2 only: no downgrade
                  'AT+CSSLCFG="authmode",%d,1' % CTX,         # verify the server with our CA
                  'AT+CSSLCFG="cacert",%d,"%s"' % (CTX, self.name),
                  'AT+CSSLCFG="enableSNI",%d,1' % CTX,
                  "AT+CCHSET=1,1"):                          # report send results, receive into a buffer
            await at.cmd(c, timeout_ms=5000)
        w = at.waiter("+CCHSTART:")
        try:
            await at.cmd("AT+CCHSTART", timeout_ms=5000)
            line = await at.wait(w, 120000)
            err = P.num(P.fields(line)[0], -1)
            if err != 0:
                raise TLSError(R_SETUP, "CCHSTART %d" % err)
        except ModemError:
            pass                      # ERROR: the TLS service is already started
        finally:
            if w in at._waiters:
                at._waiters.remove(w)

    async def _open(self, lid, host, port, timeout_ms):
        at = self.at
        await at.cmd("AT+CCHSSLCFG=%d,%d" % (lid, CTX), timeout_ms=5000)
        w = at.waiter("+CCHOPEN: %d," % lid)
        await at.cmd('AT+CCHOPEN=%d,"%s",%d,2' % (lid, host, port), timeout_ms=5000)
        line = await at.wait(w, timeout_ms)
        err = P.num(P.fields(line)[1], -1)
        if err != 0:
            raise _fail(lid, err)

    async def _send(self, lid, mv, g):
        await self.at.cmd("AT+CCHSEND=%d,%d" % (lid, len(mv)), payload=mv, timeout_ms=5000,
                          extra_ms=len(mv) // 5, guard=g)

    async def _read(self, lid, g):
        at = self.at
        await at.cmd("AT+CCHRECV=%d,%d" % (lid, self.max_read), "+CCHRECV:", raw=_raw_cch,
                     timeout_ms=5000, extra_ms=self.max_read // 5, guard=g, until=_cch_end)
        data = bytes(at.raw or b"")
        return data, len(data) >= self.max_read

    async def _close(self, lid, g=None):
        await self.at.cmd("AT+CCHCLOSE=%d" % lid, timeout_ms=5000, guard=g)

    async def _alive(self, lid):
        # +CCHOPEN: <s>,"<host>",<port>,<type>,<bind> while open; +CCHOPEN: <s>,"",,, when not
        for line in await self.at.cmd("AT+CCHOPEN?", "+CCHOPEN:"):
            f = P.fields(line)
            if P.num(f[0]) == lid:
                return len(f) > 1 and P.unq(f[1]) != ""
        return False

    def on_urc(self, line):
        if line.startswith("+CCHEVENT:"):
            f = P.fields(line)
            s = self._sock(P.num(f[0], -1))
            if s and len(f) > 1 and "RECV" in f[1]:
                s.readable.set()
        elif line.startswith("+CCH_PEER_CLOSED:") or line.startswith("+CCH_RECV_CLOSED:"):
            s = self._sock(P.num(P.fields(line)[0], -1))
            if s:
                s.peer_closed = True
                s.readable.set()
        elif line.startswith("+CCHSEND:"):
            f = P.fields(line)
            s = self._sock(P.num(f[0], -1))
            if s and len(f) > 1 and P.num(f[1], 0) != 0:
                s.peer_closed = True      # the modem could not send: the session is broken
                s.readable.set()


# ---- Quectel EC200U / EG91 ------------------------------------------------------------------------
def _raw_qssl(line):
    return P.length(P.fields(line)[0], RAW_MAX)


class QuectelTLS(TLSNet):
    links = 2
    first = 4             # client ids share the TCP connectID pool: keep clear of sockets.py's 0..3
    max_read = 1500

    def __init__(self, at, dialect, counter=None):
        TLSNet.__init__(self, at, dialect, counter)
        self.first = dialect.sock_links

    async def _has_file(self, name):
        try:
            lines = await self.at.cmd('AT+QFLST="UFS:%s"' % name, "+QFLST:")
        except ModemError:
            return False              # +CME ERROR: 405 file not found
        return len(lines) > 0

    async def _put_file(self, name, data):
        await _try(self.at.cmd('AT+QFDEL="UFS:%s"' % name, timeout_ms=5000))
        await self.at.cmd('AT+QFUPL="UFS:%s",%d,60' % (name, len(data)), "+QFUPL:", payload=data,
                          timeout_ms=10000, extra_ms=len(data) // 5)

    async def _context(self):
        for c in ('AT+QSSLCFG="sslversion",%d,3' % CTX,           # TLS 1.2 only
                  'AT+QSSLCFG="ciphersuite",%d,0xFFFF' % CTX,
                  'AT+QSSLCFG="seclevel",%d,1' % CTX,             # verify the server with our CA
                  'AT+QSSLCFG="cacert",%d,"UFS:%s"' % (CTX, self.name),
                  'AT+QSSLCFG="sni",%d,1' % CTX):
            await self.at.cmd(c, timeout_ms=5000)

    async def _open(self, lid, host, port, timeout_ms):
        at = self.at
        w = at.waiter("+QSSLOPEN: %d," % lid)
        await at.cmd('AT+QSSLOPEN=1,%d,%d,"%s",%d,0' % (CTX, lid, host, port), timeout_ms=5000)
        line = await at.wait(w, timeout_ms)
        err = P.num(P.fields(line)[1], -1)
        if err != 0:
            raise _fail(lid, err)

    async def _send(self, lid, mv, g):
        await self.at.cmd("AT+QSSLSEND=%d,%d" % (lid, len(mv)), payload=mv, timeout_ms=5000,
                          extra_ms=len(mv) // 5, guard=g)

    async def _read(self, lid, g):
        at = self.at
        await at.cmd("AT+QSSLRECV=%d,%d" % (lid, self.max_read), "+QSSLRECV:", raw=_raw_qssl,
                     timeout_ms=5000, extra_ms=self.max_read // 5, guard=g)
        data = bytes(at.raw or b"")
        return data, len(data) >= self.max_read

    async def _close(self, lid, g=None):
        await self.at.cmd("AT+QSSLCLOSE=%d,10" % lid, timeout_ms=12000, guard=g)

    async def _alive(self, lid):
        # +QSSLSTATE: <id>,"SSLClient",<ip>,<port>,<local>,<state>,...  state 2 = connected
        for line in await self.at.cmd("AT+QSSLSTATE=%d" % lid, "+QSSLSTATE:"):
            f = P.fields(line)
            return len(f) > 5 and P.num(f[5]) in (1, 2)
        return False

    def on_urc(self, line):
        if not line.startswith("+QSSLURC:"):
            return
        f = P.fields(line)
        s = self._sock(P.num(f[1], -1)) if len(f) > 1 else None
        if s is None:
            return
        kind = P.unq(f[0])
        if kind == "recv":
            s.readable.set()
        elif kind == "closed":
            s.peer_closed = True
            s.readable.set()


def make(at, dialect, counter=None):
    return (QuectelTLS if dialect.family == "quectel" else SIMComTLS)(at, dialect, counter)


def read_ca(path=CA_FILE):
    # the CA PEM the radio was provisioned with, or None
    try:
        with open(path, "rb") as f:
            pem = f.read()
    except OSError:
        return None
    return pem if b"-----BEGIN CERTIFICATE-----" in pem else None
