# Presence and telemetry payloads: compact JSON, short keys, because every byte rides a metered SIM.
# Keys: u unit, s stage, b battery %, r signal dBm, p data-plan state, v firmware version, n readiness note
# ("nofloor": no floor arbiter answers, "nokey": no fleet voice key), o update status (docs/OTA.md), i presence interval s, t uptime s,
# bf battery flag ("low", "critical": shutdown warning, "charging"; absent when none: ht.radio.power.Battery).
# The Command Center shows the stage so a technician can tell "no SIM" from "no data" from "online" at a
# glance.
# Online (docs/TOPICS.md): a presence seen within 1.5 x the interval it carries. The radio republishes it
# every interval (QoS 1: its PUBACK stands in for the keepalive's PINGRESP), so nobody depends on a
# retained message or a last will reaching them: a clustered broker keeps neither cluster-wide.
import json

from ht.compat import ticks_diff, ticks_add

# "provision": the radio booted on factory defaults (no usable config.json): it needs `htctl provision`
STAGES = ("booting", "sim", "registered", "data", "online", "offline", "provision")
PLAN_STATES = ("unknown", "ok", "low", "exhausted")
BATTERY_FLAGS = ("", "low", "critical", "charging")
_BAT_STEP = 5     # republish presence when battery moves this many percent
_SIG_STEP = 6     # ... or signal this many dB (one bar)


NOTES = {"nofloor": ("No floor service: the channel controller does not answer.",
                     "Layanan saluran tidak ada: pengatur saluran tidak menjawab."),
         "nokey": ("No voice key: this radio cannot send or take voice until it is provisioned (htctl provision).",
                   "Tidak ada kunci suara: radio ini tidak bisa kirim atau terima suara sampai diprovisioning "
                   "(htctl provision).")}


def presence_payload(unit, stage, battery=None, signal=None, plan="unknown", fw=None, note="", interval_s=0,
                     bflag="", ota=None):
    if stage not in STAGES:
        raise ValueError("bad stage %r" % (stage,))
    if plan not in PLAN_STATES:
        raise ValueError("bad plan state %r" % (plan,))
    d = {"u": unit, "s": stage}
    if battery is not None:
        if not 0 <= battery <= 100:
            raise ValueError("battery out of range")
        d["b"] = int(battery)
    if signal is not None:
        if not -150 <= signal <= 0:
            raise ValueError("signal out of range")
        d["r"] = int(signal)
    if plan != "unknown":
        d["p"] = plan
    if fw is not None:
        d["v"] = fw
    if note:
        d["n"] = note
    if ota:
        d["o"] = ota
    if interval_s:
        d["i"] = int(interval_s)
    if bflag:
        if bflag not in BATTERY_FLAGS:
            raise ValueError("bad battery flag %r" % (bflag,))
        d["bf"] = bflag
    return json.dumps(d, separators=(",", ":")).encode()


def offline_payload(unit):
    # The last will: the broker publishes it (retained) when the radio's connection dies.
    return presence_payload(unit, "offline")


def parse_presence(payload):
    try:
        d = json.loads(payload)
    except ValueError:
        raise ValueError("presence is not JSON")
    if not isinstance(d, dict) or not isinstance(d.get("u"), str) or d.get("s") not in STAGES:
        raise ValueError("presence lacks unit or stage")
    out = {"unit": d["u"], "stage": d["s"], "battery": d.get("b"), "signal": d.get("r"),
           "plan": d.get("p", "unknown"), "fw": d.get("v"),
           "note": d.get("n", ""), "interval_s": d.get("i", 0), "battery_flag": d.get("bf", "")}
    if d.get("o"):
        out["ota"] = d["o"]
    if out["plan"] not in PLAN_STATES:
        raise ValueError("bad plan state")
    if out["battery_flag"] not in BATTERY_FLAGS:
        raise ValueError("bad battery flag")
    if not isinstance(out["interval_s"], int) or out["interval_s"] < 0:
        raise ValueError("bad presence interval")
    return out


def fresh(seen_ms, interval_s, now_ms):
    # The staleness rule: a presence is current for 1.5 x the interval it carries (0: no interval, the old
    # retained-and-LWT presence, current until an "offline" replaces it).
    return not interval_s or ticks_diff(now_ms, seen_ms) <= interval_s * 1500


class Roster:
    # Who is online, as every reader of presence judges it (radios, arbiter, Command Center): the last
    # presence of each unit, when it arrived, and the rule above. A retained copy counts as seen on arrival.
    # staleness=False: a reader that does not get the beats (radios: topic "b" is the Command Center's)
    # takes a unit as online from its presence until its "offline" (the LWT) arrives.
    def __init__(self, staleness=True):
        self.units = {}     # unit -> (stage, seen_ms, interval_s)
        self.staleness = staleness

    def on_presence(self, payload, now):
        p = parse_presence(payload)
        self.units[p["unit"]] = (p["stage"], now, p["interval_s"])
        return p

    def is_online(self, unit, now):
        e = self.units.get(unit)
        return e is not None and e[0] != "offline" and (not self.staleness or fresh(e[1], e[2], now))

    def online(self, now):
        return sorted(u for u in self.units if self.is_online(u, now))


def telemetry_payload(unit, uptime_s, fields):
    # fields: small dict of counters (bytes rx/tx, heap, modem resets ...); numbers only.
    d = {"u": unit, "t": int(uptime_s)}
    for k in fields:
        v = fields[k]
        if not isinstance(v, (int, float)):
            raise ValueError("telemetry %s not a number" % k)
        d[k] = v
    return json.dumps(d, separators=(",", ":")).encode()


class Presence:
    # Decides when to publish presence (on change, retained, with everything; and every beat_ms while
    # connected a short beat others judge "online" by; 0 = on change only) and telemetry (on a timer that stretches as the data plan runs
    # low, and stops when it is exhausted).
    # batch: telemetry never goes out alone; it waits for the next beat and rides the same radio wake-up
    # (the LTE connected-state tail after every exchange costs more than the bytes: docs/POWER.md).
    def __init__(self, unit, outbox, fw, telemetry_ms=300000, beat_ms=0, batch=False):
        self.unit = unit
        self.batch = batch and beat_ms > 0
        self.bflag = ""
        self.out = outbox
        self.fw = fw
        self.telemetry_ms = telemetry_ms
        self.stage = "booting"
        self.battery = None
        self.signal = None
        self.plan = "unknown"
        self.note = ""
        self.ota = None        # the update status (ht.radio.update)
        self._sent = None
        self._next_tel = None
        self.beat_ms = beat_ms
        self._next_beat = None
        self.connected = False  # MQTT session up: only then can presence go out
        self.pin = None         # a stage that outranks the link's ("provision" on factory defaults)

    def update(self, now, stage=None, battery=None, signal=None, plan=None, note=None, bflag=None):
        if bflag is not None:
            self.bflag = bflag
        if stage is not None:
            self.stage = self.pin or stage
        if battery is not None:
            self.battery = battery
        if signal is not None:
            self.signal = signal
        if plan is not None:
            self.plan = plan
        if note is not None:
            self.note = note
        if self.connected and self._changed():
            self._publish(now)

    def _changed(self):
        s = self._sent
        if (s is None or s[0] != self.stage or s[3] != self.plan or s[4] != self.note or s[5] != self.bflag
                or s[6] != self.ota):
            return True
        return _moved(s[1], self.battery, _BAT_STEP) or _moved(s[2], self.signal, _SIG_STEP)

    def _publish(self, now):
        self._sent = (self.stage, self.battery, self.signal, self.plan, self.note, self.bflag, self.ota)
        self._next_beat = ticks_add(now, self.beat_ms) if self.beat_ms else None
        p = presence_payload(self.unit, self.stage, self.battery, self.signal, self.plan, self.fw, self.note,
                             (self.beat_ms + 999) // 1000, self.bflag, self.ota)
        self.out.publish("presence", self.unit, p, 1, True)

    def reconnected(self, now):
        # A new MQTT session: the LWT may have replaced our retained presence, so always republish.
        self.connected = True
        self._sent = None
        self.update(now, stage="online")

    def disconnected(self, now):
        self.connected = False
        if self.stage == "online":
            self.stage = "data"

    def telemetry_interval(self):
        if self.plan == "exhausted":
            return None
        return self.telemetry_ms * (4 if self.plan == "low" else 1)

    def tick(self, now, uptime_s, fields):
        beat = False
        if self.connected and self._next_beat is not None and ticks_diff(now, self._next_beat) >= 0:
            beat = True
            # The beat: unit, stage and interval only, not retained (the retained copy keeps the full
            # readiness from the last change); every radio of the fleet receives it, so every byte counts.
            self._next_beat = ticks_add(now, self.beat_ms)
            p = presence_payload(self.unit, self.stage, interval_s=(self.beat_ms + 999) // 1000)
            self.out.publish("beat", self.unit, p, 1, False)
        iv = self.telemetry_interval()
        if iv is None or not self.connected:
            return
        if self.batch and not beat:
            return
        if self._next_tel is None or ticks_diff(now, self._next_tel) >= 0:
            self._next_tel = ticks_add(now, iv)
            self.out.publish("telemetry", self.unit, telemetry_payload(self.unit, uptime_s, fields), 0, False)


def _moved(old, new, step):
    if old is None or new is None:
        return old is not new
    return abs(new - old) >= step
