# The handy-talkie application: wires the HAL, the link, MQTT and the radio state machines
# (docs/RADIO.md). Radio(hal, config, ...) then `await radio.run()`. Protocol decisions live in
# ht.radio.floor/ptt/emergency/rollcall/presence/scan; this file moves inputs to them and their outputs out.
import asyncio
import random
from ht.compat import const, ticks_ms, ticks_diff, asleep_ms as _sleep_ms
from ht.radio import topics as T
from ht.radio import floormsg as fm
from ht.voice import codecs
from ht.radio.floor import Floor, Outbox
from ht.radio.ptt import PTT, Debounce
from ht.radio.emergency import Emergency
from ht.radio.rollcall import RollCallRadio
from ht.radio.presence import Presence, offline_payload
from ht.radio.scan import Scan, ALLCALL
from ht.radio.audio import AudioPath
from ht.radio.guard import unit_num, tg_num
from ht.radio.rx import RxMixin
from ht.radio.io import IOMixin, opt
from ht.radio.leds import LedPlayer, led_names
from ht.config import key_bytes

_TICK_MS = const(10)
_SLOW_MS = const(1000)     # battery, presence and telemetry checks
_SMS_RETRY_MS = const(30000)
PRIOS = {"normal": fm.PRIO_NORMAL, "command": fm.PRIO_COMMAND, "emergency": fm.PRIO_EMERGENCY}
FW = "ht-1"



def _payload_type(name):
    # G.726-32 scores higher under loss (docs/CODEC.md) but is opt-in: its ~6 KB viper kernel is loaded
    # only when the fleet's config asks for it — every radio of a fleet gets the same config.
    if name == "g726":
        return codecs.enable_g726().pt
    return codecs.PT_ULAW if name == "ulaw" else codecs.PT_ADPCM


class Radio(RxMixin, IOMixin):
    def __init__(self, hal, config, board=None, net_opener=None, events=None, link=None, sms=None,
                 dataplan=None, fleet=None, key=None, client=None, count_bytes=True, rng=None):
        rng = rng or random
        self.hal = hal
        self.board = board
        self.events = events
        self.link = link
        self.sms = sms
        self.plan = dataplan
        self.unit = config.get("unit.id") or hal.unique_id()
        self.fleet = fleet or opt(config, "fleet.id", "kota")
        if key is None and opt(config, "audio.key", None):
            key = key_bytes(config)     # hex in config.json, bytes for the HMAC
        self.prio = PRIOS[config.get("unit.priority")]
        tgs = config.get("talkgroups.list") or ["1"]
        scan = config.get("talkgroups.scan")
        self.scan = Scan(tgs, tgs[0], scan[0] if scan else None)
        self.scan.enabled = bool(scan) or len(tgs) == 1
        self.main = Outbox()
        self.rollcall = RollCallRadio(self.unit, self.main)
        talk_ms = config.get("ptt.talk_timeout_s") * 1000
        self.floors = {}
        self.ptts = {}
        self.boxes = {}
        for tg in tgs + [ALLCALL]:
            box = Outbox()
            fl = Floor(tg, self.unit, box, burst_seed=rng.getrandbits(16))
            self.boxes[tg] = box
            self.floors[tg] = fl
            self.ptts[tg] = PTT(fl, box, self.prio, talk_ms, min(10000, talk_ms // 2),
                                debounce=Debounce(active_low=False), rollcall=self.rollcall)
        self.emergency = Emergency(self.unit, self.ptts[tgs[0]], self.main,
                                   config.get("emergency.hot_mic_s") * 1000,
                                   sms_numbers=config.get("emergency.sms_numbers"))
        self.presence = Presence(self.unit, self.main, FW, config.get("telemetry.interval_s") * 1000)
        frame_ms = config.get("audio.frame_ms")
        pt = _payload_type(config.get("audio.codec"))
        # 60 ms is in the config schema but not in frame version 1: 40 ms is the closest it carries.
        self.audio = AudioPath(hal, unit_num(self.unit), 40 if frame_ms == 60 else frame_ms, pt, key,
                               rng.getrandbits(16), self._emit)
        self.audio.playing = self._playing_uid
        self.ptt_btn = Debounce(active_low=False)
        self.em_btn = Debounce(active_low=False)
        self._ptt_btn = hal.button("ptt")
        self._em_btn = hal.button("emergency")
        self._pressed = None           # the PTT a press went to (its release goes there too)
        self._topics(tgs)
        self.client = client or self._make_client(config, net_opener, count_bytes)
        self.client.on_message = self.on_message
        self.client.on_state = self.on_mqtt_state
        self.on_mqtt_down = None       # fn(reason): radio_boot tells the modem supervisor
        self._pubq = []
        self._pub_ev = asyncio.Event()
        self._tasks = []
        self.running = False
        self.online = False
        self._t0 = ticks_ms()
        self._slow = self._t0
        self._uids = {}
        self._tcache = {}
        self._rc_done = None
        self.counts = {"bad_msgs": 0, "spoofed_ctl": 0, "pub_dropped": 0, "sms_sent": 0, "sms_failed": 0,
                       "own_voice": 0}
        self._last_reject = None
        self._seen_hint = {}
        self._sms_owed = []
        self._sms_at = self._t0
        self._plan = "unknown"
        self.leds = LedPlayer(led_names(board), hal.led)

    def _topics(self, tgs):
        f, u = self.fleet, self.unit
        self.t_presence = T.unit_topic(f, u, T.PRESENCE)
        self.t_kind = {"presence": self.t_presence, "telemetry": T.unit_topic(f, u, T.TELEMETRY),
                       "rollcall_ack": T.unit_topic(f, u, T.ACK), "emergency": T.emergency(f, u),
                       "rollcall": T.rollcall(f)}
        self.t_voice = {}
        self.t_vsub = {}
        self.t_floor = {}
        for tg in tgs:
            self.t_voice[tg] = T.voice(f, tg, u)
            self.t_vsub[tg] = T.talkgroup_sub(f, tg, T.VOICE)
            self.t_floor[tg] = T.floor(f, tg, u)
        self.subs = [(T.unit_topic(f, u, T.COMMAND), 1), (T.rollcall(f), 1), (T.emergency_sub(f), 1),
                     (T.units_sub(f, T.PRESENCE), 1)]
        for tg in tgs + [ALLCALL]:
            self.subs.append((T.talkgroup_sub(f, tg, T.FLOOR), 1))
            self.subs.append((T.talkgroup_sub(f, tg, T.VOICE), 0))

    # ---- life -------------------------------------------------------------------------------------
    async def run(self):
        self.running = True
        c = self.client
        c.set_last_will(self.t_presence, offline_payload(self.unit), 1, True)
        for t, q in self.subs:
            await c.subscribe(t, q)
        self.audio.publish = self._publish_voice
        self.audio.running = True
        self._tasks = [asyncio.create_task(self.audio.run()), asyncio.create_task(self.audio.sender()),
                       asyncio.create_task(self._sender())]
        c.start()
        self._emit("boot", {"unit": self.unit, "fleet": self.fleet, "tgs": self.scan.talkgroups})
        try:
            await self._control()
        finally:
            self.running = False
            self.audio.running = False
            for t in self._tasks:
                t.cancel()

    async def stop(self):
        self.running = False
        self.audio.running = False
        self._pub_ev.set()
        self.audio.ring_ev.set()
        await self.client.stop()

    async def _control(self):
        while self.running:
            self.tick(ticks_ms())
            await _sleep_ms(_TICK_MS)

    def tick(self, now):
        edge = self.ptt_btn.update(self._ptt_btn(), now)
        if edge > 0:
            self._emit("ptt", {"down": 1})
            p = self._pressed = self.ptts[self.scan.tx_talkgroup(now)]
            p.press(now)
        elif edge < 0 and self._pressed is not None:
            self._emit("ptt", {"down": 0})
            self._pressed.release(now)
        if self.em_btn.update(self._em_btn(), now) > 0:
            self.emergency.trigger(now)
        for tg in self.ptts:
            self.ptts[tg].tick(now)
        self.emergency.tick(now)
        self.rollcall.tick(now)
        if ticks_diff(now, self._slow) >= _SLOW_MS:
            self._slow = now
            self._slow_tick(now)
        if self._sms_owed and ticks_diff(now, self._sms_at) >= _SMS_RETRY_MS:
            self._sms_at = now
            self.retry_sms()
        self.flush(now)
        self.leds.set_state(self.led_state(now), now)
        self.leds.update(now)

    def _slow_tick(self, now):
        self._plan = self.plan_state()     # kept for the quota-low LED rhythm
        self.presence.update(now, stage=self.stage(), battery=self.battery_pct(), signal=self.signal_dbm(),
                             plan=self._plan)
        self.presence.tick(now, ticks_diff(now, self._t0) // 1000, self.telemetry_fields())

    def stage(self):
        if self.link is not None:
            return self.link.stage
        return "online" if self.online else "data"

    # ---- what the state machines asked for ----------------------------------------------------------
    def flush(self, now):
        self._drain(self.main, None, now)
        for tg in self.boxes:
            self._drain(self.boxes[tg], tg, now)

    def _drain(self, box, tg, now):
        if not (box.pubs or box.cues or box.events):
            return
        pubs, cues, evs = box.drain()
        for kind, key, payload, qos, retain in pubs:
            topic = self.t_floor.get(key) if kind == "floor" else self.t_kind.get(kind)
            if topic is None:
                continue    # e.g. a floor heartbeat on all-call, where radios only listen
            self._pubq.append((topic, payload, qos, retain))
            self._pub_ev.set()
        for ev in evs:
            self._event(ev, tg, now)
        for name in cues:
            self.cue(name, now)

    def _event(self, ev, tg, now):
        k = ev[0]
        if k == "tx_start":
            fl = self.floors[ev[1]]
            self._voice_sub(ev[1], False)
            self.audio.start_tx(self.t_voice[ev[1]], tg_num(ev[1]), fl.tx_prio)
            self._emit(k, {"tg": ev[1], "burst": ev[2], "prio": fl.tx_prio})
        elif k == "tx_stop":
            self.audio.stop_tx()
            self._voice_sub(ev[1], True)
            self._emit(k, {"tg": ev[1]})
        elif k == "talker":
            self.scan.on_talker(ev[1], ev[2], ev[3], now)
            self._emit(k, {"tg": ev[1], "unit": ev[2], "prio": ev[3]})
        elif k == "free":
            self.scan.on_free(ev[1], now)
            self._emit(k, {"tg": ev[1], "why": ev[2]})
        elif k == "state":
            self._emit(k, {"tg": tg, "state": ev[1]})
        elif k == "sms":
            self._send_sms(ev[1], ev[2])
        else:
            self._emit(k, {"args": list(ev[1:]), "tg": tg})

    def _voice_sub(self, tg, on):
        # MQTT 3.1.1 has no "no local": subscribed to its talkgroup's voice, a talker gets every frame
        # it publishes back from the broker. Through the modem that doubles the UART load (each echo
        # costs a URC and an AT+CIPRXGET read competing with the next CIPSEND): measured at 115200
        # baud, 51 of 56 frames came back and the listener's PESQ fell to ~1.4. A talker plays nothing,
        # so it leaves the voice topic while it holds the floor and rejoins on release; a burst already
        # under way (an emergency that pre-empted it) is heard from the next frame (late entry).
        if hasattr(self.client, "unsubscribe"):
            self._pubq.append((self.t_vsub[tg], None, 0, on))
            self._pub_ev.set()

    def _playing_uid(self):
        tg = self.scan.playing
        if tg is None:
            return None
        u = self.floors[tg].talker()
        return None if u is None else self.uid(u)

    def uid(self, unit):
        n = self._uids.get(unit)
        if n is None:
            n = self._uids[unit] = unit_num(unit)
        return n
