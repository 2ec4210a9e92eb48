"""The readiness board's data: every unit of the registry joined with its live presence and telemetry.

A row says who holds the radio, the OPD, talkgroups, how far it got (SIM -> registered -> data -> broker ->
ready), and when it is not ready, why — in Bahasa Indonesia and English. Online follows the fleet's one rule
(docs/TOPICS.md, ``ht.radio.presence``): a presence seen within 1.5 x the interval it carries.

``FleetBoard.on_presence/on_telemetry`` take the raw MQTT payloads (bad input raises ValueError with a clear
reason, the caller logs and shows it); ``tick()`` re-judges staleness; ``take_dirty()`` gives the rows that
changed since the last call, which the hub pushes to every browser.
"""
from __future__ import annotations

import datetime
import json
import time
from typing import Any

from htctl import registry
from htctl import report as htreport
from ht.radio import presence as P

# The stage ladder the board draws (presence stage -> steps reached of 5).
LADDER = ("sim", "registered", "data", "broker", "ready")
_STEP = {"booting": 0, "provision": 0, "sim": 1, "registered": 2, "data": 3, "online": 4, "offline": 0}

# Why a radio is not at the next step: (Bahasa Indonesia, English).
STAGE_WHY = {
    "booting": ("Modem sedang menyala atau SIM tidak terbaca", "Modem starting or SIM not readable"),
    "provision": ("Perlu provisioning: radio berjalan dengan pengaturan pabrik (htctl provision)",
                  "Needs provisioning: running on factory defaults (htctl provision)"),
    "sim": ("SIM siap, belum terdaftar di jaringan (mencari sinyal atau SIM ditolak)",
            "SIM ready, not registered on the network (searching, or the SIM was refused)"),
    "registered": ("Terdaftar di jaringan, koneksi data belum tersambung",
                   "On the network, data not connected"),
    "data": ("Data tersambung, belum tersambung ke server", "Data connected, not connected to the server"),
}
NEVER = ("Belum pernah terhubung ke server", "Never connected to the server")
OFFLINE_WILL = ("Terputus dari server (koneksi radio hilang)", "Disconnected from the server (radio's link lost)")
STALE = ("Tidak terdengar lebih dari 1,5 x selang laporannya", "Not heard for more than 1.5 x its report interval")
UNKNOWN_UNIT = ("Unit tidak ada di registri armada", "Unit not in the fleet registry")
PLAN_WHY = {"exhausted": ("Kuota data habis", "Data quota used up"),
            "low": ("Kuota data hampir habis", "Data quota low")}
LOW_BATTERY = ("Baterai lemah", "Battery low")
LOW_BATTERY_PCT = 15


def _wall_iso(t: float) -> str:
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat(timespec="seconds")


def bars(dbm: int | None) -> int:
    """Signal bars 0-4 from RSRP/RSSI dBm (the radio's own thresholds, roughly)."""
    if dbm is None:
        return 0
    for n, lim in ((4, -85), (3, -95), (2, -105), (1, -115)):
        if dbm >= lim:
            return n
    return 0


class FleetBoard:
    def __init__(self, conn, fleet: str, max_bytes: int = 2048, clock=time.monotonic, wall=time.time):
        self.conn = conn
        self.fleet = fleet
        self.max_bytes = max_bytes
        self.clock = clock
        self.wall = wall
        self.static: dict[str, dict[str, Any]] = {}   # unit -> registry status (htctl.report.unit_status)
        self.opds: list[dict[str, Any]] = []
        self.live: dict[str, dict[str, Any]] = {}     # unit -> last presence/telemetry and when
        self.rows: dict[str, dict[str, Any]] = {}
        self._online: dict[str, bool] = {}
        self._dirty: set[str] = set()
        self.reload()

    # ---- registry ----------------------------------------------------------------------------------
    def reload(self) -> None:
        st_id = htreport.fleet_status(self.conn, lang="id")
        st_en = htreport.fleet_status(self.conn, lang="en")
        by_unit = {u["unit_id"]: u for u in registry.units(self.conn)}
        static = {}
        for ui, ue in zip(st_id["units"], st_en["units"]):
            a = by_unit.get(ui["unit_id"], {})
            ui = dict(ui)
            ui["reasons_pair"] = [{"code": r["code"], "id": r["text"], "en": re["text"],
                                   "block": htreport.REASONS[r["code"]][0] == "block"}
                                  for r, re in zip(ui["reasons"], ue["reasons"]) if r["code"] != "offline"]
            ui["sim_expiry_text_en"] = ue["sim_expiry_text"]
            ui["talkgroups"] = [str(t) for t in a.get("talkgroups") or []]
            ui["quota_mb"] = a.get("quota_mb")
            ui["plan_name"] = a.get("plan")
            ui["operator"] = a.get("operator")
            ui["callsign"] = a.get("callsign")
            static[ui["unit_id"]] = ui
        self.static = static
        self.opds = st_id["opds"]
        for u in set(static) | set(self.live):
            self._dirty.add(u)
        self._rebuild()

    # ---- live input --------------------------------------------------------------------------------
    def _check(self, topic_unit: str, payload: bytes) -> None:
        if len(payload) > self.max_bytes:
            raise ValueError("message of %d bytes from %s is larger than %d" % (len(payload), topic_unit,
                                                                               self.max_bytes))

    def on_presence(self, topic_unit: str, payload: bytes, retained: bool = False) -> dict[str, Any] | None:
        if not payload:
            return None     # a cleared retained presence
        self._check(topic_unit, payload)
        p = P.parse_presence(payload)
        if p["unit"] != topic_unit:
            raise ValueError("presence on %s's topic names unit %r" % (topic_unit, p["unit"]))
        for k, lo, hi in (("battery", 0, 100), ("signal", -150, 0)):
            v = p.get(k)
            if v is not None and (not isinstance(v, (int, float)) or not lo <= v <= hi):
                raise ValueError("presence from %s: %s %r out of range" % (topic_unit, k, v))
        # A beat carries unit, stage and interval only (ht.radio.presence): keep the last full readiness.
        full = bool(set(json.loads(payload)) - {"u", "s", "i"}) or p["stage"] == "offline"
        e = self.live.setdefault(topic_unit, {})
        e["stage"] = p["stage"]
        e["interval_s"] = p["interval_s"]
        e["seen"] = self.clock()
        e["seen_wall"] = self.wall()
        if full or "plan" not in e:
            for k in ("battery", "signal", "plan", "fw", "note"):
                e[k] = p[k]
        self._dirty.add(topic_unit)
        self._rebuild_one(topic_unit)
        return p

    def on_telemetry(self, topic_unit: str, payload: bytes) -> dict[str, Any]:
        self._check(topic_unit, payload)
        try:
            d = json.loads(payload)
        except ValueError:
            raise ValueError("telemetry from %s is not JSON" % topic_unit)
        if not isinstance(d, dict) or d.get("u") != topic_unit:
            raise ValueError("telemetry on %s's topic lacks its unit" % topic_unit)
        for k, v in d.items():
            if k != "u" and (not isinstance(v, (int, float)) or isinstance(v, bool)):
                raise ValueError("telemetry from %s: %s is not a number" % (topic_unit, k))
        e = self.live.setdefault(topic_unit, {})
        e["telemetry"] = {k: v for k, v in d.items() if k != "u"}
        e["tel_wall"] = self.wall()
        e["tel_seen"] = self.clock()
        self._dirty.add(topic_unit)
        self._rebuild_one(topic_unit)
        return d

    # ---- judging -------------------------------------------------------------------------------------
    def is_online(self, unit: str, now: float | None = None) -> bool:
        e = self.live.get(unit)
        if not e or "stage" not in e or e["stage"] == "offline":
            return False
        now = self.clock() if now is None else now
        return not e["interval_s"] or (now - e["seen"]) <= 1.5 * e["interval_s"]

    def tick(self) -> list[str]:
        """Re-judge staleness (called every ~0.2 s): a unit whose beat is overdue turns offline on its own.
        -> the units whose online state flipped."""
        now = self.clock()
        flipped = []
        for u in self.live:
            on = self.is_online(u, now)
            if self._online.get(u) != on:
                if not on and "seen" in self.live[u]:
                    self.live[u]["silent_s"] = round(now - self.live[u]["seen"], 2)   # how long unheard at the flip
                self._dirty.add(u)
                self._rebuild_one(u)
                flipped.append(u)
        return flipped

    def take_dirty(self) -> list[dict[str, Any]]:
        out = [self.rows[u] for u in sorted(self._dirty) if u in self.rows]
        self._dirty.clear()
        return out

    def _rebuild(self) -> None:
        self.rows = {}
        for u in set(self.static) | set(self.live):
            self._rebuild_one(u)

    def _rebuild_one(self, u: str) -> None:
        s = self.static.get(u)
        e = self.live.get(u, {})
        now = self.clock()
        online = self.is_online(u, now)
        self._online[u] = online
        reasons: list[dict[str, Any]] = []
        if s is None:
            reasons.append({"code": "unknown_unit", "id": UNKNOWN_UNIT[0], "en": UNKNOWN_UNIT[1], "block": True})
        stage = e.get("stage")
        step = 0
        if stage is None:
            reasons.append({"code": "never", "id": NEVER[0], "en": NEVER[1], "block": True})
        elif not online:
            w = OFFLINE_WILL if stage == "offline" else STALE
            reasons.append({"code": "offline", "id": w[0], "en": w[1], "block": True})
        else:
            step = _STEP.get(stage, 0)
            if stage in STAGE_WHY:
                reasons.append({"code": "stage_" + stage, "id": STAGE_WHY[stage][0], "en": STAGE_WHY[stage][1],
                                "block": True})
        if online and e.get("note") in P.NOTES:
            en, idn = P.NOTES[e["note"]]
            reasons.append({"code": "note_" + e["note"], "id": idn, "en": en, "block": True})
        if online and e.get("plan") in PLAN_WHY:
            idn, en = PLAN_WHY[e["plan"]]
            reasons.append({"code": "plan_" + e["plan"], "id": idn, "en": en, "block": e["plan"] == "exhausted"})
        bat = e.get("battery")
        if online and bat is not None and bat < LOW_BATTERY_PCT:
            reasons.append({"code": "battery", "id": LOW_BATTERY[0], "en": LOW_BATTERY[1], "block": False})
        if s is not None:
            reasons += s["reasons_pair"]
        ready = online and stage == "online" and not any(r["block"] for r in reasons)
        if ready:
            step = 5
        tel = e.get("telemetry") or {}
        used_mb = None
        if "tx" in tel or "rx" in tel:
            used_mb = round((tel.get("tx", 0) + tel.get("rx", 0)) / 1e6, 2)
        quota = s.get("quota_mb") if s else None
        age = None if "seen" not in e else round(now - e["seen"], 1)
        self.rows[u] = {
            "unit": u, "official": s.get("official") if s else None, "position": s.get("position") if s else None,
            "opd": (s.get("opd") if s else "") or "", "talkgroups": s.get("talkgroups", []) if s else [],
            "callsign": s.get("callsign") if s else None,
            "stage": stage or "never", "step": step, "online": online, "ready": bool(ready),
            "reasons": reasons, "battery": bat, "signal": e.get("signal"), "bars": bars(e.get("signal")),
            "plan": e.get("plan") or "unknown", "fw": e.get("fw"), "quota_mb": quota, "used_mb": used_mb,
            "quota_left_mb": None if quota is None or used_mb is None else round(quota - used_mb, 1),
            "plan_name": s.get("plan_name") if s else None, "sim_expiry": s.get("sim_expiry") if s else None,
            "sim_expiry_text": s.get("sim_expiry_text") if s else None,
            "sim_expiry_text_en": s.get("sim_expiry_text_en") if s else None,
            "sim_days_left": s.get("sim_days_left") if s else None,
            "price_rp": s.get("price_rp") if s else None, "sim_opd": s.get("sim_opd") if s else None,
            "has_sim": bool(s and s.get("iccid")),
            "interval_s": e.get("interval_s") or 0, "silent_s_at_offline": e.get("silent_s"), "last_seen": _wall_iso(e["seen_wall"]) if "seen_wall" in e
            else None, "age_s": age, "telemetry": tel,
            "telemetry_at": _wall_iso(e["tel_wall"]) if "tel_wall" in e else None,
        }

    # ---- views ---------------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        rows = sorted(self.rows.values(), key=lambda r: (r["ready"], r["opd"], r["unit"]))
        return {"rows": rows, "opds": self.opds, "fleet": self.fleet}

    def units_in(self, scope: str) -> list[str]:
        """Units of a roll-call scope: "all", "opd:<name>" or "tg:<talkgroup>" (registry units only)."""
        kind, _, val = scope.partition(":")
        if kind == "all":
            return sorted(self.static)
        if kind == "opd":
            return sorted(u for u, s in self.static.items() if (s.get("opd") or "") == val)
        if kind == "tg":
            return sorted(u for u, s in self.static.items() if val in s.get("talkgroups", []))
        raise ValueError("scope must be all, opd:<OPD> or tg:<talkgroup>, not %r" % scope)
