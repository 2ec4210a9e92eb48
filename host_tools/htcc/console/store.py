"""The console's tables, in the fleet registry's sqlite file (next to units, SIMs and officials).

Operators (``console_users``: name, role, scrypt hash), sessions (only a hash of the cookie's token is kept),
the audit log (``console_audit``: append-only — triggers refuse UPDATE and DELETE, so a row once written
stays), the emergency journal, roll calls with their answers, and roll-call schedules.

Everything here is synchronous sqlite on one connection that the server's event loop owns: each call is a
few hundred microseconds; nothing here blocks on the network.
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from typing import Any

from htctl import registry

ROLES = ("operator", "supervisor")

SCHEMA = """
CREATE TABLE IF NOT EXISTS console_users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, pw_hash TEXT NOT NULL, full_name TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS console_sessions (
    token_hash TEXT PRIMARY KEY, operator TEXT NOT NULL, csrf TEXT NOT NULL, lang TEXT NOT NULL DEFAULT 'id',
    created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS console_audit (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, operator TEXT NOT NULL, action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}');
CREATE TRIGGER IF NOT EXISTS console_audit_no_update BEFORE UPDATE ON console_audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS console_audit_no_delete BEFORE DELETE ON console_audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE IF NOT EXISTS console_emergencies (
    id INTEGER PRIMARY KEY, unit_id TEXT NOT NULL, opd TEXT, official TEXT, tg TEXT, started_at TEXT NOT NULL,
    alerts INTEGER NOT NULL DEFAULT 1, late INTEGER NOT NULL DEFAULT 0, acked_at TEXT, acked_by TEXT,
    ack_ms INTEGER, escalated_at TEXT, escalation TEXT, closed_at TEXT, closed_by TEXT, verdict TEXT,
    note TEXT);
CREATE TABLE IF NOT EXISTS console_rollcalls (
    id TEXT PRIMARY KEY, started_at TEXT NOT NULL, started_by TEXT NOT NULL, scope TEXT NOT NULL,
    deadline_s INTEGER NOT NULL, units TEXT NOT NULL, finished_at TEXT, report TEXT);
CREATE TABLE IF NOT EXISTS console_rollcall_answers (
    rc_id TEXT NOT NULL, unit_id TEXT NOT NULL, status TEXT NOT NULL, ms INTEGER, at TEXT,
    PRIMARY KEY (rc_id, unit_id));
CREATE TABLE IF NOT EXISTS console_schedules (
    id INTEGER PRIMARY KEY, days TEXT NOT NULL, at_wib TEXT NOT NULL, scope TEXT NOT NULL,
    deadline_s INTEGER NOT NULL, enabled INTEGER NOT NULL DEFAULT 1, last_run TEXT, created_by TEXT NOT NULL);
"""

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (hashlib.scrypt: memory-hard, in the standard library)."""
    salt = os.urandom(16) if salt is None else salt
    dk = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return "scrypt$%d$%d$%d$%s$%s" % (SCRYPT_N, SCRYPT_R, SCRYPT_P, base64.b64encode(salt).decode(),
                                      base64.b64encode(dk).decode())


def verify_password(password: str, pw_hash: str) -> bool:
    try:
        kind, n, r, p, salt, digest = pw_hash.split("$")
        if kind != "scrypt":
            return False
        dk = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                            dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(base64.b64encode(dk).decode(), digest)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def connect(path: str) -> sqlite3.Connection:
    """The registry (created with its own schema if new) plus the console's tables."""
    conn = registry.connect(path)
    conn.close()
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.executescript(SCHEMA)
    return conn


class Store:
    def __init__(self, path: str):
        self.path = path
        self.conn = connect(path)

    def close(self) -> None:
        self.conn.close()

    # ---- operators ---------------------------------------------------------------------------------
    def set_user(self, name: str, password: str, role: str = "operator", full_name: str | None = None) -> None:
        if role not in ROLES:
            raise ValueError("role must be one of %s, not %r" % ("/".join(ROLES), role))
        if not name or len(name) > 64 or not all(c.isalnum() or c in "._-" for c in name):
            raise ValueError("operator name %r: letters, digits and . _ - only (1-64)" % name)
        if len(password) < 8:
            raise ValueError("password too short: at least 8 characters")
        t = now_iso()
        self.conn.execute(
            "INSERT INTO console_users (name, role, pw_hash, full_name, created_at, updated_at) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(name) DO UPDATE SET role=excluded.role, pw_hash=excluded.pw_hash, "
            "full_name=coalesce(excluded.full_name, full_name), updated_at=excluded.updated_at, disabled=0",
            (name, role, hash_password(password), full_name, t, t))

    def disable_user(self, name: str) -> bool:
        cur = self.conn.execute("UPDATE console_users SET disabled=1, updated_at=? WHERE name=?", (now_iso(), name))
        self.conn.execute("DELETE FROM console_sessions WHERE operator=?", (name,))
        return cur.rowcount > 0

    def users(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(
            "SELECT name, role, full_name, created_at, updated_at, disabled FROM console_users ORDER BY name")]

    def user(self, name: str) -> dict[str, Any] | None:
        r = self.conn.execute("SELECT * FROM console_users WHERE name=?", (name,)).fetchone()
        return dict(r) if r else None

    def check_login(self, name: str, password: str) -> dict[str, Any] | None:
        u = self.user(name)
        if u is None or u["disabled"]:
            verify_password(password, hash_password("x" * 8))   # same work whether or not the name exists
            return None
        return u if verify_password(password, u["pw_hash"]) else None

    # ---- sessions ----------------------------------------------------------------------------------
    def new_session(self, operator: str, hours: float, lang: str = "id") -> tuple[str, str]:
        """-> (cookie token, CSRF token). Only the token's SHA-256 is stored."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        now = datetime.datetime.now(datetime.timezone.utc)
        exp = now + datetime.timedelta(hours=hours)
        self.conn.execute("DELETE FROM console_sessions WHERE expires_at < ?", (now.isoformat(),))
        self.conn.execute("INSERT INTO console_sessions (token_hash, operator, csrf, lang, created_at, expires_at) "
                          "VALUES (?,?,?,?,?,?)", (_token_hash(token), operator, csrf, lang, now.isoformat(),
                                                   exp.isoformat()))
        return token, csrf

    def session(self, token: str | None) -> dict[str, Any] | None:
        if not token or len(token) > 200:
            return None
        r = self.conn.execute(
            "SELECT s.operator, s.csrf, s.lang, s.expires_at, u.role, u.full_name FROM console_sessions s "
            "JOIN console_users u ON u.name = s.operator WHERE s.token_hash=? AND u.disabled=0",
            (_token_hash(token),)).fetchone()
        if r is None:
            return None
        if r["expires_at"] < datetime.datetime.now(datetime.timezone.utc).isoformat():
            return None
        d = dict(r)
        d["token_hash"] = _token_hash(token)
        return d

    def session_alive(self, token_hash: str) -> bool:
        r = self.conn.execute("SELECT s.expires_at FROM console_sessions s JOIN console_users u ON u.name = s.operator "
                              "WHERE s.token_hash=? AND u.disabled=0", (token_hash,)).fetchone()
        return r is not None and r[0] >= datetime.datetime.now(datetime.timezone.utc).isoformat()

    def set_session_lang(self, token: str, lang: str) -> None:
        self.conn.execute("UPDATE console_sessions SET lang=? WHERE token_hash=?", (lang, _token_hash(token)))

    def end_session(self, token: str | None) -> None:
        if token:
            self.conn.execute("DELETE FROM console_sessions WHERE token_hash=?", (_token_hash(token),))

    # ---- audit (append-only) -----------------------------------------------------------------------
    def audit(self, operator: str, action: str, detail: dict[str, Any] | None = None) -> int:
        registry._check_no_secrets(detail or {})
        cur = self.conn.execute("INSERT INTO console_audit (at, operator, action, detail) VALUES (?,?,?,?)",
                                (now_iso(), operator, action, json.dumps(detail or {}, sort_keys=True)))
        return cur.lastrowid

    def audit_log(self, limit: int = 500, operator: str | None = None, action: str | None = None
                  ) -> list[dict[str, Any]]:
        q, args = "SELECT * FROM console_audit WHERE 1=1", []
        if operator:
            q += " AND operator=?"
            args.append(operator)
        if action:
            q += " AND action LIKE ?"
            args.append(action + "%")
        out = []
        for r in self.conn.execute(q + " ORDER BY id DESC LIMIT ?", args + [int(limit)]):
            d = dict(r)
            d["detail"] = json.loads(d["detail"])
            out.append(d)
        return out


class Audit:
    """The audit API the rest of the console and the desk engine call (a plain function, no await):

        app.state.audit.record("budi", "talk.start", {"tg": "1"})

    Every operator action goes here: login/logout, talk, acknowledge, close, roll call, schedule, retention
    change, export. Rows are never changed or removed (sqlite triggers refuse it)."""

    def __init__(self, store: Store, on_row=None):
        self.store = store
        self.on_row = on_row     # fn(row) -> None: the hub shows new rows to supervisors live

    def record(self, operator: str, action: str, detail: dict[str, Any] | None = None) -> int:
        rid = self.store.audit(operator, action, detail)
        if self.on_row is not None:
            self.on_row({"id": rid, "at": now_iso(), "operator": operator, "action": action, "detail": detail or {}})
        return rid
