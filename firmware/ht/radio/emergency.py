# The emergency button: alert the Command Center, open the microphone, keep alerting until someone
# acknowledges. Field requirement: an official in trouble presses one button and is heard, even when the
# data link is down (then the alert goes out as SMS through the modem) — and the Command Center still gets
# the data alert late, on reconnect, so its log is complete.
import json

from ht.compat import ticks_diff, ticks_add
from ht.radio import floormsg as fm

IDLE = "idle"
ALERTING = "alerting"   # alert out, no acknowledgement yet
ACKED = "acked"


def alert_payload(unit, seq, age_ms, tg, late=False, pos=None):
    # pos is reserved for a GNSS fix ([lat, lon] in degrees) once boards carry one; null today.
    return json.dumps({"u": unit, "n": seq, "age": age_ms, "tg": tg, "late": 1 if late else 0, "pos": pos},
                      separators=(",", ":")).encode()


def ack_payload(unit, by):
    return json.dumps({"u": unit, "by": by}, separators=(",", ":")).encode()


def parse_json(payload, need):
    try:
        d = json.loads(payload)
    except ValueError:
        raise ValueError("payload is not JSON")
    if not isinstance(d, dict):
        raise ValueError("payload is not an object")
    for k in need:
        if k not in d:
            raise ValueError("payload lacks %s" % k)
    return d


class Emergency:
    def __init__(self, unit, ptt, outbox, hot_mic_ms=10000, repeat_ms=5000, repeat_max_ms=60000,
                 sms_numbers=(), sms_after_ms=60000):
        self.unit = unit
        self.ptt = ptt
        self.out = outbox
        self.hot_mic_ms = hot_mic_ms
        self.repeat_ms = repeat_ms
        self.repeat_max_ms = repeat_max_ms
        self.sms_numbers = tuple(sms_numbers)
        self.sms_after_ms = sms_after_ms
        self.state = IDLE
        self.link_up = True
        self.seq = 0
        self._t0 = 0
        self._next = 0
        self._gap = repeat_ms
        self._sms_sent = False
        self._owed = False  # an alert that could not go out as data: send it late on reconnect

    def trigger(self, now):
        if self.state == ALERTING:
            return
        self.state = ALERTING
        self.seq = 0
        self._t0 = now
        self._gap = self.repeat_ms
        self._sms_sent = False
        self._owed = False
        self.out.cue("emergency")
        self.out.event(("emergency", self.unit))
        self.ptt.hot_mic(now, fm.PRIO_EMERGENCY, self.hot_mic_ms)
        self._alert(now)

    def set_link(self, up, now):
        # From the modem/MQTT layer: True once MQTT is connected again, False when it drops.
        was = self.link_up
        self.link_up = up
        if up and not was and self.state == ALERTING and self._owed:
            self._owed = False
            self._publish(now, late=True)

    def on_ack(self, payload, now):
        d = parse_json(payload, ("u",))
        if d["u"] != self.unit or self.state != ALERTING:
            return False
        self.state = ACKED
        self.out.cue("emergency_ack")
        self.out.event(("emergency_acked", self.unit, d.get("by")))
        return True

    def clear(self, now):
        # The official (long press) or the Command Center ends the emergency; the alert topic is told.
        if self.state == IDLE:
            return
        self.state = IDLE
        if self.link_up:
            self.out.publish("emergency", self.unit, json.dumps({"u": self.unit, "clear": 1}).encode(), 1, False)

    def tick(self, now):
        if self.state != ALERTING:
            return
        if ticks_diff(now, self._next) >= 0:
            self._alert(now)
        if not self._sms_sent and ticks_diff(now, self._t0) >= self.sms_after_ms:
            self._sms(now)  # data went out but nobody acknowledged: SMS the duty numbers as well

    def _alert(self, now):
        # Back off the repeats (5 s, 10 s, ... 60 s): a stuck alert must not eat the data plan.
        self._next = ticks_add(now, self._gap)
        self._gap = min(self._gap * 2, self.repeat_max_ms)
        if self.link_up:
            self._publish(now, late=False)
        else:
            self._owed = True
            if not self._sms_sent:
                self._sms(now)

    def _publish(self, now, late):
        self.seq += 1
        self.out.publish("emergency", self.unit,
                         alert_payload(self.unit, self.seq, ticks_diff(now, self._t0), self.ptt.floor.tg, late),
                         1, False)

    def _sms(self, now):
        self._sms_sent = True
        if not self.sms_numbers:
            return
        text = "DARURAT/EMERGENCY radio %s tg %s. Hubungi segera / call back now." % (self.unit,
                                                                                      self.ptt.floor.tg)
        for num in self.sms_numbers:
            self.out.event(("sms", num, text))
        self.out.cue("emergency_sms")
