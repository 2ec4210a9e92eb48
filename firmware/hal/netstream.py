# TCP byte stream (docs/ARCHITECTURE.md "Byte stream") for the desktop: CPython and
# MicroPython unix, both through asyncio.open_connection, optionally with TLS.
# On the radio the same contract is met by the modem's AT socket instead.
import asyncio
from ht.compat import IS_MPY


class TCPStream:
    def __init__(self, reader, writer):
        self._r = reader
        self._w = writer
        self._closed = False

    async def recv(self, n):
        if self._closed:
            return b""
        data = await self._r.read(n)
        return data if data is not None else b""

    async def send(self, buf):
        if self._closed:
            raise OSError("stream closed")
        try:
            self._w.write(buf)
            await self._w.drain()
        except OSError:
            raise
        except Exception as e:  # CPython raises ConnectionResetError (an OSError), others wrap
            raise OSError(str(e))

    async def close(self):
        if self._closed:
            return
        self._closed = True
        try:
            self._w.close()
            # bounded: a peer that stopped reading keeps unsent bytes (and the close) waiting forever
            await asyncio.wait_for(self._w.wait_closed(), 5)
        except asyncio.TimeoutError:
            t = getattr(self._w, "transport", None)
            if t is not None:
                t.abort()
        except Exception:  # already reset by the peer: closing is still done
            pass


def tls_context(cafile=None, cadata=None, verify=True):
    # cafile: PEM path (CPython); cadata: DER/PEM bytes of the CA (MicroPython reads bytes).
    import ssl
    if IS_MPY:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if cafile is not None and cadata is None:
            with open(cafile, "rb") as f:
                cadata = f.read()
        if cadata is not None:
            ctx.load_verify_locations(cadata=cadata)
        ctx.verify_mode = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE
        return ctx
    ctx = ssl.create_default_context(cafile=cafile, cadata=cadata)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def open_tcp(host, port, ssl=None, server_hostname=None):
    # -> TCPStream. ssl: an SSLContext from tls_context() or None for plain TCP.
    if ssl is None:
        r, w = await asyncio.open_connection(host, port)
    else:
        r, w = await asyncio.open_connection(host, port, ssl=ssl,
                                             server_hostname=server_hostname or host)
    return TCPStream(r, w)


def opener(host, port, ssl=None, server_hostname=None):
    # For RobustClient: a fresh connection on every call.
    async def _open():
        return await open_tcp(host, port, ssl, server_hostname)
    return _open
