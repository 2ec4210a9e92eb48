# The radio's audio path: microphone -> Transmitter -> voice topic while talking; voice frames ->
# guard -> one Receiver per source -> speaker for the source scan chose. One task, one frame per
# period on a ticks deadline (the I2S DMA on the ESP32 absorbs the scheduling jitter). Buffers are made
# here, once; per frame the path only indexes into them.
import asyncio
from array import array
from ht.compat import const, ticks_ms, ticks_diff, ticks_add, asleep_ms as _sleep_ms
from ht.voice import transceiver as voice, codecs
from ht.radio import floormsg as fm
from ht.radio.guard import VoiceGuard, OK

_NRX = const(3)          # concurrent sources decoded (talker, pre-empting emergency, one more tg in scan)
_BEHIND = const(5)       # frames behind schedule before the clock is reset instead of caught up
_RING = const(4)         # voice packets waiting for the link (80 ms at 20 ms frames); more are dropped



class AudioPath:
    # emit: fn(kind, fields) transcript hook; playing: fn() -> the source id scan wants on the speaker,
    # or None for any.
    # frontend: the microphone's ht.voice.frontend.Level (None: samples go to the codec as they come);
    # leveller: the speaker's (None: received audio is played as decoded).
    def __init__(self, hal, unit_id, frame_ms=20, pt=codecs.PT_ADPCM, key=None, seq=0, emit=None, playing=None,
                 frontend=None, leveller=None, epoch=0):
        self.hal = hal
        self.frame_ms = frame_ms
        self.n = frame_ms * 8
        self.emit = emit or (lambda kind, d: None)
        self.guard = VoiceGuard(key)
        self.tx = voice.Transmitter(0, unit_id, pt, frame_ms, key, seq, epoch=epoch)
        self.mic = hal.mic()
        self.speaker = hal.speaker()
        self.mic_pcm = array("h", bytes(2 * self.n))     # both HALs' mic.readinto fill int16 samples
        self.rx = [voice.Receiver(None, frame_ms) for _ in range(_NRX)]
        self.rx_uid = array("i", [-1] * _NRX)
        self.rx_last = array("i", [0] * _NRX)
        self.rx_pcm = [array("h", bytes(2 * self.n)) for _ in range(_NRX)]
        self.rx_on = bytearray(_NRX)           # 1 while a source is audible on that receiver
        self.playing = playing
        self.frontend = frontend
        self.leveller = leveller
        self._heard = -1                       # the receiver last on the speaker (the leveller learns per talker)
        self.tx_topic = None
        self.talking = False
        self._stop_tx = False
        self.running = False
        self.frames_tx = 0
        self.frames_played = 0
        self.tx_errors = 0
        self.late_ticks = 0
        self.tx_dropped = 0
        # The frame clock must not wait for the network: on the radio one publish is an AT+CIPSEND
        # round trip over the UART. Packets queue here and a sender task drains them.
        self.ring = [bytearray(self.tx.length) for _ in range(_RING)]
        self.ring_mv = [memoryview(b) for b in self.ring]
        self.ring_topic = [None] * _RING
        self.r_head = 0
        self.r_n = 0
        self.ring_ev = asyncio.Event()

    # ---- transmit (called by the radio on floor events) -----------------------------------------
    def start_tx(self, topic, tg_id, prio):
        if self.tx.key is None:
            # No fleet key: no radio of the fleet would take these frames, and unsigned voice is what an
            # impostor would send. The radio's presence says why ("nokey").
            self.emit("tx_refused", {"why": "nokey"})
            return
        self.tx.talkgroup = tg_id
        self.tx.begin(emergency=prio >= fm.PRIO_EMERGENCY)
        if self.frontend is not None:
            self.frontend.begin()
        self.tx_topic = topic
        self.talking = True
        self._stop_tx = False

    def stop_tx(self):
        if self.talking:
            self._stop_tx = True     # the next frame goes out with END set

    # ---- receive (called from the MQTT reader) ---------------------------------------------------
    def on_voice(self, payload, uid, tg_id, now):
        r = self.guard.check(payload, uid, tg_id)
        if r != OK:
            return r
        i = self._receiver(uid, now)
        self.rx_last[i] = now
        self.rx[i].push_frame(self.guard.frame, payload, now)   # parsed once, by the guard
        return OK

    def _receiver(self, uid, now):
        # The source's own receiver, else a free one, else the one heard longest ago.
        for i in range(_NRX):
            if self.rx_uid[i] == uid:
                return i
        best = -1
        for i in range(_NRX):
            if self.rx_uid[i] < 0:
                best = i
                break
        if best < 0:
            best = 0
            for i in range(1, _NRX):
                if ticks_diff(self.rx_last[best], self.rx_last[i]) > 0:
                    best = i
        self.rx_uid[best] = uid
        self.rx_on[best] = 0
        return best

    # ---- the frame clock -------------------------------------------------------------------------
    async def run(self):
        self.running = True
        period = self.frame_ms
        due = ticks_ms()
        while self.running:
            await self.step(ticks_ms())
            due = ticks_add(due, period)
            d = ticks_diff(due, ticks_ms())
            if d < -_BEHIND * period:
                self.late_ticks += 1
                due = ticks_ms()
                d = 0
            await _sleep_ms(d if d > 0 else 0)

    async def step(self, now):
        if self.talking:
            await self._tx_frame()
        self._play(now)

    async def _tx_frame(self):
        pcm = self.mic_pcm
        r = self.mic.readinto(pcm)
        if r is not None and not isinstance(r, int):
            await r      # hal/esp32: an I2S stream read, paced by the microphone's clock
        if self.frontend is not None:
            self.frontend.process(pcm, self.n)
        last = self._stop_tx
        pkt = self.tx.encode(pcm, last)
        if last:
            self.talking = False
        self.frames_tx += 1
        if self.r_n == _RING:
            self.tx_dropped += 1      # the link is slower than speech: drop the newest, keep the clock
            return
        i = (self.r_head + self.r_n) % _RING
        self.ring[i][:] = pkt
        self.ring_topic[i] = self.tx_topic
        self.r_n += 1
        self.ring_ev.set()

    async def sender(self, publish):
        # publish: fn(topic, packet memoryview) -> awaitable (ht.radio.outbound.Publisher.voice). An
        # argument of the task, not a field: the publisher's client delivers into this very audio path,
        # so it is made after it.
        while self.running:
            if not self.r_n:
                self.ring_ev.clear()
                await self.ring_ev.wait()
                continue
            i = self.r_head
            try:
                await publish(self.ring_topic[i], self.ring_mv[i])
            except OSError:
                self.tx_errors += 1   # link down mid-burst: the floor layer notices on its own
            self.r_head = (i + 1) % _RING
            self.r_n -= 1

    def _play(self, now):
        want = self.playing() if self.playing is not None else None
        out = -1
        for i in range(_NRX):
            if self.rx_uid[i] < 0:
                continue
            kind = self.rx[i].pull(now, self.rx_pcm[i])
            if kind == voice.SILENCE:
                if self.rx_on[i]:
                    self.rx_on[i] = 0
                    self.emit("rx_end", {"src": self.rx_uid[i]})
                continue
            if not self.rx_on[i]:
                self.rx_on[i] = 1
                self.emit("rx_start", {"src": self.rx_uid[i]})
            if out < 0 and (want is None or want == self.rx_uid[i]):
                out = i
        lev = self.leveller
        if lev is not None and out != self._heard:
            self._heard = out
            if out >= 0:
                lev.reset()
        if out >= 0 and not self.talking:
            if lev is not None:
                lev.process(self.rx_pcm[out], self.n)
            self.speaker.write(self.rx_pcm[out])
            self.frames_played += 1

    def stats(self):
        s = {"tx_frames": self.frames_tx, "played": self.frames_played, "tx_errors": self.tx_errors,
             "tx_dropped": self.tx_dropped,
             "late_ticks": self.late_ticks}
        s.update(self.guard.stats())
        return s
