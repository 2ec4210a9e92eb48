# Desktop twin of hal/esp32.py (surface: docs/HAL.md). Runs under MicroPython unix (the virtual device)
# and CPython (tests). Pins are plain objects that record what the firmware did; the modem UART is a TCP
# connection to the modem emulator's uart_port; modem control pins are forwarded to the emulator's control
# port so PWRKEY/RESET/POWERON have the effect they have on the bench; audio comes from and goes to WAV
# files in a host folder the virtual device names (HT_SIM_DIR), or from/to arrays handed in by tests.
import os
import struct
import asyncio
from array import array
from ht.compat import IS_MPY, ticks_ms
from ht import board as B
from hal import MODEM_CONTROLS, gpio_level
try:
    from ht.voice import pcmcopy_viper as _copy
except (ImportError, SyntaxError, ValueError, NotImplementedError):
    from ht.voice import pcmcopy_pure as _copy

_EVENTS_MAX = 1000     # recorded LED/tone/pin events kept (oldest dropped); a radio can run for days


def _env(name, default=None):
    v = os.getenv(name)
    return v if v else default


def _addr(text):
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def host_open(folder, name, mode):
    # On the virtual device "/" is the flash folder, so a host path is only reachable through its own
    # VfsPosix object (not mounted: it must not show up in `mpremote fs ls`). The name must be absolute:
    # VfsPosix joins its root only to those and resolves a relative one against the process's cwd.
    if IS_MPY:
        return os.VfsPosix(folder).open("/" + name, mode)
    return open(folder.rstrip("/") + "/" + name, mode)


class SimPin:
    # machine.Pin's call protocol: p() reads, p(v) drives. Inputs are driven by tests through set().
    def __init__(self, num, role, hal):
        self.num = num
        self.role = role
        self._v = 0
        self._hal = hal

    def __call__(self, v=None):
        if v is None:
            return self._v
        v = 1 if v else 0
        if v != self._v:
            self._v = v
            self._hal.record("pin", self.role, v)
        return None

    value = __call__

    def set(self, v):
        self._v = 1 if v else 0


class SimUART:
    # AT engine duck type (ht/modem/uart.py): await read(n) -> 1..n bytes, b"" when closed; await write(buf);
    # close(). Connects on first use so building the HAL needs no emulator; each boot of the vdev is a new
    # connection, and the emulator keeps its state across it like a modem across an ESP32 soft reset.
    # The AT engine's reader and its first command reach here together: the open is guarded so they share
    # one connection (the emulator takes one client; a second replaces the first and the modem goes deaf).
    def __init__(self, addr):
        self.addr = addr
        self._u = None
        self._lock = asyncio.Lock()
        self.closed = False

    async def _open(self):
        if self._u is None:
            async with self._lock:
                if self._u is None and not self.closed:
                    if self.addr is None:
                        raise OSError("sim: no modem wired (HT_SIM_UART unset)")
                    from ht.modem.uart import open_tcp
                    self._u = await open_tcp(self.addr[0], self.addr[1])
                    if self.closed:     # closed while connecting
                        self._u.close()
        if self.closed:
            raise OSError("uart closed")
        return self._u

    async def read(self, n):
        if self.closed:
            return b""
        try:
            u = await self._open()
        except OSError:
            return b""  # no modem answering is a closed line to the AT engine
        return await u.read(n)

    async def write(self, buf):
        if self.closed:
            raise OSError("uart closed")
        u = await self._open()
        await u.write(buf)

    def close(self):
        self.closed = True
        if self._u is not None:
            self._u.close()


class ModemControl:
    # One short line per modem pin change to the emulator's control port ("pin PWRKEY 1"): pins are set
    # from synchronous code, and a blocking send on loopback takes microseconds.
    def __init__(self, addr):
        self.addr = addr
        self._s = None

    def send(self, line):
        if self.addr is None:
            return False
        import socket
        try:
            if self._s is None:
                s = socket.socket()
                s.connect(socket.getaddrinfo(self.addr[0], self.addr[1])[0][-1])
                self._s = s
            self._s.send((line + "\n").encode())
            return True
        except OSError:
            self._s = None
            return False


def wav_read(f):
    # -> (rate, pcm bytes): 16-bit mono PCM only (what the codec path carries); other formats refused.
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise ValueError("wav: not a RIFF/WAVE file")
    rate = None
    while True:
        ck = f.read(8)
        if len(ck) < 8:
            raise ValueError("wav: no data chunk")
        cid, size = ck[:4], struct.unpack("<I", ck[4:])[0]
        if cid == b"fmt ":
            fmt = f.read(size)
            tag, ch, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
            if tag != 1 or ch != 1 or bits != 16:
                raise ValueError("wav: need 16-bit mono PCM")
        elif cid == b"data":
            if rate is None:
                raise ValueError("wav: data before fmt")
            return rate, f.read(size)
        else:
            f.read(size + (size & 1))


def wav_bytes(rate, pcm):
    return (b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", len(pcm)) + pcm)


def decimate(pcm, factor):
    # Integer-ratio rate change with a boxcar average (48 kHz speech files -> 8 kHz): crude but enough to
    # keep energy above 4 kHz from folding into the band the codec carries. Host tools do it properly.
    if factor == 1:
        return pcm
    n = len(pcm) // (2 * factor)
    out = bytearray(2 * n)
    for i in range(n):
        acc = 0
        for j in range(factor):
            acc += struct.unpack_from("<h", pcm, 2 * (i * factor + j))[0]
        struct.pack_into("<h", out, 2 * i, acc // factor)
    return bytes(out)


class AudioIn:
    # Microphone: readinto(pcm) fills an array('h') (or a memoryview of one) with samples, as the ESP32
    # HAL's I2S microphone does; after the source ends it gives silence, as a live mic gives room noise,
    # never an end of file. The source becomes samples once, here, so a frame is a plain copy.
    simulated = True      # the bench's mic checks: no pcm means no microphone to measure

    def __init__(self, pcm=b""):
        self.pcm = array("h", bytes(pcm[:len(pcm) & ~1]))   # PCM16LE: both interpreters run little-endian
        self.pos = 0

    def readinto(self, buf):
        if isinstance(buf, (bytes, bytearray)):
            raise TypeError("mic: readinto takes array('h') samples")
        n = len(buf)
        take = max(0, min(n, len(self.pcm) - self.pos))
        _copy.copy16(buf, 0, self.pcm, self.pos, take)
        self.pos += take
        for i in range(take, n):
            buf[i] = 0
        return n


class AudioOut:
    # Speaker: write(buf) keeps what was played, so tests and the fleet sim can hear what the radio heard.
    def __init__(self, rate):
        self.rate = rate
        self.pcm = bytearray()

    def write(self, buf):
        self.pcm += buf
        return len(buf)


class HAL:
    name = "sim"

    def __init__(self, board, uart=None, ctl=None, sim_dir=None, mic_pcm=None, rate=8000, time_scale=None):
        self.board = board
        self.rate = rate
        # The modem emulator's time scale (0.05 = twenty times faster than a modem): the app's modem
        # timeouts are multiplied by it, or it would wait a real modem's time for a fast emulator.
        self.time_scale = float(time_scale or _env("HT_SIM_TIME_SCALE", "1"))
        u = uart or _env("HT_SIM_UART")
        c = ctl or _env("HT_SIM_CTL")
        self.uart_addr = _addr(u) if isinstance(u, str) else u
        self.ctl = ModemControl(_addr(c) if isinstance(c, str) else c)
        self.sim_dir = sim_dir or _env("HT_SIM_DIR")
        self.events = []
        self.pins = {}
        for role, num, _ in B.roles(board):
            self.pins[role] = SimPin(num, role, self)
        for role in self.pins:          # buttons idle released (the board says which level that is)
            if role.startswith("buttons."):
                self.pins[role].set(1 - B.active(board, role, 0))
        self._uart = None
        self._mic_pcm = mic_pcm
        self._mic = None
        self._speaker = None
        self.tone_amp = None
        self.mhz = None

    def record(self, kind, name, value):
        self.events.append((ticks_ms(), kind, name, value))
        if len(self.events) > _EVENTS_MAX:
            del self.events[0]

    # -- modem
    def modem_uart(self):
        if self._uart is None:
            self._uart = SimUART(self.uart_addr)
        return self._uart

    def modem_pins(self):
        out = {}
        for name in MODEM_CONTROLS:
            pin = self.pins.get("modem." + name)
            if pin is not None:
                out[name] = self._modem_pin(name, pin, B.active(self.board, "modem." + name, 1))
        return out

    def _modem_pin(self, name, pin, active):
        def drive(asserted):
            level = gpio_level(active, asserted)
            pin(level)
            # The emulator models the LilyGO wiring, where 1 on PWRKEY/RESET/POWERON means asserted (they go
            # through transistors); DTR is wired straight, so the emulator gets its line level (1 = high:
            # the module may sleep, ht/modem/sleep.py).
            self.ctl.send("pin %s %d" % (name.upper(), level if name == "dtr" else 1 if asserted else 0))
        return drive

    # -- power (docs/POWER.md): the CPU speed the policy asked for, and the charger's status pin
    def cpu_mhz(self, mhz):
        self.mhz = mhz
        self.record("cpu", "mhz", mhz)

    def charging(self):
        # HT_SIM_CHARGING=1/0 stands in for a charge-status pin; unset: the board does not wire one
        v = _env("HT_SIM_CHARGING")
        return None if v is None else v == "1"

    # -- people
    def button(self, name):
        pin = self.pins["buttons." + name]
        active = B.active(self.board, "buttons." + name, 0)
        return lambda: pin() == active

    def press(self, name, down=True):
        active = B.active(self.board, "buttons." + name, 0)
        self.pins["buttons." + name].set(active if down else 1 - active)
        self.record("button", name, 1 if down else 0)

    def led(self, name, on):
        self.record("led", name, 1 if on else 0)

    def tone(self, freq_hz, ms, amp=None):
        self.record("tone", freq_hz, ms)
        self.tone_amp = amp      # the level of the latest tone (ht.radio.volume), None: the HAL's default

    # -- audio
    def mic(self):
        # One microphone per radio (like the ESP32's I2S peripheral): every caller reads the same stream.
        if self._mic is None:
            self._mic = AudioIn(self._mic_source())
        return self._mic

    def _mic_source(self):
        pcm = self._mic_pcm
        if pcm is None and self.sim_dir:
            try:
                f = host_open(self.sim_dir, "mic.wav", "rb")
            except OSError:
                f = None
            if f is not None:
                rate, pcm = wav_read(f)
                f.close()
                if rate % self.rate:
                    raise ValueError("sim: mic.wav rate %d is not a multiple of %d" % (rate, self.rate))
                pcm = decimate(pcm, rate // self.rate)
        return pcm or b""

    def speaker(self):
        if self._speaker is None:
            self._speaker = AudioOut(self.rate)
        return self._speaker

    def save_speaker(self, name="speaker.wav"):
        # What the radio played, as a WAV next to mic.wav (the fleet sim collects these).
        f = host_open(self.sim_dir, name, "wb")
        f.write(wav_bytes(self.rate, bytes(self.speaker().pcm)))
        f.close()

    # -- housekeeping
    def restart(self):
        # The ESP32 twin calls machine.reset(); on the virtual device leaving the interpreter is the reset
        # (the vdev bridge boots it again, main.py included).
        raise SystemExit(0)

    def battery_mv(self):
        return int(_env("HT_SIM_BATTERY_MV", "4000"))

    def unique_id(self):
        # Stands in for the ESP32's MAC: stable per flash folder, so the registry sees one device.
        import hashlib
        import binascii
        seed = _env("HT_SIM_ID") or _env("HT_VDEV_FLASH") or "sim"
        return binascii.hexlify(hashlib.sha256(seed.encode()).digest()[:6]).decode()
