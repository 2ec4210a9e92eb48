# Roll call (absen). The Command Center asks "who is listening?"; each radio alerts its official, who
# answers with one PTT press before the deadline. The Command Center gets answered / missed / offline —
# the report the city lacked when heads were called on WhatsApp and were not monitoring.
import json

from ht.compat import ticks_diff, ticks_add
from ht.radio.emergency import parse_json


def call_payload(rc_id, deadline_s, by):
    return json.dumps({"id": rc_id, "dl": deadline_s, "by": by}, separators=(",", ":")).encode()


def ack_payload(rc_id, unit, react_ms):
    return json.dumps({"id": rc_id, "u": unit, "ms": react_ms}, separators=(",", ":")).encode()


class RollCallRadio:
    # Radio side. The deadline runs on this radio's clock from when the call arrived (clocks are not
    # synchronised); the Command Center adds a grace for the ack's trip back.
    def __init__(self, unit, outbox, remind_ms=5000):
        self.unit = unit
        self.out = outbox
        self.remind_ms = remind_ms
        self.rc_id = None
        self._got = 0
        self._deadline = 0
        self._remind = 0

    def on_call(self, payload, now):
        d = parse_json(payload, ("id", "dl"))
        dl = d["dl"]
        if not isinstance(dl, int) or dl <= 0 or dl > 3600:
            raise ValueError("bad roll call deadline")
        self.rc_id = d["id"]
        self._got = now
        self._deadline = ticks_add(now, dl * 1000)
        self._remind = ticks_add(now, self.remind_ms)
        self.out.cue("rollcall")
        self.out.event(("rollcall", self.rc_id, dl))

    def wants_press(self, now):
        return self.rc_id is not None and ticks_diff(self._deadline, now) > 0

    def acknowledge(self, now):
        if not self.wants_press(now):
            return False
        self.out.publish("rollcall_ack", self.unit, ack_payload(self.rc_id, self.unit, ticks_diff(now, self._got)),
                         1, False)
        self.out.cue("rollcall_ok")
        self.out.event(("rollcall_answered", self.rc_id))
        self.rc_id = None
        return True

    def tick(self, now):
        if self.rc_id is None:
            return
        if ticks_diff(now, self._deadline) >= 0:
            self.out.cue("rollcall_missed")
            self.out.event(("rollcall_missed", self.rc_id))
            self.rc_id = None
        elif ticks_diff(now, self._remind) >= 0:
            self._remind = ticks_add(now, self.remind_ms)
            self.out.cue("rollcall")


class RollCallCollector:
    # Command Center side. Presence (retained + LWT) says who is online; a unit that never answered is
    # "offline" if it was offline when the call went out or when the deadline passed, else "missed".
    def __init__(self, outbox, by="cc", grace_ms=3000):
        self.out = outbox
        self.by = by
        self.grace_ms = grace_ms
        self.online = {}
        self.rc_id = None
        self._units = ()
        self._start = 0
        self._end = 0
        self._off_at_start = ()
        self._answers = {}
        self._late = {}

    def on_presence(self, unit, online):
        self.online[unit] = bool(online)

    def start(self, rc_id, units, now, deadline_s=60):
        self.rc_id = rc_id
        self._units = tuple(units)
        self._start = now
        self._end = ticks_add(now, deadline_s * 1000 + self.grace_ms)
        self._off_at_start = tuple(u for u in self._units if not self.online.get(u, False))
        self._answers = {}
        self._late = {}
        self.out.publish("rollcall", None, call_payload(rc_id, deadline_s, self.by), 1, False)

    def on_ack(self, payload, now):
        d = parse_json(payload, ("id", "u"))
        u = d["u"]
        if d["id"] != self.rc_id or u not in self._units or u in self._answers:
            return False
        if ticks_diff(now, self._end) > 0:
            self._late[u] = ticks_diff(now, self._start)
            return False
        self._answers[u] = ticks_diff(now, self._start)
        return True

    def done(self, now):
        return self.rc_id is not None and (ticks_diff(now, self._end) > 0 or len(self._answers) == len(self._units))

    def report(self, now):
        answered = sorted(self._answers)
        missed = []
        offline = []
        for u in self._units:
            if u in self._answers:
                continue
            if u in self._off_at_start or not self.online.get(u, False):
                offline.append(u)
            else:
                missed.append(u)
        return {"id": self.rc_id, "answered": answered, "missed": sorted(missed), "offline": sorted(offline),
                "late": sorted(self._late), "ms": dict(self._answers), "final": self.done(now)}
