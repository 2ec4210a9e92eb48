"""The modem's UART as seen from the host: a TCP port on 127.0.0.1 and/or a pseudo-terminal, with the line
rate emulated (10 bits per byte at the configured baud, both directions; baud is wall-clock, never scaled).
"""
import asyncio
import collections
import os
import termios
import tty

_CHUNK_S = 0.005      # pump granularity: ~5 ms worth of bytes per write


class Pump:
    """Ordered byte pump that releases bytes no faster than the line rate."""

    def __init__(self, sink, baud):
        self.sink = sink
        self.baud = baud
        self.q = collections.deque()
        self.ev = asyncio.Event()
        self.free_at = 0.0
        self.task = asyncio.get_running_loop().create_task(self._run())

    def put(self, data):
        if data:
            self.q.append(bytes(data))
            self.ev.set()

    async def _run(self):
        loop = asyncio.get_running_loop()
        while True:
            if not self.q:
                while not self.q:
                    self.ev.clear()
                    await self.ev.wait()
                # the line was idle: the next byte starts now. Within a burst free_at just accumulates, so
                # an oversleep on one chunk is made up on the next instead of slowing the line down.
                self.free_at = max(self.free_at, loop.time())
            data = self.q.popleft()
            if not self.baud:
                # unthrottled: merge what is queued to keep the order and cut per-write overhead
                while self.q and len(data) < 65536:
                    data += self.q.popleft()
                await self.sink(data)
                continue
            rate = self.baud / 10.0
            step = max(1, int(rate * _CHUNK_S))
            for i in range(0, len(data), step):
                part = data[i:i + step]
                self.free_at += len(part) / rate
                # epoll sleeps in whole milliseconds, rounded up: aim half a millisecond early so the line
                # rate is met on average instead of losing up to 1 ms per chunk
                wait = self.free_at - loop.time() - 0.0005
                if wait > 0:
                    await asyncio.sleep(wait)
                await self.sink(part)

    def close(self):
        self.task.cancel()


class Uart:
    """on_rx(bytes) is called with bytes from the host after line-rate delay."""

    def __init__(self, on_rx, baud):
        self.on_rx = on_rx
        self.baud = baud
        self.writer = None          # current TCP client
        self.server = None
        self.port = None
        self.master = None
        self.slave = None
        self.pty_path = None
        self.tx = Pump(self._send, baud)
        self.rx = Pump(self._recv, baud)
        self.tx_bytes = 0
        self.rx_bytes = 0

    def set_baud(self, baud):
        self.baud = baud
        self.tx.baud = baud
        self.rx.baud = baud

    async def start_tcp(self, host="127.0.0.1", port=0):
        self.server = await asyncio.start_server(self._client, host, port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def _client(self, reader, writer):
        old, self.writer = self.writer, writer      # a new client replaces the old one, like re-plugging
        if old is not None:
            old.close()
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    break
                self.rx.put(data)
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            if self.writer is writer:
                self.writer = None
            writer.close()

    def open_pty(self):
        if self.pty_path:
            return self.pty_path
        master, slave = os.openpty()
        tty.setraw(slave)
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        os.set_blocking(master, False)
        # We keep the slave open ourselves so the master never sees EIO when a client closes the port.
        self.master, self.slave = master, slave
        self.pty_path = os.ttyname(slave)
        asyncio.get_running_loop().add_reader(master, self._pty_readable)
        return self.pty_path

    def _pty_readable(self):
        try:
            data = os.read(self.master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        if data:
            self.rx.put(data)

    async def _recv(self, data):
        self.rx_bytes += len(data)
        self.on_rx(data)

    def write(self, data):
        self.tx.put(data)

    async def _send(self, data):
        self.tx_bytes += len(data)
        w = self.writer
        if w is not None:
            try:
                w.write(data)
                if w.transport.get_write_buffer_size() > 1 << 20:
                    await asyncio.wait_for(w.drain(), 5.0)
            except (OSError, RuntimeError, asyncio.TimeoutError):
                pass
        if self.master is not None:
            await self._pty_write(data)

    async def _pty_write(self, data):
        loop = asyncio.get_running_loop()
        view = memoryview(data)
        deadline = loop.time() + 2.0     # nobody reading the pty: drop, like a UART with no listener
        while view:
            try:
                n = os.write(self.master, view)
                view = view[n:]
            except BlockingIOError:
                if loop.time() > deadline:
                    return
                await asyncio.sleep(0.01)
            except OSError:
                return

    def close(self):
        self.tx.close()
        self.rx.close()
        if self.server is not None:
            self.server.close()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.master is not None:
            try:
                asyncio.get_running_loop().remove_reader(self.master)
            except (RuntimeError, ValueError):
                pass
            for fd in (self.master, self.slave):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.master = self.slave = None
