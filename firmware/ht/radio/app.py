# The handy-talkie application: wires the HAL, the link, MQTT and the radio state machines
# (docs/RADIO.md). Radio(hal, config, ...) then `await radio.run()`. Protocol decisions live in
# ht.radio.floor/ptt/emergency/rollcall/presence/scan; the radio's collaborators each own one side:
# ht.radio.inbound (what the broker delivers), ht.radio.outbound (what goes to it), ht.radio.audio,
# ht.radio.health (battery/signal/plan), ht.radio.sms, ht.radio.indicator (tones, LEDs). This file
# builds them and moves events between them.
import asyncio
import random
from ht.compat import const, ticks_ms, ticks_diff, asleep_ms as _sleep_ms
from ht.radio import floormsg as fm
from ht.voice import codecs
from ht.radio.floor import Floor, Outbox
from ht.radio.ptt import PTT, Debounce
from ht.radio.emergency import Emergency
from ht.radio.rollcall import RollCallRadio
from ht.radio.presence import Presence, offline_payload
from ht.radio.scan import Scan, ALLCALL
from ht.radio.topics import UnitTopics
from ht.radio.audio import AudioPath
from ht.radio.guard import SourceIds, unit_num, tg_num
from ht.radio.bootepoch import BootEpoch
from ht.radio.keys import FleetKeys
from ht.radio.inbound import Inbound
from ht.radio.outbound import Publisher, robust_client
from ht.radio.health import Health
from ht.radio.sms import SMSSender
from ht.radio.leds import LedPlayer, led_names
from ht.radio.indicator import Indicator
from ht.radio import sound
from ht.radio.power import PowerPolicy, Battery
from ht.radio.emergency import IDLE as EM_IDLE
from ht.radio.update import UpdateLink
from ht.mqtt.client import ONLINE, OFFLINE

_TICK_MS = const(10)
_SLOW_MS = const(1000)     # battery, presence and telemetry checks
_WDT_MS = const(30000)     # longest control-loop stall before a reboot (a modem command may take 20 s)
PRIOS = {"normal": fm.PRIO_NORMAL, "command": fm.PRIO_COMMAND, "emergency": fm.PRIO_EMERGENCY}
FW = "ht-1"
_WAKE_ALL = ("emergency_rx", "rollcall", "emergency")


def opt(config, key, default):
    # A setting the shared schema may not have yet (ht.config raises KeyError for unknown keys).
    try:
        v = config.get(key)
    except (KeyError, ValueError):
        return default
    return default if v is None or v == "" else v


def _payload_type(name):
    # G.726-32 scores higher under loss (docs/CODEC.md) but is opt-in: its ~6 KB viper kernel is loaded
    # only when the fleet's config asks for it — every radio of a fleet gets the same config.
    # "adpcme" (the default): DVI4 inside an adaptive pre-/de-emphasis (PT 1), docs/CODEC.md. Every receiver of
    # this firmware decodes it; a radio on older firmware does not (it counts an unknown payload type), and
    # rejects the config value: a fleet's radios must run a firmware that knows it.
    if name == "g726":
        return codecs.enable_g726().pt
    if name == "adpcme":
        return codecs.PT_ADPCME
    return codecs.PT_ULAW if name == "ulaw" else codecs.PT_ADPCM


class Radio:
    # make_client: fn(on_message, on_state) -> MQTT client (tests: an in-memory one); default: a
    # RobustClient over net_opener. on_mqtt_down: fn(reason) when the session drops (radio_boot tells
    # the modem supervisor).
    def __init__(self, hal, config, board=None, net_opener=None, events=None, link=None, sms=None,
                 dataplan=None, fleet=None, key=None, make_client=None, count_bytes=True, rng=None,
                 on_mqtt_down=None, volume_store=None, provision=False, power=None, dead_fast=True,
                 ota_store=None, ota_version=FW, ota_reboot_ms=30000,
                 epoch_store=None, config_store=None):
        # config_store: fn(config) keeps a setting the radio changed itself (a rotated fleet key) in flash
        # provision: booted on factory defaults (ht.bootfiles found no usable config): stage "provision"
        rng = rng or random
        self.provision = provision
        self.hal = hal
        self.events = events
        self.link = link
        self.on_mqtt_down = on_mqtt_down
        self.unit = config.get("unit.id") or hal.unique_id()
        self.fleet = fleet or opt(config, "fleet.id", "kota")
        self.keys = keys = FleetKeys(config, self.unit, key, config_store, self._emit)
        # Without the fleet key the radio neither sends nor takes voice (ht.radio.guard, AudioPath.start_tx) and
        # its presence says "nokey" until it is provisioned: unsigned voice is what an impostor would send.
        self.nokey = not keys.key
        self.config = config
        self.boot_epoch = BootEpoch(*(epoch_store or (None, None)), rng=rng)
        prio = PRIOS[config.get("unit.priority")]
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
            self.ptts[tg] = PTT(fl, box, prio, talk_ms, min(10000, talk_ms // 2),
                                debounce=Debounce(active_low=False), rollcall=self.rollcall)
        self.emergency = Emergency(self.unit, self.ptts[tgs[0]], self.main,
                                   config.get("emergency.hot_mic_s") * 1000,
                                   sms_numbers=config.get("emergency.sms_numbers"))
        # Presence beats at 0.9 x the keepalive: its PUBLISH/PUBACK comes before the ping would, so the
        # heartbeat others judge "online" by costs little more than the ping it replaces (docs/TOPICS.md).
        # power: ht.radio.power.PowerPolicy (ht.radio.boot hands in one that owns the modem's sleep).
        self.power = power if power is not None else PowerPolicy(hal, None, opt(config, "power.save", True))
        self.battery = Battery()
        self.presence = Presence(self.unit, self.main, FW, config.get("telemetry.interval_s") * 1000,
                                 config.get("broker.keepalive") * 900, batch=self.power.enabled)
        if provision:
            self.presence.pin = "provision"
        self.topics = UnitTopics(self.fleet, self.unit, tgs)
        self.subs = self.topics.subs
        self.ids = SourceIds()
        self.counts = {"bad_msgs": 0, "spoofed_ctl": 0, "pub_dropped": 0, "sms_sent": 0, "sms_failed": 0,
                       "own_voice": 0, "bad_tag_ctl": 0}
        frame_ms = config.get("audio.frame_ms")
        pt = _payload_type(config.get("audio.codec"))
        level, self.volume = sound.speaker(hal, config, board, volume_store)
        # 60 ms is in the config schema but not in frame version 1: 40 ms is the closest it carries.
        self.audio = keys.audio = AudioPath(hal, unit_num(self.unit), 40 if frame_ms == 60 else frame_ms, pt, keys.voice(),
                               rng.getrandbits(16), self._emit, self._playing_uid,
                               sound.mic_frontend(config, board), level, self.boot_epoch.epoch)
        # Updates over the air (docs/OTA.md) when the bootstrap handed in its store and the fleet has a key.
        self.ota = None
        if ota_store is not None and opt(config, "ota.key", None):
            self.ota = UpdateLink(self.fleet, self.unit, ota_store, config.get("ota.key"),
                                  (board or {}).get("name"), ota_version, self, self.topics.kind["rollcall_ack"],
                                  self.presence, self.ptts, self.emergency, self.rollcall, self._emit, hal.restart,
                                  ota_reboot_ms)
        self.inbound = Inbound(self.fleet, self.unit, self.ids, self.ptts, self.audio, self.emergency,
                               self.rollcall, self.counts, self._emit, self.flush, keys.tagger,
                               self.ota)
        self.inbound.on_rekey = keys.on_rekey
        if make_client is None:
            make_client = robust_client(config, self.unit, net_opener,
                                        dataplan.count if count_bytes and dataplan is not None else None,
                                        dead_fast)
        # The client comes last: its callbacks are the dispatcher above and this radio's session handler.
        self.client = make_client(self.inbound.on_message, self.on_mqtt_state)
        self.out = Publisher(self.client, self._emit, self.counts, keys.tagger)
        keys.users = (self.inbound, self.out)
        self.health = Health(hal, link, dataplan, self.audio)
        self._t0 = ticks_ms()
        self.sms = SMSSender(sms, self._emit, self.counts, self._t0)
        self.leds = LedPlayer(led_names(board), hal.led)
        self.indicator = Indicator(self.volume.tone, self.leds, self.emergency, self.scan, self.ptts, self.rollcall,
                                   self._emit)
        if self.nokey:
            self.presence.note = "nokey"
        self.ptt_btn = Debounce(active_low=False)
        self.em_btn = Debounce(active_low=False)
        self._ptt_btn = hal.button("ptt")
        self._em_btn = hal.button("emergency")
        self._pressed = None           # the PTT a press went to (its release goes there too)
        self._tasks = []
        self.running = False
        self.online = False
        self._slow = self._t0
        self._plan = "unknown"

    # ---- life -------------------------------------------------------------------------------------
    async def run(self):
        self.running = True
        c = self.client
        c.set_last_will(self.topics.presence, offline_payload(self.unit), 1, True)
        for t, q in self.subs:
            await c.subscribe(t, q)
        self.audio.running = True
        self._tasks = [asyncio.create_task(self.audio.run()), asyncio.create_task(self.audio.sender(self.out.voice)),
                       asyncio.create_task(self.out.run())]
        c.start()
        if self.ota is not None:
            self.ota.start(ticks_ms())
        self._emit("boot", {"unit": self.unit, "fleet": self.fleet, "tgs": self.scan.talkgroups})
        if self.provision:
            self.indicator.cue("provision")
        wdt = getattr(self.hal, "watchdog", None)
        self._feed = wdt(_WDT_MS) if wdt is not None else None
        try:
            await self._control()
        finally:
            self.running = False
            self.audio.running = False
            for t in self._tasks:
                t.cancel()
            self.sms.cancel()

    async def stop(self):
        self.running = False
        self.audio.running = False
        self.out.stop()
        self.audio.ring_ev.set()
        await self.client.stop()

    async def _control(self):
        while self.running:
            if self._feed is not None:
                self._feed()      # a hung control loop stops feeding: the HAL's watchdog reboots
            self.tick(ticks_ms())
            await _sleep_ms(_TICK_MS)

    def tick(self, now):
        edge = self.ptt_btn.update(self._ptt_btn(), now)
        if edge > 0 and self.nokey:
            self._emit("ptt", {"down": 1, "refused": "nokey"})
            self.indicator.cue("provision", now)    # "needs provisioning: ... no voice key"
        elif edge > 0:
            self._emit("ptt", {"down": 1})
            p = self._pressed = self.ptts[self.scan.tx_talkgroup(now)]
            p.press(now)
        elif edge < 0 and self._pressed is not None:
            self._emit("ptt", {"down": 0})
            self._pressed.release(now)
        if self.em_btn.update(self._em_btn(), now) > 0:
            self.emergency.trigger(now)
        self.volume.tick(now)
        for tg in self.ptts:
            self.ptts[tg].tick(now)
        self.emergency.tick(now)
        self.rollcall.tick(now)
        if ticks_diff(now, self._slow) >= _SLOW_MS:
            self._slow = now
            self._slow_tick(now)
        self.sms.tick(now)
        if self.ota is not None:
            self.ota.tick(now)
        self.flush(now)
        self.indicator.update(now, self.online, self._plan)
        a = self.audio
        # a held PTT counts as talking from the press: the claim must not wait for the modem to wake
        self.power.update(now, a.talking or self._ptt_btn(), self.scan.playing is not None or any(a.rx_on),
                          self.emergency.state != EM_IDLE or self.rollcall.rc_id is not None)

    def _slow_tick(self, now):
        h = self.health
        self._plan = h.plan_state()     # kept for the quota-low LED rhythm
        b = self.battery
        if self.power.mode == "idle" or b.pct is None:
            # idle only: under a transmit burst the cell sags ~0.1 V and would read 10-20 % low
            for ev in b.sample(h.battery_mv(), h.charging()):
                if ev != "battery_ok":
                    self.indicator.cue(ev, now)
                self._emit(ev, {"pct": b.pct, "mv": b.mv})
        self.presence.update(now, stage=self.stage(), battery=b.pct, signal=h.signal_dbm(),
                             plan=self._plan, bflag=b.flag())
        self.presence.tick(now, ticks_diff(now, self._t0) // 1000, h.telemetry())
        self.boot_epoch.used(self.audio.tx.epoch)

    def stage(self):
        if self.provision:
            return "provision"
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
            topic = self.topics.floor.get(key) if kind == "floor" else self.topics.kind.get(kind)
            if topic is None:
                continue    # e.g. a floor heartbeat on all-call, where radios only listen
            self.out.publish(topic, payload, qos, retain)
        for ev in evs:
            self._event(ev, tg, now)
        for name in cues:
            if name == "no_service" and not self.online:
                name = "no_signal"      # no data link at all: say that, not that the arbiter is silent
            self.indicator.cue(name, now)

    def _event(self, ev, tg, now):
        k = ev[0]
        if k == "tx_start":
            fl = self.floors[ev[1]]
            self._voice_sub(ev[1], False)
            self.audio.start_tx(self.topics.voice[ev[1]], tg_num(ev[1]), fl.tx_prio)
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
        elif k == "service":
            # Readiness reason for the Command Center (presence "n"): the floor arbiter does not answer.
            down = [t for t in self.floors if not self.floors[t].service]
            self.presence.update(now, note="nokey" if self.nokey else "nofloor" if down else "")
            self._emit(k, {"tg": ev[1], "up": ev[2]})
        elif k == "sms":
            self.sms.send(ev[1], ev[2])
        else:
            self._emit(k, {"args": list(ev[1:]), "tg": tg})

    def _voice_sub(self, tg, on):
        # MQTT 3.1.1 has no "no local": subscribed to its talkgroup's voice, a talker gets every frame
        # it publishes back from the broker. Through the modem that doubles the UART load (each echo
        # costs a URC and an AT+CIPRXGET read competing with the next CIPSEND): measured at 115200
        # baud, 51 of 56 frames came back and the listener's PESQ fell to ~1.4. A talker plays nothing,
        # so it leaves the voice topic while it holds the floor and rejoins on release; a burst already
        # under way (an emergency that pre-empted it) is heard from the next frame (late entry).
        if self.out.can_unsubscribe:
            if on:
                self.out.subscribe(self.topics.voice_sub[tg], 0)
            else:
                self.out.unsubscribe(self.topics.voice_sub[tg])

    def _playing_uid(self):
        tg = self.scan.playing
        if tg is None:
            return None
        u = self.floors[tg].talker()
        return None if u is None else self.ids.get(u)

    # ---- the MQTT session and the modem link ---------------------------------------------------------
    def on_mqtt_state(self, state, reason):
        now = ticks_ms()
        if state == ONLINE:
            self._session(True, now)
            self.indicator.cue("online")
        elif state == OFFLINE and self.online:
            self._session(False, now)
            cb = self.on_mqtt_down
            if cb is not None:
                cb(reason)
        self._emit("mqtt", {"state": ("offline", "connecting", "online")[state], "reason": reason})
        self.flush(now)

    def _session(self, up, now):
        self.online = up
        if self.link is not None:
            self.link.set_online(up)
        if up:
            self.presence.reconnected(now)
            if self.ota is not None:
                self.ota.online(now)
        else:
            self.presence.disconnected(now)
        self.emergency.set_link(up, now)

    def link_changed(self, link=None):
        # ht.modem.link subscriber (the modem supervisor changed the cellular state)
        now = ticks_ms()
        lk = self.link
        self._emit("link", {"state": lk.state, "stage": lk.stage, "reason": lk.reason})
        if lk.data_up and not self.online and hasattr(self.client, "reconnect_now"):
            self.client.reconnect_now()
        if self.sms.owed and lk.stage in ("registered", "data", "online"):
            self.sms.retry()
        if not lk.data_up and self.online:
            self.emergency.set_link(False, now)
        self.presence.update(now, stage=lk.stage)

    # ---- the transcript and the console side ---------------------------------------------------------
    def _emit(self, kind, fields):
        if kind in _WAKE_ALL:
            self.power.wake_all(ticks_ms())   # the fleet's emergency or a roll call: everything up at once
        cb = self.events
        if cb is not None:
            try:
                cb(ticks_ms(), kind, fields)
            except Exception as e:   # a broken recorder must not stop the radio
                print("radio: events hook failed:", repr(e))

    def publish(self, topic, payload, qos=1, retain=False):
        # For the console side of tests and tools running a Radio: queue any publication.
        self.out.publish(topic, payload, qos, retain)

    def subscribe(self, topic, qos=0):
        self.out.subscribe(topic, qos)

    def unsubscribe(self, topic):
        self.out.unsubscribe(topic)

    def stats(self):
        s = dict(self.counts)
        s["voice"] = self.audio.stats()
        s["online"] = self.online
        s["stage"] = self.stage()
        return s
