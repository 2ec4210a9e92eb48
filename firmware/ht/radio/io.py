# The radio's outputs (a mixin of ht.radio.app.Radio): the MQTT client it rides, the publish queue,
# cues to the HAL, SMS through the modem, the transcript hook, and what presence/telemetry report.
import asyncio
from ht.compat import ticks_ms
from ht.radio import feedback
from ht.modem import dataplan as DP
from ht.radio.ptt import TALKING, REQUESTING, BUSY, DENIED, RECEIVING
from ht.radio.emergency import ALERTING
from ht.mqtt.robust import RobustClient

_SMS_TRIES = 10


def opt(config, key, default):
    # A setting the shared schema may not have yet (ht.config raises KeyError for unknown keys).
    try:
        v = config.get(key)
    except (KeyError, ValueError):
        return default
    return default if v is None or v == "" else v


class CountingStream:
    # Byte stream wrapper that counts payload bytes into the data plan (on the radio the AT socket
    # layer counts instead: ht.modem.sockets counter).
    def __init__(self, s, count):
        self.s = s
        self.count = count

    async def recv(self, n):
        b = await self.s.recv(n)
        if b:
            self.count(0, len(b))
        return b

    async def send(self, buf):
        await self.s.send(buf)
        self.count(len(buf), 0)

    async def close(self):
        await self.s.close()


_PLAN = {DP.OK: "ok", DP.EXPIRING_SOON: "ok", DP.LOW: "low", DP.EXHAUSTED: "exhausted",
         DP.EXPIRED: "exhausted"}


class IOMixin:
    def _make_client(self, config, opener, count_bytes):
        if opener is None:
            raise ValueError("radio: no net_opener and no client")
        if count_bytes and self.plan is not None:
            inner = opener
            count = self.plan.count

            async def opener():
                return CountingStream(await inner(), count)
        return RobustClient(opener, self.unit, user=config.get("broker.user") or self.unit,
                            password=config.get("broker.password") or None,
                            keepalive=config.get("broker.keepalive"))

    # ---- publishing ---------------------------------------------------------------------------------
    def _publish_voice(self, topic, pkt):
        return self.client.publish(topic, pkt, 0)

    async def _sender(self):
        q = self._pubq
        while self.running:
            if not q:
                self._pub_ev.clear()
                await self._pub_ev.wait()
                continue
            topic, payload, qos, retain = q.pop(0)
            try:
                if payload is None:
                    # a subscription change (ht.radio.app._voice_sub), in order with the publications
                    if retain:
                        await self.client.subscribe(topic, qos)
                    else:
                        await self.client.unsubscribe(topic)
                else:
                    await self.client.publish(topic, payload, qos, retain)
            except OSError:
                self.counts["pub_dropped"] += 1   # offline with a full QoS 1 window: stale anyway
            except Exception as e:                # MQTTError: the broker refused the subscription
                self._emit("sub_failed", {"topic": topic, "why": repr(e)})

    def publish(self, topic, payload, qos=1, retain=False):
        # For the console side of tests and tools running a Radio: queue any publication.
        self._pubq.append((topic, payload, qos, retain))
        self._pub_ev.set()

    # ---- user feedback ------------------------------------------------------------------------------
    def cue(self, name, now=None):
        # now: the tick's time when a state machine asked (same clock as the LED rhythm); None from
        # the MQTT reader, which reads the clock itself.
        hal = self.hal
        if name in feedback.CUES:
            for f, ms in feedback.tone(name):
                hal.tone(f, ms)
            self.leds.cue(name, ticks_ms() if now is None else now)   # one pass over the state rhythm
        self._emit("cue", {"name": name})

    def led_state(self, now):
        # The steady LED meaning (feedback.STATE_LED), most urgent first: an emergency outshines the
        # hot-mic transmission it opened; "releasing" has already stopped sending, so it is not shown.
        if self.emergency.state == ALERTING:
            return "emergency"
        ask = None
        rx = self.scan.playing is not None
        for tg in self.ptts:
            s = self.ptts[tg].state
            if s == TALKING:
                return "transmitting"
            if s == REQUESTING or s == BUSY:
                ask = "busy"
            elif s == DENIED and ask is None:
                ask = "denied"
            elif s == RECEIVING:
                rx = True
        if ask is not None:
            return ask
        if self.rollcall.wants_press(now):
            return "rollcall"
        if rx:
            return "receiving"
        if not self.online:
            return "no_signal"
        if self._plan == "low" or self._plan == "exhausted":
            return "quota_low"
        return "idle"

    def _emit(self, kind, fields):
        cb = self.events
        if cb is not None:
            try:
                cb(ticks_ms(), kind, fields)
            except Exception as e:   # a broken recorder must not stop the radio
                print("radio: events hook failed:", repr(e))

    # ---- SMS (emergency with the data link down) ------------------------------------------------------
    def _send_sms(self, number, text, tries=0):
        self._emit("sms", {"to": number, "text": text, "via": "modem" if self.sms else "none", "try": tries})
        if self.sms is not None:
            self._tasks.append(asyncio.create_task(self._sms_task(number, text, tries)))

    async def _sms_task(self, number, text, tries):
        try:
            await self.sms(number, text)
            self.counts["sms_sent"] += 1
            self._emit("sms_sent", {"to": number})
        except Exception as e:   # ModemError (no network service), timeout, no SIM
            self.counts["sms_failed"] += 1
            self._emit("sms_failed", {"to": number, "why": repr(e)})
            if tries < _SMS_TRIES:
                # Coverage gone entirely: retried when the modem registers again (link_changed) or
                # on the slow tick, so the duty officer still gets it as soon as the cell allows.
                self._sms_owed.append((number, text, tries + 1))

    def retry_sms(self):
        owed = self._sms_owed
        self._sms_owed = []
        for number, text, tries in owed:
            self._send_sms(number, text, tries)

    # ---- what presence and telemetry report -------------------------------------------------------
    def battery_pct(self):
        try:
            mv = self.hal.battery_mv()
        except Exception:
            return None
        if mv is None:
            return None
        # Li-ion 1S under light load: 3.3 V empty, 4.2 V full (linear is close enough for a bar).
        p = (mv - 3300) * 100 // 900
        return 0 if p < 0 else 100 if p > 100 else p

    def signal_dbm(self):
        if self.link is None:
            return None
        s = self.link.signal
        v = s.get("rsrp", s.get("rssi"))
        return v if v is not None and -150 <= v <= 0 else None

    def plan_state(self):
        if self.plan is None:
            return "unknown"
        today = None
        t = self.link.info.get("time") if self.link is not None else None
        if t and len(t) > 2 and t[2]:
            today = tuple(t[2][:3])
        return _PLAN.get(self.plan.state(today)[0], "unknown")

    def telemetry_fields(self):
        a = self.audio
        g = a.guard
        d = {"txf": a.frames_tx, "rxf": a.frames_played, "vrej": g.spoofed + g.replayed + sum(g.rejected)}
        if self.plan is not None:
            d["tx"] = self.plan.tx
            d["rx"] = self.plan.rx
        return d

    def stats(self):
        s = dict(self.counts)
        s["voice"] = self.audio.stats()
        s["online"] = self.online
        s["stage"] = self.stage()
        return s
