# The ESP32 HAL: the only module that touches `machine`. Same surface as hal/sim.py (button, led, tone,
# mic, speaker, modem_uart, modem_pins, battery_mv, unique_id, restart), every pin from board.json.
# Audio is 8 kHz through machine.I2S: the microphone is read through an asyncio stream (the DMA paces
# the audio task), the amplifier is written in non-blocking mode (irq) so a write never stalls the
# loop; tones are queued and fed to the amplifier from its irq. Buffers are allocated once here.
import asyncio
from array import array
import machine
from machine import Pin
from ht import board as B
from ht.modem.uart import StreamUART
from hal import MODEM_CONTROLS, gpio_level

RATE = 8000
_MAX_FRAME = 320          # samples in the longest frame (40 ms)
_TONE_CHUNK = 160         # 20 ms of tone per write
_AMP_IBUF = 8000          # 0.5 s of 16-bit audio queued in the I2S driver
_MIC_IBUF = 5120          # 160 ms of 32-bit mic samples
_TONE_AMP = 6000


def _pull(board, role):
    p = B.pull(board, role)
    return Pin.PULL_UP if p == "up" else Pin.PULL_DOWN if p == "down" else None


def mic32_to_pcm(raw, pcm, n):
    # INMP441: 24-bit samples left-justified in 32-bit slots (little-endian words): keep the top 16 bits.
    for i in range(n):
        v = raw[4 * i + 2] | (raw[4 * i + 3] << 8)
        pcm[i] = v - 65536 if v & 0x8000 else v


class AudioIn:
    # readinto(pcm) fills array('h') samples (hal/sim.py's twin does the same)
    def __init__(self, i2s, bits):
        self.i2s = i2s
        self.bits = bits
        self.stream = asyncio.StreamReader(i2s)
        self.raw = bytearray(_MAX_FRAME * (bits // 8))
        self.rawmv = memoryview(self.raw)

    async def readinto(self, pcm):
        n = len(pcm)
        if self.bits == 16:
            need = 2 * n
            got = 0
            while got < need:
                got += await self.stream.readinto(self.rawmv[got:need]) or 0 or 0
            r = self.raw
            for i in range(n):
                v = r[2 * i] | (r[2 * i + 1] << 8)
                pcm[i] = v - 65536 if v & 0x8000 else v
            return n
        need = 4 * n
        got = 0
        while got < need:
            got += await self.stream.readinto(self.rawmv[got:need]) or 0
        mic32_to_pcm(self.raw, pcm, n)
        return n


class AudioOut:
    def __init__(self, i2s):
        self.i2s = i2s
        self.tones = []          # (freq, ms) steps still to play
        self.tone_buf = array("h", bytes(2 * _TONE_CHUNK))
        self.busy = False
        self.dropped = 0
        i2s.irq(self._done)      # non-blocking mode from here on

    def write(self, buf):
        if self.busy:
            self.dropped += 1    # the previous buffer is still being copied into the DMA ring
            return 0
        self.busy = True
        return self.i2s.write(buf)

    def _done(self, i2s):
        # Runs scheduled (not hard IRQ) when the last write is in the driver's buffer.
        self.busy = False
        if self.tones:
            self._tone_chunk()

    def tone(self, freq, ms, amp=_TONE_AMP):
        self.tones.append([freq, ms, amp])
        if not self.busy:
            self._tone_chunk()

    def _tone_chunk(self):
        step = self.tones[0]
        n = _TONE_CHUNK if step[1] >= 20 else step[1] * 8
        b = self.tone_buf
        half = RATE // (2 * step[0]) if step[0] else 0
        a = step[2]
        for i in range(n):
            b[i] = 0 if not half else (a if (i // half) & 1 else -a)
        step[1] -= 20
        if step[1] <= 0:
            self.tones.pop(0)
        self.busy = True
        self.i2s.write(memoryview(b)[:n])


class HAL:
    name = "esp32"
    time_scale = 1.0      # a real modem keeps real time (hal/sim.py: the emulator's pace)

    def __init__(self, board, rate=RATE):
        self.board = board
        self.rate = rate
        # set by button IRQs; the app may wait on it (Event where asyncio has no ThreadSafeFlag: tests)
        self.input_flag = getattr(asyncio, "ThreadSafeFlag", asyncio.Event)()
        self.last_edge = {}
        self.pins = {}
        self._buttons = {}
        for role in ("buttons.ptt", "buttons.emergency", "buttons.vol_up", "buttons.vol_down"):
            num = B.pin(board, role)
            if num is not None:
                self._button_pin(role, num)
        self.leds = {}
        for name in board.get("leds") or {}:
            role = "leds." + name
            act = B.active(board, role, 1)
            self.leds[name] = (Pin(B.pin(board, role), Pin.OUT, value=1 - act), act)
        self._uart = None
        self._wdt = self._wdt_timer = None
        self._mic = None
        self._spk = None
        self._adc = None
        self._chg = None
        self._ri = None

    def _button_pin(self, role, num):
        p = Pin(num, Pin.IN, _pull(self.board, role))
        name = role.split(".")[1]
        # Interrupts do almost nothing: note the tick, wake the app (debounce is ht.radio.ptt's job).
        def edge(pin, name=name):
            self.last_edge[name] = 1
            self.input_flag.set()
        p.irq(handler=edge, trigger=Pin.IRQ_FALLING | Pin.IRQ_RISING)
        self.pins[role] = p

    # -- people
    def button(self, name):
        pin = self.pins["buttons." + name]
        active = B.active(self.board, "buttons." + name, 0)
        return lambda: pin.value() == active

    def led(self, name, on):
        e = self.leds.get(name)
        if e is not None:
            e[0].value(e[1] if on else 1 - e[1])

    def tone(self, freq_hz, ms, amp=None):
        # amp: peak (= RMS of the square wave), from the volume (ht.radio.volume); None: the fixed default
        self.speaker().tone(freq_hz, ms, _TONE_AMP if amp is None else amp)

    # -- audio
    def mic(self):
        if self._mic is None:
            m = self.board["audio"]["mic"]
            bits = m.get("bits", 32)
            i2s = machine.I2S(m.get("i2s", 0), sck=Pin(m["sck"]), ws=Pin(m["ws"]), sd=Pin(m["sd"]),
                              mode=machine.I2S.RX, bits=bits, format=machine.I2S.MONO, rate=self.rate,
                              ibuf=_MIC_IBUF)
            self._mic = AudioIn(i2s, bits)
        return self._mic

    def speaker(self):
        if self._spk is None:
            a = self.board["audio"]["amp"]
            sd = B.pin(self.board, "audio.amp.sd_mode")
            if sd is not None:   # MAX98357A SD_MODE: out of shutdown
                Pin(sd, Pin.OUT, value=B.active(self.board, "audio.amp.sd_mode", 1))
            i2s = machine.I2S(a.get("i2s", 1), sck=Pin(a["bclk"]), ws=Pin(a["lrc"]), sd=Pin(a["din"]),
                              mode=machine.I2S.TX, bits=16, format=machine.I2S.MONO, rate=self.rate,
                              ibuf=_AMP_IBUF)
            self._spk = AudioOut(i2s)
        return self._spk

    # -- modem
    def modem_uart(self):
        if self._uart is None:
            uid, tx, rx, baud = B.uart(self.board)
            u = machine.UART(uid, baudrate=baud, tx=tx, rx=rx, rxbuf=4096, timeout=0)
            self._uart = StreamUART(asyncio.StreamReader(u))
        return self._uart

    def modem_pins(self):
        out = {}
        for name in MODEM_CONTROLS:
            num = B.pin(self.board, "modem." + name)
            if num is None:
                continue
            act = B.active(self.board, "modem." + name, 1)
            p = Pin(num, Pin.OUT, value=gpio_level(act, 0))
            self.pins["modem." + name] = p

            def drive(level, p=p, act=act):
                p.value(gpio_level(act, level))
            out[name] = drive
        return out

    # -- power (docs/POWER.md)
    def cpu_mhz(self, mhz):
        # 80 MHz idle, 240 MHz for talk/listen (ht.radio.power); I2S and UART keep their own clocks
        machine.freq(mhz * 1000000)

    def charging(self):
        # the charger's status output where the board wires it (battery.charge in board.json), else None
        num = B.pin(self.board, "battery.charge")
        if num is None:
            return None
        if self._chg is None:
            self._chg = Pin(num, Pin.IN, Pin.PULL_UP)
        return self._chg.value() == B.active(self.board, "battery.charge", 0)

    def ri_pending(self):
        # RI pulled low by the module (a URC or data while it slept): the radio's wake source
        num = B.pin(self.board, "modem.ri")
        if num is None:
            return None
        if self._ri is None:
            self._ri = Pin(num, Pin.IN)
        return self._ri.value() == B.active(self.board, "modem.ri", 0)

    # -- housekeeping
    def battery_mv(self):
        num = B.pin(self.board, "battery")
        if num is None:
            return None
        if self._adc is None:
            self._adc = machine.ADC(Pin(num))
            self._adc.atten(machine.ADC.ATTN_11DB)   # full scale ~3.1 V behind the divider
        return int(self._adc.read_uv() * B.battery_divider(self.board) // 1000)

    def unique_id(self):
        import binascii
        return binascii.hexlify(machine.unique_id()).decode()

    def restart(self):
        machine.reset()

    # -- watchdog: a hang (a stuck await, a loop that never yields) reboots the radio. machine.WDT cannot
    # be stopped once started; the radio feeds it from its 10 ms control tick (ht.radio.app).
    def watchdog(self, ms):
        if self._wdt is None:
            self._wdt = machine.WDT(timeout=ms)
        return self._wdt.feed

    def watchdog_idle(self):
        # Ctrl-C to the REPL (deploy, provision): a timer keeps feeding so the technician keeps the REPL
        w = self._wdt
        if w is not None and self._wdt_timer is None:
            self._wdt_timer = machine.Timer(0)
            self._wdt_timer.init(mode=machine.Timer.PERIODIC, period=1000, callback=lambda t: w.feed())
