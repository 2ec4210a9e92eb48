"""The modem's own TLS client, terminated for real with Python's ``ssl`` (memory BIOs).

A :class:`TLSLink` is a :class:`~htsim.emu.sockets.SocketLink` (one real TCP connection to 127.0.0.1 through
the link model's pipes) with an ``ssl.SSLObject`` between the AT side and the wire: the host (the radio) sends
and reads plaintext through AT commands, the pipes carry TLS records. So everything the sockets count
(``sock_tx``/``sock_rx``) is ciphertext on the air, and the handshake pays the link's round trips.

Handshake timing: the network part is real (TCP + TLS 1.2 round trips through the LinkModel); the module's own
work (certificate chain check, ECDHE/RSA on a small application core, flash reads of the CA) is modelled as
``crypto_s`` emulated seconds per dialect, spent when the server's first flight arrives (before the client's
second flight leaves, where a real module computes its key exchange). The figures are in CRYPTO_S with their
basis (docs/MODEM.md "TLS").

The context follows what the host configured: TLS 1.2 at most (neither family offers TLS 1.3 in the builds the
project targets), the server verified against the CA file named in the context when the auth mode asks for it,
SNI and the host name check with the name the host opened. Verification uses the host's clock, not the
emulated module clock (Python's ssl has no verification-time setting).
"""
from __future__ import annotations

import asyncio
import ssl

from .sockets import SocketLink

# Emulated seconds the module itself spends in a full TLS 1.2 handshake (network round trips not included).
# Basis: a field log of a Quectel module shows QSSLOPEN -> +QSSLOPEN: x,0 in 2.0 s to a public server (three
# cellular round trips of ~0.15 s plus DNS leave ~1.2-1.5 s of module time); the Cat-1 parts (ASR/Unisoc
# application cores: A7670, EC200U) are taken at that, the Cat-4 Qualcomm parts (SIM7600, EG91) at half.
CRYPTO_S = {"A7670": 1.2, "SIM7600": 0.6, "EC200U": 1.3, "EG91": 0.6}
DEFAULT_CRYPTO_S = 1.0
_VERSIONS = {1: ssl.TLSVersion.TLSv1, 2: ssl.TLSVersion.TLSv1_1, 3: ssl.TLSVersion.TLSv1_2}


def crypto_s(dialect) -> float:
    return CRYPTO_S.get(getattr(dialect, "name", ""), DEFAULT_CRYPTO_S)


class TLSSetupError(Exception):
    """The context cannot be built (no CA file, a version the module does not do): reported as an open error."""


def make_context(version: int, verify: bool, ca_pem: bytes | None, sni: bool) -> ssl.SSLContext:
    """An SSLContext as the module would handshake: version 3 = TLS 1.2 only, 4 = "all" (1.2 is the ceiling
    here; OpenSSL refuses older ones anyway), 0..2 = that old version only; verify with the CA file's PEM."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if version in _VERSIONS:
        ctx.minimum_version = _VERSIONS[version]
        ctx.maximum_version = _VERSIONS[version]
    elif version != 4:
        raise TLSSetupError("ssl version %r not supported" % version)
    if verify:
        if not ca_pem:
            raise TLSSetupError("no CA certificate set")
        try:
            ctx.load_verify_locations(cadata=ca_pem.decode("latin-1"))
        except (ssl.SSLError, ValueError) as e:
            raise TLSSetupError("CA file unreadable: %s" % e) from None
        ctx.check_hostname = sni
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class TLSLink(SocketLink):
    """One TLS session of the module. ``on_plain(link)`` when decrypted bytes were added to ``rx``;
    ``on_peer_close(link)`` when the server closed (close_notify or FIN) after the handshake."""

    def __init__(self, modem, key, session, host, port, ctx, sni, on_plain, on_peer_close):
        super().__init__(modem, key, host, port)
        self.session = session
        self.cid = 1
        self.access = 0
        self.inc = ssl.MemoryBIO()
        self.outb = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.outb, server_hostname=host if sni else None)
        self.ready = False
        self.why = None               # why the handshake failed, in OpenSSL's words
        self.version = None
        self.plain_tx = 0
        self.plain_rx = 0
        self._wake = asyncio.Event()
        self._on_plain = on_plain
        self._on_peer_close = on_peer_close
        self.on_data = lambda s, seg: s._cipher(seg)
        self.on_close = lambda s: s._fin()

    # -- wire side -----------------------------------------------------------------------------------------
    def _flush(self):
        out = self.outb.read()
        if out:
            SocketLink.send(self, out)

    def _cipher(self, seg):
        self.inc.write(seg)
        if not self.ready:
            self._wake.set()
            return
        self._pump()

    def _fin(self):
        if not self.ready:
            self._wake.set()
            return
        self._pump()
        self._on_peer_close(self)

    def _pump(self):
        got = 0
        closed = False
        while True:
            try:
                d = self.obj.read(16384)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:       # close_notify
                closed = True
                break
            except ssl.SSLError as e:
                self.modem.note("tls %s: record error %s" % (self.session, e))
                closed = True
                break
            if not d:
                break
            self.rx += d
            got += len(d)
        self.plain_rx += got
        self._flush()
        if got:
            self._on_plain(self)
        if closed and self.state == "open":
            self.state = "closed"
            self._shut()
            self._on_peer_close(self)

    # -- handshake -----------------------------------------------------------------------------------------
    async def handshake(self, timeout):
        """TCP connect + TLS handshake; raises OSError/TimeoutError (connect) or ssl.SSLError (refused),
        with ``self.why`` saying why."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        try:
            await self.connect(timeout)
        except (OSError, asyncio.TimeoutError) as e:
            self.why = "connect: %s" % (e or type(e).__name__)
            raise
        thought = False
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
            except ssl.SSLCertVerificationError as e:
                self.why = e.verify_message or str(e)
                self._flush()                    # the alert goes to the server like a module sends it
                raise
            except ssl.SSLError as e:
                self.why = e.reason or str(e)
                self._flush()
                raise
            if self.state != "open" and not self.inc.pending:
                self.why = "server closed the connection during the handshake"
                raise ssl.SSLError(self.why)
            self._wake.clear()
            if not self.inc.pending:
                left = end - loop.time()
                if left <= 0:
                    self.why = "handshake timeout"
                    raise asyncio.TimeoutError()
                try:
                    await asyncio.wait_for(self._wake.wait(), left)
                except asyncio.TimeoutError:
                    self.why = "handshake timeout"
                    raise
            if not thought:
                # the server's first flight is in: the module checks the chain and computes its key share
                thought = True
                await self.modem.sleep(crypto_s(self.modem.d))
        self._flush()
        self.ready = True
        self.version = self.obj.version()
        self._pump()

    # -- host side -----------------------------------------------------------------------------------------
    def send_plain(self, data):
        if self.state != "open" or not self.ready:
            return False
        try:
            self.obj.write(bytes(data))
        except ssl.SSLError:
            return False
        self.plain_tx += len(data)
        self._flush()
        return True

    def close(self, state="released", flush=True):
        if flush and self.ready and self.state == "open":
            try:
                self.obj.unwrap()                # close_notify
            except ssl.SSLError:
                pass
            self._flush()
        super().close(state, flush)

    def snapshot(self):
        d = super().snapshot()
        d.update({"tls": True, "session": self.session, "ready": self.ready, "version": self.version,
                  "why": self.why, "plain_tx": self.plain_tx, "plain_rx": self.plain_rx})
        return d


class TLSState:
    """What the module's TLS service holds between commands (cleared by a reboot)."""

    def __init__(self):
        self.ctx = {}                 # context index -> {"sslversion", "auth", "cacert", "sni", ...}
        self.session_ctx = {}         # SIMCom session -> context index (AT+CCHSSLCFG)
        self.started = False          # SIMCom AT+CCHSTART
        self.report_send = 0          # SIMCom AT+CCHSET
        self.recv_mode = 0
        self.last_error = None

    def context(self, i):
        return self.ctx.setdefault(i, {"sslversion": 4, "auth": 0, "cacert": None, "sni": 0})


def state(m) -> TLSState:
    st = getattr(m, "tls_state", None)
    if st is None:
        st = m.tls_state = TLSState()
    return st


def files(m) -> dict:
    """The module's file system for certificates (survives a reboot like flash)."""
    return m.nv.setdefault("files", {})
