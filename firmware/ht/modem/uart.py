# Async stream adapters giving the AT engine its UART duck type:
#   await u.read(n) -> 1..n bytes (b"" = closed);  await u.write(buf) writes all;  u.close()
# StreamUART wraps an asyncio stream pair: on the ESP32 hal/esp32.py passes
# asyncio.StreamReader(machine.UART(...)) (reader and writer are the same object there); on the
# desktop open_tcp() connects to the modem emulator's TCP "UART" (CPython and MicroPython unix).
import asyncio


class StreamUART:
    def __init__(self, reader, writer=None):
        self.r = reader
        self.w = writer if writer is not None else reader
        self.closed = False

    async def read(self, n):
        if self.closed:
            return b""
        try:
            return await self.r.read(n)
        except OSError:
            return b""

    async def write(self, buf):
        if self.closed:
            raise OSError("uart closed")
        # MicroPython's Stream.write concatenates onto bytes: hand it bytes, not a memoryview
        self.w.write(bytes(buf))
        await self.w.drain()

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.w.close()
            except Exception:
                pass


async def open_tcp(host, port):
    # The emulator serves the modem UART on loopback TCP; one connection = one cable.
    r, w = await asyncio.open_connection(host, port)
    return StreamUART(r, w)
