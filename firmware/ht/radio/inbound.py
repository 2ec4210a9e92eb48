# What arrives from the broker, routed to the state machines: the radio's MQTT on_message.
# Runs inside the MQTT reader task: nothing here awaits. Voice frames take the short path (cached
# topic lookup, guard, jitter buffer) and allocate nothing of their own.
import json
from ht.compat import const, ticks_ms, ticks_diff
from ht.radio import topics as T
from ht.radio import grant as G
from ht.radio.presence import Roster, parse_presence
from ht.radio.guard import OK, tg_num
from ht.radio.msgtag import KINDS as _TAGGED

_TCACHE_MAX = const(64)
_REJECT_MS = const(1000)  # at most one voice_reject event a second


class Inbound:
    # ptts: talkgroup -> ht.radio.ptt.PTT (its .floor is the talkgroup's Floor); ids: unit name ->
    # frame source id (ht.radio.guard.SourceIds); counts: the radio's counters; emit: fn(kind, fields);
    # flush: fn(now) sends what the state machines asked for (the radio drains its outboxes).
    # ota: ht.radio.update.UpdateLink or None (offers and release chunks go there).
    def __init__(self, fleet, unit, ids, ptts, audio, emergency, rollcall, counts, emit, flush, tagger=None,
                 ota=None):
        # tagger: ht.radio.msgtag.Tagger (the fleet key): floor records, commands, roll calls and alerts must
        # carry its tag; None (a radio without the key) takes them as they come.
        self.fleet = fleet
        self.unit = unit
        self.ids = ids
        self.ptts = ptts
        self.audio = audio
        self.emergency = emergency
        self.rollcall = rollcall
        self.counts = counts
        self.emit = emit
        self.flush = flush
        self.ota = ota
        self.tagger = tagger
        self.on_rekey = None         # fn(command, now): the radio's key rotation (ht.radio.app)
        self._tcache = {}
        self._last_reject = None
        self._rc_done = None
        # who is online: radios get presence changes and the LWT, not the beats (ht.radio.presence.Roster)
        self.roster = Roster(staleness=False)

    def _topic(self, topic):
        info = self._tcache.get(topic)
        if info is None:
            p = T.parse(topic)
            if p is None or p[1] != self.fleet:
                return None
            kind, _, group, unit = p
            info = (kind, group, unit, self.ids.get(unit) if unit else -1, tg_num(group) if group else -1)
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
        verified = 1
        if self.tagger is not None and kind in _TAGGED:
            body = self.tagger.open(topic, payload)
            if body is None:
                self.counts["bad_tag_ctl"] += 1
                if kind != T.EMERGENCY:
                    self.emit("bad_msg", {"topic": bytes(topic).decode(), "why": "bad tag"})
                    return
                verified = 0     # an alert is shown even so, marked unverified: a life may depend on it
            else:
                payload = body
        try:
            if kind == T.GRANTS:
                self._on_grant(info, payload, now)
            elif kind == T.PRESENCE:
                self._on_presence(info, payload, now)
            elif kind == T.COMMAND:
                self._on_command(payload, now)
            elif kind == T.ROLLCALL:
                self._on_rollcall(payload, retained, now)
            elif kind == T.EMERGENCY:
                self._on_alert(info, payload, now, verified)
            elif kind == T.OTA and self.ota is not None:
                self.ota.on_message(topic, payload, now)
        except (ValueError, KeyError, TypeError) as e:
            self.counts["bad_msgs"] += 1
            self.emit("bad_msg", {"topic": bytes(topic).decode(), "why": str(e)})
        self.flush(now)

    def _on_voice(self, info, payload, now):
        group = info[1]
        if info[2] == self.unit:
            self.counts["own_voice"] += 1     # our own frames back from the broker (ht.radio.app._voice_sub)
            return
        ptt = self.ptts.get(group)
        if ptt is None:
            return
        r = self.audio.on_voice(payload, info[3], info[4], now)
        if r != OK:
            if self._last_reject is None or ticks_diff(now, self._last_reject) > _REJECT_MS:
                self._last_reject = now
                self.emit("voice_reject", {"unit": info[2], "tg": group, "code": r})
            return

    def _on_grant(self, info, payload, now):
        # Only the arbiter may publish on the grants topic (broker ACL); the record must name its topic's tg.
        r = G.parse(payload)
        if r.tg != info[1] or info[1] not in self.ptts:
            self.counts["spoofed_ctl"] += 1
            return
        self.ptts[r.tg].on_floor(r, now)

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
        # Presence repeats every interval (the heartbeat "online" is judged by): only a unit coming back
        # (or changing stage) is worth an event. It no longer touches the voice replay window: a rebooted
        # unit is told apart by the epoch in its frames (ht.radio.guard), not by its presence.
        r = self.roster
        prev = r.units.get(unit)
        was = r.is_online(unit, now)
        r.on_presence(bytes(payload), now)
        if not was or prev is None or prev[0] != d["stage"]:
            self.emit("presence", {"unit": unit, "stage": d["stage"]})

    def _on_command(self, payload, now):
        d = json.loads(bytes(payload))
        if not isinstance(d, dict):
            raise ValueError("command is not an object")
        if "ota" in d and self.ota is not None:
            self.ota.offer(d["ota"], now)
        elif "rekey" in d or "retire" in d:
            if self.on_rekey is not None:
                self.on_rekey(d, now)
        elif d.get("clear"):
            self.emergency.clear(now)
            self.emit("emergency_cleared", {"by": d.get("by")})
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

    def _on_alert(self, info, payload, now, verified=1):
        if info[2] == self.unit:
            return
        raw = bytes(payload)
        try:
            d = json.loads(raw)
        except ValueError:
            if verified:
                raise
            d = json.loads(raw[:-8])      # tagged with a key we do not hold
        if not isinstance(d, dict):
            raise ValueError("alert is not an object")
        self.emit("emergency_rx", {"unit": info[2], "clear": d.get("clear", 0), "late": d.get("late", 0),
                                   "verified": verified})
