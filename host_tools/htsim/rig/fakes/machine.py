# A fake `machine` module with the real MicroPython (esp32 port) signatures, for testing hal/esp32.py
# on the desktop (CPython and MicroPython unix). It records every call and refuses what the chip would:
# flash pins 6-11, outputs on input-only GPIO 34-39, a pin claimed by two peripherals, bad I2S/UART/ADC
# arguments. Streams (UART, I2S) are io.IOBase so MicroPython's asyncio.StreamReader can poll them.
import io

calls = []          # (what, args) in order
claimed = {}        # gpio -> who uses it
_unique = b"\x24\x0a\xc4\x12\x34\x56"

_Base = io.IOBase if hasattr(io, "IOBase") else object
_POLL = 3           # MP_STREAM_POLL
_RD = 1
_WR = 4


def reset_fake():
    calls.clear()
    claimed.clear()


def _claim(num, who):
    if not isinstance(num, int) or isinstance(num, bool) or not 0 <= num <= 39:
        raise ValueError("invalid pin")
    if 6 <= num <= 11:
        raise ValueError("pin %d is used by the SPI flash" % num)
    prev = claimed.get(num)
    if prev is not None and prev != who:
        raise ValueError("pin %d already used by %s" % (num, prev))
    claimed[num] = who


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 2
    PULL_DOWN = 1
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, *, value=None, drive=None, hold=None):
        if mode not in (-1, Pin.IN, Pin.OUT, Pin.OPEN_DRAIN):
            raise ValueError("invalid pin mode")
        if pull not in (-1, None, Pin.PULL_UP, Pin.PULL_DOWN):
            raise ValueError("invalid pull")
        if mode in (Pin.OUT, Pin.OPEN_DRAIN) and 34 <= id <= 39:
            raise ValueError("pin %d is input only" % id)
        if pull in (Pin.PULL_UP, Pin.PULL_DOWN) and 34 <= id <= 39:
            raise ValueError("pin %d has no internal pull resistors" % id)
        _claim(id, "pin")
        self.id = id
        self.mode = mode
        self.pull = pull
        self._v = 1 if pull == Pin.PULL_UP else 0
        if value is not None:
            self._v = 1 if value else 0
        self.handler = None
        self.trigger = 0
        calls.append(("Pin", (id, mode, pull, value)))

    def value(self, v=None):
        if v is None:
            return self._v
        if self.mode not in (Pin.OUT, Pin.OPEN_DRAIN):
            raise ValueError("pin %d is not an output" % self.id)
        self._v = 1 if v else 0
        calls.append(("Pin.value", (self.id, self._v)))
        return None

    __call__ = value

    def irq(self, handler=None, trigger=3, *, priority=1, wake=None, hard=False):
        if trigger & ~3 or not trigger:
            raise ValueError("invalid trigger")
        self.handler = handler
        self.trigger = trigger
        calls.append(("Pin.irq", (self.id, trigger, hard)))
        return self

    # test side: what the outside world does to an input
    def drive(self, level):
        old = self._v
        self._v = 1 if level else 0
        if self.handler is not None and old != self._v:
            rising = self._v == 1
            if (rising and self.trigger & Pin.IRQ_RISING) or (not rising and self.trigger & Pin.IRQ_FALLING):
                self.handler(self)


def _pin_num(p, what):
    if isinstance(p, Pin):
        return p.id
    raise TypeError("%s must be a Pin" % what)


class UART(_Base):
    def __init__(self, id, baudrate=115200, bits=8, parity=None, stop=1, *, tx=None, rx=None, rts=-1, cts=-1,
                 txbuf=256, rxbuf=256, timeout=0, timeout_char=0, invert=0, flow=0):
        if id not in (0, 1, 2):
            raise ValueError("UART(%r) does not exist" % (id,))
        if not 300 <= baudrate <= 5000000 or bits not in (5, 6, 7, 8) or stop not in (1, 2):
            raise ValueError("invalid UART parameters")
        for p, w in ((tx, "tx"), (rx, "rx")):
            if p is None:
                raise ValueError("UART %s pin required on this board" % w)
            n = p.id if isinstance(p, Pin) else p
            if w == "tx" and 34 <= n <= 39:
                raise ValueError("tx on input-only pin %d" % n)
            _claim(n, "uart%d" % id)
        self.id = id
        self.baudrate = baudrate
        self.rx_data = bytearray()
        self.tx_data = bytearray()
        calls.append(("UART", (id, baudrate, tx, rx, rxbuf, timeout)))

    def any(self):
        return len(self.rx_data)

    def readinto(self, buf, nbytes=None):
        n = min(len(buf) if nbytes is None else nbytes, len(self.rx_data))
        if not n:
            return None
        buf[:n] = self.rx_data[:n]
        self.rx_data = self.rx_data[n:]
        return n

    def read(self, n=-1):
        if not self.rx_data:
            return None
        n = len(self.rx_data) if n is None or n < 0 else n
        out = bytes(self.rx_data[:n])
        self.rx_data = self.rx_data[n:]
        return out

    def write(self, buf):
        self.tx_data += bytes(buf)
        return len(buf)

    def ioctl(self, req, arg):
        if req == _POLL:
            return (arg & _RD if self.rx_data else 0) | (arg & _WR)
        return 0


class I2S(_Base):
    RX = 0
    TX = 1
    MONO = 0
    STEREO = 1

    def __init__(self, id, *, sck, ws, sd, mck=None, mode, bits, format, rate, ibuf):
        if id not in (0, 1):
            raise ValueError("invalid I2S id")
        if mode not in (I2S.RX, I2S.TX) or bits not in (16, 32) or format not in (I2S.MONO, I2S.STEREO):
            raise ValueError("invalid I2S mode/bits/format")
        if not isinstance(rate, int) or rate <= 0 or not isinstance(ibuf, int) or ibuf <= 0:
            raise ValueError("invalid rate or ibuf")
        self.pins = (_pin_num(sck, "sck"), _pin_num(ws, "ws"), _pin_num(sd, "sd"))
        if mode == I2S.TX and 34 <= self.pins[2] <= 39:
            raise ValueError("I2S TX sd on input-only pin")
        self.id, self.mode, self.bits, self.format, self.rate, self.ibuf = id, mode, bits, format, rate, ibuf
        self.rx_data = bytearray()
        self.written = bytearray()
        self.handler = None
        calls.append(("I2S", (id, self.pins, mode, bits, format, rate, ibuf)))

    def irq(self, handler):
        self.handler = handler       # non-blocking mode
        calls.append(("I2S.irq", (self.id,)))

    def readinto(self, buf):
        if self.mode != I2S.RX:
            raise OSError("I2S not in RX mode")
        n = min(len(buf), len(self.rx_data))
        if not n:
            return None
        buf[:n] = self.rx_data[:n]
        self.rx_data = self.rx_data[n:]
        return n

    def write(self, buf):
        if self.mode != I2S.TX:
            raise OSError("I2S not in TX mode")
        self.written += bytes(buf)
        return len(buf)

    def complete(self):
        # test side: the driver took the buffer (the scheduled irq callback fires)
        if self.handler is not None:
            self.handler(self)

    def ioctl(self, req, arg):
        if req == _POLL:
            return (arg & _RD if self.rx_data else 0) | (arg & _WR)
        return 0

    def deinit(self):
        calls.append(("I2S.deinit", (self.id,)))


class ADC:
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3

    def __init__(self, pin, *, atten=None):
        if not isinstance(pin, Pin):
            raise TypeError("ADC needs a Pin")
        if pin.id not in (32, 33, 34, 35, 36, 37, 38, 39):
            raise ValueError("pin %d is not an ADC1 pin (ADC2 is unusable with WiFi/modem timing)" % pin.id)
        self.pin = pin
        self.uv = 2000000
        self._atten = atten
        calls.append(("ADC", (pin.id,)))

    def atten(self, a):
        if a not in (0, 1, 2, 3):
            raise ValueError("invalid attenuation")
        self._atten = a

    def read_uv(self):
        return self.uv

    def read_u16(self):
        return self.uv * 65535 // 3100000


def unique_id():
    return _unique


resets = []


def reset():
    resets.append(1)


class WDT:
    # esp32 port: WDT(id=0, timeout=ms), feed(); it cannot be stopped once started
    def __init__(self, id=0, timeout=5000):
        if not isinstance(timeout, int) or timeout < 1:
            raise ValueError("timeout")
        self.timeout = timeout
        self.feeds = 0
        calls.append(("WDT", (timeout,)))

    def feed(self):
        self.feeds += 1


class Timer:
    PERIODIC = 1
    ONE_SHOT = 0

    def __init__(self, id):
        self.id = id
        self.callback = None
        self.period = None

    def init(self, *, mode=1, period=-1, callback=None):
        self.period = period
        self.callback = callback
        calls.append(("Timer", (self.id, period)))
