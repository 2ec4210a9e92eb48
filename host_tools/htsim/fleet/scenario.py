"""Fleet scenario files (JSON, or YAML when PyYAML is installed): who is in the fleet, who presses when,
what they say, emergencies, roll calls and faults. ``load(path)`` / ``parse(dict)`` return a checked
``Scenario``; every mistake is a ``ScenarioError`` naming its place (``events[3].clip: ...``).

    {"name": "demo", "duration_s": 40, "link": "lte",
     "radios": [{"unit": "cc", "priority": "command", "cc": true},
                {"unit": "dinas1"}, {"unit": "dinas2", "modem": "A7670"}],
     "events": [{"t": 2, "unit": "dinas1", "do": "talk", "clip": "Front_Center", "hold_s": 2},
                {"t": 9, "unit": "cc", "do": "rollcall", "deadline_s": 8},
                {"t": 12, "do": "fault", "fault": "broker_restart"}]}

Actions (``do``): talk (clip, hold_s), press, release, answer (a short PTT press), emergency (clip,
hold_s), ack (the Command Center acknowledges ``target``'s emergency), rollcall (id, deadline_s, units),
report (the Command Center's roll-call report now), fault (broker_restart; link_down / link_up for
``unit``; modem faults for a radio with a modem: modem_hang, sim_pulled, sim_insert, reg_lost,
reg_home, pdp_drop, socket_close).
"""
import json
import pathlib

from htctl.errors import NotFoundError, UserError

PRIORITIES = ("normal", "command")
LINKS = ("lte", "clean", "lossy")
DIALECTS = ("A7670", "SIM7600", "EC200U")      # one board file each under boards/
ACTIONS = ("talk", "press", "release", "answer", "emergency", "ack", "rollcall", "report", "fault")
RADIO_FAULTS = ("link_down", "link_up")
MODEM_FAULTS = ("modem_hang", "sim_pulled", "sim_insert", "reg_lost", "reg_home", "pdp_drop", "socket_close")
FAULTS = ("broker_restart",) + RADIO_FAULTS + MODEM_FAULTS
LINK_KEYS = ("preset", "loss", "base_ms", "stall_per_min", "seed")


class ScenarioError(UserError):
    pass


class ScenarioMissing(NotFoundError, ScenarioError):
    """The scenario file does not exist (exit 3, like every missing file)."""


class Scenario:
    def __init__(self, name, duration_s, radios, events, link, fleet="kota", frame_ms=20, seed=1, source=None):
        self.name = name
        self.duration_s = duration_s
        self.radios = radios        # [{unit, priority, talkgroups, cc, modem, link}]
        self.events = events        # [{t, unit, do, ...}] sorted by t
        self.link = link            # {preset, loss, base_ms, stall_per_min, seed}
        self.fleet = fleet
        self.frame_ms = frame_ms
        self.seed = seed
        self.source = source

    @property
    def units(self):
        return [r["unit"] for r in self.radios]

    def with_radios(self, n):
        """The same scenario with at least n radios: extra plain listeners u001, u002, ..."""
        radios = list(self.radios)
        i = 1
        while len(radios) < n:
            u = "u%03d" % i
            i += 1
            if u not in self.units:
                radios.append(_radio({"unit": u}, "radios[+]"))
        return Scenario(self.name, self.duration_s, radios, self.events, self.link, self.fleet, self.frame_ms,
                        self.seed, self.source)


def _err(where, msg):
    raise ScenarioError("%s: %s" % (where, msg), hint="see docs/FLEET.md for the scenario format")


def _num(d, key, where, default=None, lo=0.0, hi=1e6):
    v = d.get(key, default)
    if v is None:
        _err("%s.%s" % (where, key), "required")
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        _err("%s.%s" % (where, key), "must be a number, got %r" % (v,))
    if not lo <= v <= hi:
        _err("%s.%s" % (where, key), "must be between %g and %g, got %g" % (lo, hi, v))
    return v


def parse_link(v, where="link"):
    if v is None:
        v = "lte"
    if isinstance(v, str):
        v = {"preset": v}
    if not isinstance(v, dict):
        _err(where, "must be a preset name (%s) or an object" % ", ".join(LINKS))
    for k in v:
        if k not in LINK_KEYS:
            _err("%s.%s" % (where, k), "unknown (known: %s)" % ", ".join(LINK_KEYS))
    preset = v.get("preset", "lte")
    if preset not in LINKS:
        _err(where + ".preset", "unknown link %r (one of %s)" % (preset, ", ".join(LINKS)))
    out = {"preset": preset, "loss": 0.05 if preset == "lossy" else 0.0,
           "base_ms": 0.0 if preset == "clean" else 25.0, "stall_per_min": 0.0 if preset == "clean" else 2.0,
           "seed": 1}
    for k in ("loss", "base_ms", "stall_per_min", "seed"):
        if k in v:
            out[k] = _num(v, k, where, hi={"loss": 0.5, "base_ms": 2000, "stall_per_min": 60}.get(k, 1e9))
    return out


def _radio(r, where):
    if not isinstance(r, dict):
        _err(where, "must be an object with at least a unit")
    unit = r.get("unit")
    if not isinstance(unit, str) or not unit or not all(c.isalnum() or c in "_-" for c in unit) or len(unit) > 20:
        _err(where + ".unit", "must be a short name of letters, digits, - or _ (got %r)" % (unit,))
    known = ("unit", "priority", "talkgroups", "cc", "modem", "link", "name")
    for k in r:
        if k not in known:
            _err("%s.%s" % (where, k), "unknown (known: %s)" % ", ".join(known))
    prio = r.get("priority", "command" if r.get("cc") else "normal")
    if prio not in PRIORITIES:
        _err(where + ".priority", "must be one of %s (emergency is a button, not a rank)" % ", ".join(PRIORITIES))
    tgs = r.get("talkgroups", ["1"])
    if not isinstance(tgs, list) or not tgs or not all(isinstance(t, str) and t and t != "all" for t in tgs):
        _err(where + ".talkgroups", "must be a non-empty list of talkgroup names (not 'all')")
    modem = r.get("modem")
    if modem is not None and modem not in DIALECTS:
        _err(where + ".modem", "unknown modem %r (one of %s)" % (modem, ", ".join(DIALECTS)))
    out = {"unit": unit, "priority": prio, "talkgroups": tgs, "cc": bool(r.get("cc")), "modem": modem,
           "name": r.get("name", unit)}
    if "link" in r:
        out["link"] = parse_link(r["link"], where + ".link")
    return out


def _event(e, where, units, radios, clips):
    if not isinstance(e, dict):
        _err(where, "must be an object with t and do")
    t = _num(e, "t", where, hi=86400)
    do = e.get("do")
    if do not in ACTIONS:
        _err(where + ".do", "unknown action %r (one of %s)" % (do, ", ".join(ACTIONS)))
    out = dict(e)
    out["t"] = float(t)
    unit = e.get("unit")
    if do == "fault":
        f = e.get("fault")
        if f not in FAULTS:
            _err(where + ".fault", "unknown fault %r (one of %s)" % (f, ", ".join(FAULTS)))
        if f != "broker_restart":
            if unit not in units:
                _err(where + ".unit", "fault %s needs a unit of this scenario (got %r)" % (f, unit))
            if f in MODEM_FAULTS and not radios[unit]["modem"]:
                _err(where + ".unit", "%s has no modem (give it \"modem\": \"A7670\") for fault %s" % (unit, f))
        return out
    if unit not in units:
        _err(where + ".unit", "unknown unit %r (radios: %s)" % (unit, ", ".join(units)))
    if do in ("talk", "emergency"):
        out["hold_s"] = float(_num(e, "hold_s", where, default=2.0 if do == "talk" else 0.3, hi=600))
        c = e.get("clip")
        if c is not None and clips is not None and c not in clips:
            _err(where + ".clip", "unknown speech clip %r (one of %s)" % (c, ", ".join(sorted(clips))))
    if do in ("ack",) and e.get("target") not in units:
        _err(where + ".target", "unknown unit %r" % (e.get("target"),))
    if do in ("rollcall", "ack", "report") and not radios[unit]["cc"]:
        _err(where + ".unit", "%s is not the Command Center (\"cc\": true)" % unit)
    if do == "rollcall":
        out["deadline_s"] = _num(e, "deadline_s", where, default=10, lo=1, hi=3600)
        for u in e.get("units") or []:
            if u not in units:
                _err(where + ".units", "unknown unit %r" % (u,))
    return out


def parse(d, source=None, clips=None):
    """A scenario from a dict; clips: the speech clip names allowed (None = do not check)."""
    if not isinstance(d, dict):
        _err("scenario", "must be an object")
    known = ("name", "duration_s", "radios", "events", "link", "fleet", "frame_ms", "seed", "description")
    for k in d:
        if k not in known:
            _err(k, "unknown key (known: %s)" % ", ".join(known))
    dur = _num(d, "duration_s", "scenario", lo=1, hi=86400)
    rs = d.get("radios")
    if not isinstance(rs, list) or not rs:
        _err("radios", "must be a non-empty list")
    radios = [_radio(r, "radios[%d]" % i) for i, r in enumerate(rs)]
    units = [r["unit"] for r in radios]
    dup = sorted({u for u in units if units.count(u) > 1})
    if dup:
        _err("radios", "unit %s listed twice" % dup[0])
    if sum(1 for r in radios if r["cc"]) > 1:
        _err("radios", "only one Command Center (cc) per scenario")
    byname = {r["unit"]: r for r in radios}
    evs = d.get("events", [])
    if not isinstance(evs, list):
        _err("events", "must be a list")
    events = [_event(e, "events[%d]" % i, units, byname, clips) for i, e in enumerate(evs)]
    for i, e in enumerate(events):
        if e["t"] > dur:
            _err("events[%d].t" % i, "%g s is after the end (duration_s %g)" % (e["t"], dur))
    events.sort(key=lambda e: e["t"])
    fm = d.get("frame_ms", 20)
    if fm not in (20, 40):
        _err("frame_ms", "must be 20 or 40")
    fleet = d.get("fleet", "kota")
    if not isinstance(fleet, str) or not fleet.isalnum():
        _err("fleet", "must be a short alphanumeric name")
    return Scenario(d.get("name") or (pathlib.Path(source).stem if source else "scenario"), float(dur), radios,
                    events, parse_link(d.get("link")), fleet, fm, int(d.get("seed", 1)), source)


def load(path, clips=None):
    p = pathlib.Path(path)
    if not p.is_file():
        raise ScenarioMissing("scenario file %s not found" % p, hint="give a path, or one of scenarios/*.json")
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError("%s is not a scenario: not text (JSON or YAML)" % p,
                            hint="give a .json or .yaml scenario file (see scenarios/demo.json)") from None
    except OSError as e:
        raise ScenarioError("cannot read %s: %s" % (p, e.strerror or e)) from None
    if p.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ScenarioError("%s: YAML needs PyYAML" % p, hint="pip install pyyaml, or write it as JSON")
        try:
            d = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ScenarioError("%s: not valid YAML: %s" % (p, e))
    else:
        try:
            d = json.loads(text)
        except ValueError as e:
            raise ScenarioError("%s: not valid JSON: %s" % (p, e), hint="check line %s" % getattr(e, "lineno", "?"))
    try:
        return parse(d, str(p), clips)
    except ScenarioError as e:
        raise ScenarioError("%s: %s" % (p, e), hint=e.hint)
