"""Events of a fleet run as sentences a supervisor understands ("12.3 s  dishub: talk permit, speaks now").

``sentence(t_ms, unit, kind, fields)`` -> a line or None (events nobody needs to read). Cue meanings come from
the firmware's own table (ht.radio.feedback), so the demo says what the radio's tones say.
"""
from __future__ import annotations

from typing import Any

from ht.radio import feedback

_MQTT = {"online": "connected to the broker", "offline": "lost the broker", "connecting": None}


def sentence(t_ms: float, unit: str, kind: str, d: dict[str, Any]) -> str | None:
    what = None
    if kind == "cue" and d.get("name") in feedback.CUES:
        if d["name"] in ("rx_end", "roger"):
            return None          # one per burst: the talk lines already say it
        what = "hears the tone for \"%s\"" % feedback.meaning(d["name"], "en").rstrip(".")
        if d["name"] == "permit":
            what = "presses PTT and gets the channel (talk-permit tone): speaks"
    elif kind == "emergency":
        what = "pressed EMERGENCY"
    elif kind == "emergency_acked":
        what = "emergency acknowledged by the Command Center"
    elif kind == "rollcall":
        what = "roll call (absen) started"
    elif kind == "rollcall_answered":
        what = "answered the roll call"
    elif kind == "rollcall_missed":
        what = "missed the roll call"
    elif kind == "sms":
        what = "sent the emergency by SMS"
    elif kind == "mqtt":
        what = _MQTT.get(d.get("state"))
    elif kind == "fault":
        what = {"link_down": "loses coverage (simulated)", "link_up": "has coverage again",
                "broker_restart": "the broker restarts (simulated)"}.get(d.get("fault"), "fault: %s" % d.get("fault"))
    if not what:
        return None
    return "%7.1f s  %-8s %s" % (t_ms / 1000.0, "" if unit == "-" else unit, what)


class Narrator:
    """``sentence`` over a whole run: a connection state is told once per change, and nothing after the end
    of the scenario (every radio leaving the broker then is the simulation stopping, not news)."""

    def __init__(self, end_ms: float | None = None) -> None:
        self.end_ms = end_ms
        self.mqtt: dict[str, Any] = {}

    def line(self, t_ms: float, unit: str, kind: str, d: dict[str, Any]) -> str | None:
        if self.end_ms is not None and t_ms >= self.end_ms:
            return None
        if kind == "mqtt":
            if self.mqtt.get(unit) == d.get("state"):
                return None
            self.mqtt[unit] = d.get("state")
            if t_ms < 0:
                return None        # connecting before the scenario starts
        return sentence(t_ms, unit, kind, d)
