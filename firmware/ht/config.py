# The radio's configuration schema, shared verbatim by the firmware and htctl (provision, show, export).
# One table drives everything: set("section.field", value), load, dump, masking — meshtastic's idea of a
# schema-driven `--set section.field`, without its per-field if/elif chain, and with an export that
# re-imports exactly. A corrupt file never bricks a radio: bad fields fall back to their defaults, good
# fields are kept, and every problem is reported as "section.field: why".
import json
import hashlib
import binascii

SCHEMA_VERSION = 1
MASK = "********"
PRIORITIES = ("normal", "command", "emergency")
CODECS = ("adpcm", "ulaw", "g726", "adpcme")  # payload types 5 (DVI4), 0 (PCMU), 2 (G.726-32), 1 (DVI4 + adaptive
# emphasis), see ht/voice/codecs.py
FRAME_MS = (20, 40, 60)
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"


# ---- value checks: return None when fine, else a short reason --------------------------------------------
def _name(v):
    # Unit ids and talkgroups end up in MQTT topics: '/', '+', '#' or spaces would split or wildcard them.
    if not 1 <= len(v) <= 32:
        return "must be 1-32 characters"
    for c in v:
        if c not in _NAME_CHARS:
            return "may only use letters, digits, '-' and '_'"
    return None


def _unit_id(v):
    return None if v == "" else _name(v)


def _callsign(v):
    return "must be at most 32 characters" if len(v) > 32 else None


def _url(v):
    for scheme in ("mqtt://", "mqtts://"):
        if v.startswith(scheme):
            rest = v[len(scheme):]
            host, _, port = rest.partition(":")
            if not host or "/" in host:
                return "needs a host, like mqtt://broker.example:1883"
            if port and (not port.isdigit() or not 1 <= int(port) <= 65535):
                return "port must be 1-65535"
            return None
    return "must start with mqtt:// or mqtts://"


def _pin(v):
    return None if v == "" or (v.isdigit() and 4 <= len(v) <= 8) else "must be 4-8 digits or empty"


def _apn(v):
    return "must be 1-62 characters" if not 1 <= len(v) <= 62 else None


def _phone(v):
    digits = v[1:] if v.startswith("+") else v
    if not (digits.isdigit() and 6 <= len(digits) <= 15):
        return "phone numbers are digits with an optional leading +, like +628123456789"
    return None


def _days_in(y, m):
    if m == 2:
        return 29 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 28
    return 30 if m in (4, 6, 9, 11) else 31


def _date(v):
    if v == "":
        return None
    p = v.split("-")
    if len(p) != 3 or len(p[0]) != 4 or len(p[1]) != 2 or len(p[2]) != 2 or not (v.replace("-", "")).isdigit():
        return "must be a date YYYY-MM-DD or empty"
    y, m, d = int(p[0]), int(p[1]), int(p[2])
    if not (1 <= m <= 12 and 1 <= d <= _days_in(y, m)):
        return "is not a real date"
    return None


def _short_str(v):
    return "must be at most 64 characters" if len(v) > 64 else None


def _hex_key(v):
    # The fleet's voice key (HMAC-SHA256, ht/voice/frame.py): 16-64 random bytes written as hex. Shorter keys are
    # guessable offline from one recorded frame; longer ones HMAC hashes down anyway.
    if v == "":
        return None
    if len(v) % 2 or not 32 <= len(v) <= 128:
        return "must be 32-128 hex digits (16-64 bytes) or empty"
    for c in v:
        if c not in "0123456789abcdefABCDEF":
            return "must be hex digits 0-9 a-f"
    return None


def _rsa_key(v):
    # The fleet's release key (docs/OTA.md): an RSA modulus of 2048-4096 bits as hex; the exponent is 65537.
    if v == "":
        return None
    if len(v) % 2 or not 512 <= len(v) <= 1024:
        return "must be 512-1024 hex digits (an RSA-2048..4096 modulus) or empty"
    for c in v:
        if c not in "0123456789abcdefABCDEF":
            return "must be hex digits 0-9 a-f"
    return None


def key_bytes(cfg, name="audio.key"):
    # audio.key as the bytes every radio of the fleet signs and checks voice frames with; None = no key.
    # audio.key_old: the previous key, still accepted during a rotation's overlap (docs/PROVISION.md).
    k = cfg.get(name)
    return binascii.unhexlify(k) if k else None


# ---- the schema ---------------------------------------------------------------------------------------
# key -> (type, default, check). Types: str, secret (a str never shown), int (check = (lo, hi)), bool,
# enum (check = choices), list (check = per-item check, max 16 items).
FIELDS = {
    "fleet.id": ("str", "kota", _name),   # short fleet name in every topic: ht/<fleet>/...
    "unit.id": ("str", "", _unit_id),
    "unit.callsign": ("str", "", _callsign),
    "unit.priority": ("enum", "normal", PRIORITIES),
    "talkgroups.list": ("list", [], _name),
    "talkgroups.scan": ("list", [], _name),
    "broker.url": ("str", "mqtt://127.0.0.1:1883", _url),
    "broker.user": ("str", "", _short_str),
    "broker.password": ("secret", "", _short_str),
    "broker.tls": ("bool", False, None),
    "broker.keepalive": ("int", 60, (10, 3600)),
    # a PUBACK/SUBACK/PINGRESP later than this means the flow is dead: reconnect now (docs/POWER.md)
    "broker.reply_timeout_s": ("int", 10, (2, 120)),
    "modem.apn": ("str", "internet", _apn),
    "modem.sim_pin": ("secret", "", _pin),
    "dataplan.expiry": ("str", "", _date),
    "dataplan.quota_mb": ("int", 6144, (0, 1048576)),
    "dataplan.price_rp": ("int", 55000, (0, 100000000)),
    "dataplan.opd": ("str", "", _short_str),
    "audio.codec": ("enum", "adpcme", CODECS),
    "audio.frame_ms": ("enum", 40, FRAME_MS),
    "audio.key": ("secret", "", _hex_key),
    "audio.key_old": ("secret", "", _hex_key),
    # the microphone front end (ht/voice/frontend.py): trim on the board's calibrated gain, AGC or fixed gain
    "mic.frontend": ("bool", True, None),   # off: the mic's samples go to the codec as they come (a line input)
    #   (then audio.codec adpcm if the input carries rumble: adpcme relies on the front end's high-pass)
    "mic.trim_db": ("int", 0, (-20, 20)),
    "mic.agc": ("bool", True, None),
    "mic.agc_target_dbfs": ("int", -20, (-30, -10)),
    "mic.agc_max_gain_db": ("int", 40, (0, 42)),
    "mic.denoise": ("bool", True, None),     # noise suppressor; on, it takes the gate's place
    "mic.buzz": ("bool", True, None),        # the modem's TDMA buzz canceller, first in the front end
    "mic.gate": ("bool", True, None),        # with mic.denoise off
    "mic.gate_floor_db": ("int", -12, (-40, 0)),
    "mic.gate_hang_ms": ("int", 400, (0, 2000)),
    "speaker.level": ("bool", True, None),   # off: speech played as decoded (the volume steps tones only)
    "speaker.volume": ("int", 7, (1, 10)),    # speaker volume at first boot; the buttons' level is kept on flash
    "ptt.talk_timeout_s": ("int", 60, (5, 600)),
    "emergency.hot_mic_s": ("int", 10, (0, 120)),
    "emergency.sms_numbers": ("list", [], _phone),
    "telemetry.interval_s": ("int", 300, (10, 3600)),
    # modem sleep between exchanges, slow CPU when idle, telemetry riding the presence beat (docs/POWER.md)
    "power.save": ("bool", True, None),
    "ota.key": ("str", "", _rsa_key),     # public: release signatures are checked with it
}
SECRETS = tuple(k for k in FIELDS if FIELDS[k][0] == "secret")


def keys():
    return sorted(FIELDS)


def check(key, value):
    # None if `value` is acceptable for `key`, else "key: reason".
    if key not in FIELDS:
        return "%s: unknown setting" % key
    kind, _, rule = FIELDS[key]
    why = _check_value(kind, rule, value)
    return None if why is None else "%s: %s" % (key, why)


def _check_value(kind, rule, value):
    if kind in ("str", "secret"):
        if not isinstance(value, str):
            return "must be text"
        try:
            value.encode()
        except UnicodeError:  # CPython lone surrogates: could never be written to the radio's flash
            return "is not valid text"
        return rule(value) if rule else None
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be a whole number"
        if not rule[0] <= value <= rule[1]:
            return "must be %d-%d" % rule
        return None
    if kind == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if kind == "enum":
        if isinstance(value, bool) or value not in rule:
            return "must be one of %s" % ", ".join([str(c) for c in rule])
        return None
    if kind == "list":
        if not isinstance(value, list):
            return "must be a list"
        if len(value) > 16:
            return "at most 16 entries"
        for item in value:
            if not isinstance(item, str):
                return "entries must be text"
            why = rule(item)
            if why:
                return "%r %s" % (item, why)
        if len(set(value)) != len(value):
            return "has duplicates"
        return None
    return "unknown type"


class Config:
    # Values live in one flat dict keyed "section.field"; copies in and out so callers cannot alias lists.
    def __init__(self, values=None):
        self._v = {}
        for k in FIELDS:
            self._v[k] = _copy(FIELDS[k][1])
        if values:
            for k in values:
                self.set(k, values[k])

    def get(self, key):
        if key not in self._v:
            raise KeyError(key)
        return _copy(self._v[key])

    def set(self, key, value):
        why = check(key, value)
        if why:
            raise ValueError(why)
        if key == "talkgroups.scan":
            missing = [t for t in value if t not in self._v["talkgroups.list"]]
            if missing:
                raise ValueError("talkgroups.scan: %s not in talkgroups.list" % ", ".join(missing))
        self._v[key] = _copy(value)
        if key == "talkgroups.list":
            # The scan order is a priority over joined talkgroups; leaving one drops it from the scan.
            self._v["talkgroups.scan"] = [t for t in self._v["talkgroups.scan"] if t in value]

    def set_text(self, key, text):
        # A value given as text ("yes", "20", "dinkes, all"): the schema says how to read it.
        if key not in FIELDS:
            raise ValueError("%s: unknown setting" % key)
        self.set(key, parse_text(key, text))

    def to_dict(self):
        out = {"schema": SCHEMA_VERSION}
        for k in sorted(self._v):
            sec, field = k.split(".")
            if sec not in out:
                out[sec] = {}
            out[sec][field] = _copy(self._v[k])
        return out

    def masked(self):
        d = self.to_dict()
        for k in SECRETS:
            sec, field = k.split(".")
            if d[sec][field]:
                d[sec][field] = MASK
        return d

    def show(self):
        # "section.field = value" lines, secrets masked: safe for a log or a screen.
        m = self.masked()
        return ["%s = %s" % (k, json.dumps(m[k.split(".")[0]][k.split(".")[1]])) for k in sorted(self._v)]

    def __eq__(self, other):
        return isinstance(other, Config) and self._v == other._v

    def __ne__(self, other):
        return not self.__eq__(other)

    def __repr__(self):
        return "Config(%s)" % json.dumps(self.masked())

    __str__ = __repr__


def _copy(v):
    return list(v) if isinstance(v, list) else v


def parse_text(key, text):
    kind, _, rule = FIELDS[key]
    if kind == "int" or (kind == "enum" and isinstance(rule[0], int)):
        try:
            return int(text)
        except ValueError:
            raise ValueError("%s: must be a whole number, not %r" % (key, text))
    if kind == "bool":
        t = text.strip().lower()
        if t in ("1", "true", "yes", "on"):
            return True
        if t in ("0", "false", "no", "off"):
            return False
        raise ValueError("%s: must be true or false, not %r" % (key, text))
    if kind == "list":
        return [s.strip() for s in text.split(",") if s.strip()]
    return text


_UNSET = object()


def defaults():
    return Config()


def load(text):
    # -> (Config, [error, ...]). Never raises on bad content: the radio must boot with what is usable.
    cfg = Config()
    errors = []
    try:
        data = json.loads(text)
    except (ValueError, TypeError):
        return cfg, ["config: not valid JSON; using all defaults"]
    if not isinstance(data, dict):
        return cfg, ["config: top level must be an object; using all defaults"]
    scan = _UNSET
    for sec in sorted(data):
        if sec == "schema":
            if data[sec] != SCHEMA_VERSION:
                errors.append("schema: version %s is not %d; reading the settings this firmware knows"
                              % (json.dumps(data[sec]), SCHEMA_VERSION))
            continue
        fields = data[sec]
        if not isinstance(fields, dict):
            errors.append("%s: must be an object; its settings use defaults" % sec)
            continue
        for field in sorted(fields):
            key = sec + "." + field
            if key == "talkgroups.scan":
                scan = fields[field]  # applied after the list it refers to
                continue
            why = check(key, fields[field])
            if why:
                errors.append(why + _fallback(key))
            else:
                cfg.set(key, fields[field])
    if scan is not _UNSET:
        try:
            cfg.set("talkgroups.scan", scan)
        except ValueError as e:
            errors.append(str(e.args[0]) + _fallback("talkgroups.scan"))
    return cfg, errors


def _fallback(key):
    if key not in FIELDS:
        return "; ignored"
    return "; using default %s" % json.dumps(MASK if key in SECRETS and FIELDS[key][1] else FIELDS[key][1])


def _enc(v):
    # Hand-rolled JSON so CPython and MicroPython give the same bytes (their json.dumps differ in spacing,
    # key order and non-ASCII escaping), hence the same config hash on the host and on the radio.
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "[" + ",".join([_enc(x) for x in v]) + "]"
    out = ['"']
    for c in v:
        if c == '"' or c == "\\":
            out.append("\\" + c)
        elif ord(c) < 0x20:
            out.append("\\u%04x" % ord(c))
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def dump(cfg):
    # Canonical JSON: sorted keys, no spaces; equal configs give equal text on every interpreter.
    d = cfg.to_dict()
    parts = []
    for sec in sorted(d):
        if sec == "schema":
            parts.append('"schema":%d' % d[sec])
            continue
        inner = ",".join(['"%s":%s' % (f, _enc(d[sec][f])) for f in sorted(d[sec])])
        parts.append('"%s":{%s}' % (sec, inner))
    return "{" + ",".join(parts) + "}"


def config_hash(cfg):
    # What the registry's audit log records: proves which config a radio got without storing its secrets.
    return binascii.hexlify(hashlib.sha256(dump(cfg).encode()).digest()).decode()
