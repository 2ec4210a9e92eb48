# What arrives from the broker, routed to the state machines (a mixin of ht.radio.app.Radio).
# Runs inside the MQTT reader task: nothing here awaits. Voice frames take the short path (cached
# topic lookup, guard, jitter buffer) and allocate nothing of their own.
import json
from ht.compat import ticks_ms, ticks_diff
from ht.radio import topics as T
from ht.radio import floormsg as fm
from ht.radio.presence import parse_presence
from ht.mqtt.client import ONLINE, OFFLINE
from ht.radio.guard import OK, tg_num

_TCACHE_MAX = 64
_HINT_MS = 500       # voice proves the floor holder alive; telling the floor twice a second is plenty


class RxMixin:
    def _topic(self, topic):
        info = self._tcache.get(topic)
        if info is None:
            p = T.parse(topic)
            if p is None or p[1] != self.fleet:
                return None
            kind, _, group, unit = p
            info = (kind, group, unit, self.uid(unit) if unit else -1, tg_num(group) if group else -1)
            if len(self._tcache) >= _TCACHE_MAX:
                self._tcache.clear()
            self._tcache[topic] = info
        return info

    def on_message(self, topic, payload, retained):
        now = ticks_ms()
        info = self._topic(topic)
        if info is None:
            self.counts["bad_msgs"] += 1
            return
        kind = info[0]
        if kind == T.VOICE:
            self._on_voice(info, payload, now)
            return
        try:
            if kind == T.FLOOR:
                self._on_floor(info, payload, now)
            elif kind == T.PRESENCE:
                self._on_presence(info, payload, now)
            elif kind == T.COMMAND:
                self._on_command(payload, now)
            elif kind == T.ROLLCALL:
                self._on_rollcall(payload, retained, now)
            elif kind == T.EMERGENCY:
                self._on_alert(info, payload, now)
        except (ValueError, KeyError, TypeError) as e:
            self.counts["bad_msgs"] += 1
            self._emit("bad_msg", {"topic": bytes(topic).decode(), "why": str(e)})
        self.flush(now)

    def _on_voice(self, info, payload, now):
        group = info[1]
        if info[2] == self.unit:
            self.counts["own_voice"] += 1     # our own frames back from the broker (ht.radio.app._voice_sub)
            return
        if group not in self.floors:
            return
        r = self.audio.on_voice(payload, info[3], info[4], now)
        if r != OK:
            if self._last_reject is None or ticks_diff(now, self._last_reject) > 1000:
                self._last_reject = now
                self._emit("voice_reject", {"unit": info[2], "tg": group, "code": r})
            return
        t = self._seen_hint.get(group)
        if t is None or ticks_diff(now, t) > _HINT_MS:
            self._seen_hint[group] = now
            self.floors[group].voice_seen(info[2], now)

    def _on_floor(self, info, payload, now):
        m = fm.parse(payload)
        if m.unit != info[2] or m.tg != info[1] or info[1] not in self.ptts:
            self.counts["spoofed_ctl"] += 1
            return
        self.ptts[m.tg].on_floor(m, now)

    def _on_presence(self, info, payload, now):
        if not payload:
            return    # a cleared retained presence
        d = parse_presence(bytes(payload))
        unit = info[2]
        if d["unit"] != unit:
            self.counts["spoofed_ctl"] += 1
            return
        if unit == self.unit:
            return
        if d["stage"] == "offline":
            for tg in self.ptts:
                self.ptts[tg].holder_offline(unit, now)
        else:
            self.audio.forget(self.uid(unit))
        self._emit("presence", {"unit": unit, "stage": d["stage"]})

    def _on_command(self, payload, now):
        d = json.loads(bytes(payload))
        if not isinstance(d, dict):
            raise ValueError("command is not an object")
        if d.get("clear"):
            self.emergency.clear(now)
            self._emit("emergency_cleared", {"by": d.get("by")})
        elif "by" in d:
            self.emergency.on_ack(bytes(payload), now)

    def _on_rollcall(self, payload, retained, now):
        if not payload:
            return
        d = json.loads(bytes(payload))
        rc = d.get("id") if isinstance(d, dict) else None
        if rc is None or rc == self._rc_done:
            return    # the retained call we already handled, seen again after a reconnect
        self._rc_done = rc
        self.rollcall.on_call(bytes(payload), now)

    def _on_alert(self, info, payload, now):
        if info[2] == self.unit:
            return
        d = json.loads(bytes(payload))
        if not isinstance(d, dict):
            raise ValueError("alert is not an object")
        self._emit("emergency_rx", {"unit": info[2], "clear": d.get("clear", 0), "late": d.get("late", 0)})

    # ---- the MQTT session ----------------------------------------------------------------------------
    def on_mqtt_state(self, state, reason):
        now = ticks_ms()
        if state == ONLINE:
            self.online = True
            if self.link is not None:
                self.link.set_online(True)
            self.presence.reconnected(now)
            self.emergency.set_link(True, now)
            self.cue("online")
        elif state == OFFLINE and self.online:
            self.online = False
            if self.link is not None:
                self.link.set_online(False)
            self.presence.disconnected(now)
            self.emergency.set_link(False, now)
            cb = self.on_mqtt_down
            if cb is not None:
                cb(reason)
        self._emit("mqtt", {"state": ("offline", "connecting", "online")[state], "reason": reason})
        self.flush(now)

    def link_changed(self, link=None):
        # ht.modem.link subscriber (the modem supervisor changed the cellular state)
        now = ticks_ms()
        lk = self.link
        self._emit("link", {"state": lk.state, "stage": lk.stage, "reason": lk.reason})
        if lk.data_up and not self.online and hasattr(self.client, "reconnect_now"):
            self.client.reconnect_now()
        if self._sms_owed and lk.stage in ("registered", "data", "online"):
            self.retry_sms()
        if not lk.data_up and self.online:
            self.emergency.set_link(False, now)
        self.presence.update(now, stage=lk.stage)
