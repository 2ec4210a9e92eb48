"""The fleet registry (sqlite): which board, modem, SIM and official make up each radio unit, and what was
done to it. Library functions take an open connection (``connect(path)``) and return plain data (dicts).

Tables: devices (serial, MAC, board) · modems (IMEI) · sims (ICCID, MSISDN, operator, plan, usable quota,
expiry, monthly price, paying OPD) · officials (name, position, OPD) · assignments (unit ↔ device ↔ modem ↔
SIM ↔ official, with history: a reassignment closes the old row) · bench_certificates · audit (every
provisioning: who, when, config hash) · credentials (per-unit broker login; only a hash is stored) ·
fleet_settings (what every radio of the fleet shares: ``fleet.id``, the voice key ``audio.key``).
Identifier validation (ICCID, IMEI, MSISDN, ...) is in ``htctl.identifiers``; the CSV import in ``htctl.inventory``.
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
import pathlib
import secrets
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from . import secretfiles
from .errors import ConflictError, NotFoundError, UserError
# Identifier checks live in identifiers.py; inventory, provisioning and tests call them as registry.norm_*.
from .identifiers import (luhn_ok, norm_date, norm_iccid, norm_imei, norm_mac,  # noqa: F401
                          norm_msisdn, norm_rupiah)

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    serial TEXT PRIMARY KEY, mac TEXT UNIQUE, board TEXT NOT NULL, added_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS modems (
    imei TEXT PRIMARY KEY, model TEXT, added_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sims (
    iccid TEXT PRIMARY KEY, msisdn TEXT UNIQUE, operator TEXT, plan TEXT, quota_mb INTEGER,
    expiry TEXT, price_rp INTEGER, opd TEXT, added_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS officials (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, position TEXT, opd TEXT NOT NULL, UNIQUE (name, opd));
CREATE TABLE IF NOT EXISTS assignments (
    id INTEGER PRIMARY KEY, unit_id TEXT NOT NULL,
    serial TEXT REFERENCES devices(serial), imei TEXT REFERENCES modems(imei),
    iccid TEXT REFERENCES sims(iccid), official_id INTEGER REFERENCES officials(id),
    callsign TEXT, talkgroups TEXT NOT NULL DEFAULT '[]', priority TEXT NOT NULL DEFAULT 'normal',
    start_at TEXT NOT NULL, end_at TEXT);
-- A unit, a board, a modem and a SIM are each in at most one open assignment.
CREATE UNIQUE INDEX IF NOT EXISTS one_open_unit ON assignments(unit_id) WHERE end_at IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS one_open_serial ON assignments(serial) WHERE end_at IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS one_open_imei ON assignments(imei) WHERE end_at IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS one_open_iccid ON assignments(iccid) WHERE end_at IS NULL;
CREATE TABLE IF NOT EXISTS bench_certificates (
    id INTEGER PRIMARY KEY, serial TEXT NOT NULL, unit_id TEXT, at TEXT NOT NULL, technician TEXT NOT NULL,
    passed INTEGER NOT NULL, results TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL, unit_id TEXT,
    serial TEXT, config_hash TEXT, detail TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS credentials (
    unit_id TEXT PRIMARY KEY, username TEXT UNIQUE NOT NULL, pw_hash TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fleet_settings (
    name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
"""


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def connect(path: str | os.PathLike[str], create: bool = True) -> sqlite3.Connection:
    """Open (and on first use create) the registry. ``path`` may be ``":memory:"``."""
    if str(path) != ":memory:":
        p = pathlib.Path(path)
        if not p.exists():
            if not create:
                raise NotFoundError("fleet registry not found: %s" % p,
                                    hint="import an inventory first: `htctl fleet import inventory.csv`")
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UserError("cannot create the fleet registry folder %s: %s" % (p.parent, exc.strerror or exc),
                                hint="pass a writable path with --registry or $HTCTL_REGISTRY")
        _secure_file(p)
    try:
        conn = sqlite3.connect(str(path))
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise UserError("registry %s was written by a newer htctl (schema %d)" % (path, version),
                            hint="upgrade htctl")
        conn.executescript(SCHEMA)
        conn.execute("PRAGMA user_version = %d" % SCHEMA_VERSION)
    except sqlite3.DatabaseError as exc:
        raise UserError("cannot open fleet registry %s: %s" % (path, exc),
                        hint="is it a registry file? pass the right one with --registry")
    return conn


def _secure_file(p: pathlib.Path) -> None:
    # The registry holds the fleet voice key and the broker password hashes: 0600 from its first byte (0640
    # for $HTCTL_SECRET_GROUP, the group of a service that reads it); sqlite gives its journal the same mode.
    # An older registry written 0644 is tightened when its owner opens it.
    try:
        secretfiles.create_empty(p)
        if p.stat().st_uid == os.geteuid():
            secretfiles.secure(p)
    except OSError as exc:
        raise UserError("cannot create the fleet registry %s: %s" % (p, exc.strerror or exc),
                        hint="pass a writable path with --registry or $HTCTL_REGISTRY")


def _rows(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    return [dict(r) for r in cur.fetchall()]


# ---- records ------------------------------------------------------------------------------------------
def upsert_device(conn: sqlite3.Connection, serial: str, board: str, mac: str | None = None) -> None:
    conn.execute("INSERT INTO devices (serial, mac, board, added_at) VALUES (?,?,?,?) "
                 "ON CONFLICT(serial) DO UPDATE SET mac=excluded.mac, board=excluded.board",
                 (serial, mac, board, now_iso()))


def upsert_modem(conn: sqlite3.Connection, imei: str, model: str | None = None) -> None:
    conn.execute("INSERT INTO modems (imei, model, added_at) VALUES (?,?,?) "
                 "ON CONFLICT(imei) DO UPDATE SET model=coalesce(excluded.model, model)", (imei, model, now_iso()))


def upsert_sim(conn: sqlite3.Connection, iccid: str, msisdn: str | None = None, operator: str | None = None,
               plan: str | None = None, quota_mb: int | None = None, expiry: str | None = None,
               price_rp: int | None = None, opd: str | None = None) -> None:
    conn.execute("INSERT INTO sims (iccid, msisdn, operator, plan, quota_mb, expiry, price_rp, opd, added_at) "
                 "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(iccid) DO UPDATE SET msisdn=excluded.msisdn, "
                 "operator=excluded.operator, plan=excluded.plan, quota_mb=excluded.quota_mb, "
                 "expiry=excluded.expiry, price_rp=excluded.price_rp, opd=excluded.opd",
                 (iccid, msisdn, operator, plan, quota_mb, expiry, price_rp, opd, now_iso()))


def upsert_official(conn: sqlite3.Connection, name: str, opd: str, position: str | None = None) -> int:
    conn.execute("INSERT INTO officials (name, position, opd) VALUES (?,?,?) "
                 "ON CONFLICT(name, opd) DO UPDATE SET position=excluded.position", (name, position, opd))
    return conn.execute("SELECT id FROM officials WHERE name=? AND opd=?", (name, opd)).fetchone()[0]


def get_sim(conn: sqlite3.Connection, iccid: str) -> dict[str, Any] | None:
    r = conn.execute("SELECT * FROM sims WHERE iccid=?", (iccid,)).fetchone()
    return dict(r) if r else None


# ---- assignments --------------------------------------------------------------------------------------
_ASSIGNMENT_VIEW = """
SELECT a.id, a.unit_id, a.serial, a.imei, a.iccid, a.callsign, a.talkgroups, a.priority, a.start_at, a.end_at,
       d.board, d.mac, m.model AS modem_model,
       s.msisdn, s.operator, s.plan, s.quota_mb, s.expiry AS sim_expiry, s.price_rp, s.opd AS sim_opd,
       o.id AS official_id, o.name AS official, o.position, o.opd
FROM assignments a
LEFT JOIN devices d ON d.serial = a.serial LEFT JOIN modems m ON m.imei = a.imei
LEFT JOIN sims s ON s.iccid = a.iccid LEFT JOIN officials o ON o.id = a.official_id
"""


def _assignment(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    d["talkgroups"] = json.loads(d["talkgroups"] or "[]")
    return d


def assign(conn: sqlite3.Connection, unit_id: str, serial: str | None = None, imei: str | None = None,
           iccid: str | None = None, official_id: int | None = None, callsign: str | None = None,
           talkgroups: Iterable[str] = (), priority: str = "normal", at: str | None = None) -> dict[str, Any]:
    """Open a new assignment for ``unit_id`` (closing its current one). Returns the new row.

    Raises ConflictError if the board, modem or SIM is in another unit's open assignment.
    """
    at = at or now_iso()
    new = (serial, imei, iccid, official_id, callsign, json.dumps(list(talkgroups)), priority)
    cur = current_assignment(conn, unit_id)
    if cur and (cur["serial"], cur["imei"], cur["iccid"], cur["official_id"], cur["callsign"],
                json.dumps(cur["talkgroups"]), cur["priority"]) == new:
        return cur  # nothing changed: no history row
    for col, val in (("serial", serial), ("imei", imei), ("iccid", iccid)):
        if val is None:
            continue
        other = conn.execute("SELECT unit_id FROM assignments WHERE %s=? AND end_at IS NULL AND unit_id<>?" % col,
                             (val, unit_id)).fetchone()
        if other:
            raise ConflictError("%s %s is already assigned to unit %s" % (col, val, other[0]),
                                hint="release it from %s first (or fix the inventory)" % other[0])
    if cur:
        conn.execute("UPDATE assignments SET end_at=? WHERE id=?", (at, cur["id"]))
    conn.execute("INSERT INTO assignments (unit_id, serial, imei, iccid, official_id, callsign, talkgroups, "
                 "priority, start_at) VALUES (?,?,?,?,?,?,?,?,?)", (unit_id,) + new + (at,))
    return current_assignment(conn, unit_id)


def release(conn: sqlite3.Connection, unit_id: str, at: str | None = None) -> None:
    conn.execute("UPDATE assignments SET end_at=? WHERE unit_id=? AND end_at IS NULL", (at or now_iso(), unit_id))


def current_assignment(conn: sqlite3.Connection, unit_id: str) -> dict[str, Any] | None:
    r = conn.execute(_ASSIGNMENT_VIEW + " WHERE a.unit_id=? AND a.end_at IS NULL", (unit_id,)).fetchone()
    return _assignment(r) if r else None


def unit(conn: sqlite3.Connection, unit_id: str) -> dict[str, Any]:
    """The unit's current assignment (joined with board, SIM, official) or NotFoundError."""
    a = current_assignment(conn, unit_id)
    if a is None:
        raise NotFoundError("unit %s is not in the fleet registry" % unit_id,
                            hint="see `htctl fleet status`, or add it with `htctl fleet import`")
    return a


def assignment_history(conn: sqlite3.Connection, unit_id: str) -> list[dict[str, Any]]:
    return [_assignment(r) for r in conn.execute(_ASSIGNMENT_VIEW + " WHERE a.unit_id=? ORDER BY a.id", (unit_id,))]


def units(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every unit's current assignment, sorted by OPD then unit id."""
    return [_assignment(r) for r in conn.execute(
        _ASSIGNMENT_VIEW + " WHERE a.end_at IS NULL ORDER BY coalesce(o.opd, s.opd, ''), a.unit_id")]


def config_values(unit_row: Mapping[str, Any]) -> dict[str, Any]:
    """The registry's part of a unit's radio config, as ``{"section.field": value}`` for ht.config.Config.

    Broker URL/credentials and the SIM PIN come from the provisioning step, not from here.
    """
    values = {"unit.id": unit_row["unit_id"], "unit.priority": unit_row.get("priority") or "normal",
              "talkgroups.list": list(unit_row.get("talkgroups") or [])}
    if unit_row.get("callsign"):
        values["unit.callsign"] = unit_row["callsign"]
    if unit_row.get("sim_expiry"):
        values["dataplan.expiry"] = unit_row["sim_expiry"]
    if unit_row.get("quota_mb") is not None:
        values["dataplan.quota_mb"] = unit_row["quota_mb"]
    if unit_row.get("price_rp") is not None:
        values["dataplan.price_rp"] = unit_row["price_rp"]
    if unit_row.get("sim_opd"):
        values["dataplan.opd"] = unit_row["sim_opd"]
    return values


def unit_by_serial(conn: sqlite3.Connection, serial: str) -> dict[str, Any] | None:
    r = conn.execute(_ASSIGNMENT_VIEW + " WHERE a.serial=? AND a.end_at IS NULL", (serial,)).fetchone()
    return _assignment(r) if r else None


# ---- bench certificates and audit ---------------------------------------------------------------------
def record_bench(conn: sqlite3.Connection, serial: str, technician: str, results: Any, passed: bool,
                 unit_id: str | None = None, at: str | None = None) -> int:
    """Store a bench certificate; ``results`` is any JSON-able data (the check table). Returns its id."""
    with conn:
        cur = conn.execute("INSERT INTO bench_certificates (serial, unit_id, at, technician, passed, results) "
                           "VALUES (?,?,?,?,?,?)", (serial, unit_id, at or now_iso(), technician, 1 if passed else 0,
                                                    json.dumps(results, sort_keys=True)))
    return cur.lastrowid


def _cert(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    d["passed"] = bool(d["passed"])
    d["results"] = json.loads(d["results"])
    return d


def last_bench(conn: sqlite3.Connection, serial: str) -> dict[str, Any] | None:
    r = conn.execute("SELECT * FROM bench_certificates WHERE serial=? ORDER BY at DESC, id DESC LIMIT 1",
                     (serial,)).fetchone()
    return _cert(r) if r else None


def bench_certificates(conn: sqlite3.Connection, serial: str | None = None) -> list[dict[str, Any]]:
    q, args = "SELECT * FROM bench_certificates", ()
    if serial:
        q, args = q + " WHERE serial=?", (serial,)
    return [_cert(r) for r in conn.execute(q + " ORDER BY id", args)]


_SECRET_WORDS = ("password", "passwd", "secret", "sim_pin", "pin", "token")


def _check_no_secrets(detail: Any, path: str = "detail") -> None:
    # The audit log is read by many; a secret that reaches it is leaked for good. Masked values may pass.
    if isinstance(detail, dict):
        for k, v in detail.items():
            if any(w in str(k).lower() for w in _SECRET_WORDS) and v not in ("", None, "********"):
                raise ValueError("%s.%s looks like a secret; audit records must hold hashes or masks" % (path, k))
            _check_no_secrets(v, "%s.%s" % (path, k))
    elif isinstance(detail, list):
        for i, v in enumerate(detail):
            _check_no_secrets(v, "%s[%d]" % (path, i))


def audit(conn: sqlite3.Connection, who: str, action: str, unit_id: str | None = None, serial: str | None = None,
          config_hash: str | None = None, detail: dict[str, Any] | None = None, at: str | None = None) -> None:
    """Append to the audit log. ``detail`` must not hold secrets (ValueError): store hashes or masks."""
    _check_no_secrets(detail or {})
    with conn:
        conn.execute("INSERT INTO audit (at, who, action, unit_id, serial, config_hash, detail) "
                     "VALUES (?,?,?,?,?,?,?)", (at or now_iso(), who, action, unit_id, serial, config_hash,
                                                json.dumps(detail or {}, sort_keys=True)))


def audit_log(conn: sqlite3.Connection, unit_id: str | None = None) -> list[dict[str, Any]]:
    q, args = "SELECT * FROM audit", ()
    if unit_id:
        q, args = q + " WHERE unit_id=?", (unit_id,)
    out = []
    for r in conn.execute(q + " ORDER BY id", args):
        d = dict(r)
        d["detail"] = json.loads(d["detail"])
        out.append(d)
    return out


# ---- credentials: only a hash, in Mosquitto's own format, so the broker's password file is regenerated
# from the registry without anyone keeping the plain passwords. -----------------------------------------
PBKDF2_ITERATIONS = 101  # mosquitto_passwd's default for $7$ (mosquitto 2.0 password_mosq.c)


def hash_password(password: str, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    """``$7$<iterations>$<salt b64>$<PBKDF2-SHA512 b64>`` — the line format mosquitto 2.0 reads."""
    salt = os.urandom(12) if salt is None else salt
    dk = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 64)
    return "$7$%d$%s$%s" % (iterations, base64.b64encode(salt).decode(), base64.b64encode(dk).decode())


def verify_password(password: str, pw_hash: str) -> bool:
    try:
        _, kind, iterations, salt, digest = pw_hash.split("$")
        if kind != "7":
            return False
        dk = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt), int(iterations), 64)
    except ValueError:
        return False
    return hmac.compare_digest(base64.b64encode(dk).decode(), digest)


def set_credentials(conn: sqlite3.Connection, unit_id: str, username: str, password: str) -> None:
    with conn:
        conn.execute("INSERT INTO credentials (unit_id, username, pw_hash, updated_at) VALUES (?,?,?,?) "
                     "ON CONFLICT(unit_id) DO UPDATE SET username=excluded.username, pw_hash=excluded.pw_hash, "
                     "updated_at=excluded.updated_at", (unit_id, username, hash_password(password), now_iso()))


def verify_credentials(conn: sqlite3.Connection, unit_id: str, password: str) -> bool:
    r = conn.execute("SELECT pw_hash FROM credentials WHERE unit_id=?", (unit_id,)).fetchone()
    return bool(r) and verify_password(password, r[0])


def credentials(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """[{unit_id, username, pw_hash}] — enough for a Mosquitto password file and ACL, no plain passwords."""
    return _rows(conn.execute("SELECT unit_id, username, pw_hash FROM credentials ORDER BY unit_id"))


# ---- fleet-wide settings: the same on every radio of the fleet ------------------------------------------
FLEET_ID_DEFAULT = "kota"
VOICE_KEY_BYTES = 32


def fleet_config(conn: sqlite3.Connection) -> dict[str, str]:
    """``{"fleet.id", "audio.key"}`` for a radio's config. The voice key (32 random bytes, hex) is made on
    first use and kept: every radio signs and checks voice frames with the same key, so unlike a broker
    password it cannot be stored as a hash — the registry file is as secret as the radios' configs.
    INSERT OR IGNORE: radios provisioned in parallel (a connection per thread) still get one key."""
    with conn:
        conn.execute("INSERT OR IGNORE INTO fleet_settings (name, value, updated_at) VALUES ('audio.key', ?, ?)",
                     (secrets.token_hex(VOICE_KEY_BYTES), now_iso()))
    vals = dict(conn.execute("SELECT name, value FROM fleet_settings").fetchall())
    out = {"fleet.id": vals.get("fleet.id", FLEET_ID_DEFAULT), "audio.key": vals["audio.key"]}
    if vals.get("ota.key"):
        out["ota.key"] = vals["ota.key"]    # the release key's public half (htctl release keygen; docs/OTA.md)
    if vals.get("audio.key_old"):
        out["audio.key_old"] = vals["audio.key_old"]     # a rotation's overlap: radios accept both
    return out


def rotate_key(conn: sqlite3.Connection) -> tuple[str, str]:
    """Start a key rotation: a new voice key signs from now on, the old one is kept as ``audio.key_old``
    (accepted by every radio until :func:`retire_key`). -> (old hex, new hex). ConflictError during an overlap."""
    old = fleet_config(conn)["audio.key"]
    if setting(conn, "audio.key_old"):
        raise ConflictError("a key rotation is still in its overlap (the previous key is still accepted)",
                            hint="finish it first: htctl fleet key retire")
    new = secrets.token_hex(VOICE_KEY_BYTES)
    with conn:
        for name, value in (("audio.key_old", old), ("audio.key", new)):
            conn.execute("INSERT INTO fleet_settings (name, value, updated_at) VALUES (?, ?, ?) "
                         "ON CONFLICT(name) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
                         (name, value, now_iso()))
    return old, new


def retire_key(conn: sqlite3.Connection) -> tuple[str, str]:
    """End the overlap: the old key is forgotten. -> (retired hex, current hex). ConflictError if none."""
    old = setting(conn, "audio.key_old")
    if not old:
        raise ConflictError("no key rotation in progress", hint="start one: htctl fleet key rotate")
    with conn:
        conn.execute("DELETE FROM fleet_settings WHERE name='audio.key_old'")
    return old, fleet_config(conn)["audio.key"]


def setting(conn: sqlite3.Connection, name: str) -> str | None:
    """A fleet-wide setting the tools remember (``broker.url`` after a provisioning, ``lang``), or None."""
    r = conn.execute("SELECT value FROM fleet_settings WHERE name=?", (name,)).fetchone()
    return r[0] if r else None


def set_setting(conn: sqlite3.Connection, name: str, value: str) -> None:
    if name in ("audio.key", "audio.key_old"):
        raise ValueError("the voice key is made by fleet_config and rotate_key, never set by hand")
    with conn:
        conn.execute("INSERT INTO fleet_settings (name, value, updated_at) VALUES (?, ?, ?) "
                     "ON CONFLICT(name) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
                     (name, value, now_iso()))


def fleet_id(conn: sqlite3.Connection) -> str:
    r = conn.execute("SELECT value FROM fleet_settings WHERE name='fleet.id'").fetchone()
    return r[0] if r else FLEET_ID_DEFAULT


def set_fleet_id(conn: sqlite3.Connection, value: str) -> None:
    """The fleet's name in every topic (ht/<fleet>/...). Radios provisioned before a change keep the old one
    until provisioned again. ValueError if the firmware's schema refuses it."""
    from .firmware import htconfig
    why = htconfig.check("fleet.id", value)
    if why:
        raise ValueError(why)
    with conn:
        conn.execute("INSERT INTO fleet_settings (name, value, updated_at) VALUES ('fleet.id', ?, ?) "
                     "ON CONFLICT(name) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
                     (value, now_iso()))
