"""Rolling a release out to the fleet (docs/OTA.md): whom to offer it to (all, an OPD, a talkgroup, a list),
in which waves (1 radio, then 10 %, then the rest), when to halt (a wave's failure rate above a threshold),
what it costs in data (bytes × radios × each SIM's Rp per MB), and each radio's progress in the registry.

``Rollout`` is the decision logic, driven by statuses and a clock so tests need no broker; ``run`` puts it
on an MQTT link (``publish(topic, payload, qos, retain)`` and a queue of incoming ``(topic, payload)``).
"""
from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from . import registry
from .errors import UserError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ota_releases (rid TEXT PRIMARY KEY, version TEXT NOT NULL, bytes INTEGER NOT NULL,
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ota_progress (rid TEXT NOT NULL, unit_id TEXT NOT NULL, wave INTEGER, status TEXT,
    updated_at TEXT NOT NULL, PRIMARY KEY (rid, unit_id));
"""


def _tables(conn: sqlite3.Connection) -> None:
    conn.executescript(_SCHEMA)


def record_release(conn: sqlite3.Connection, rid: str, version: str, nbytes: int) -> None:
    _tables(conn)
    with conn:
        conn.execute("INSERT OR IGNORE INTO ota_releases VALUES (?, ?, ?, ?)", (rid, version, nbytes, registry.now_iso()))


def record_status(conn: sqlite3.Connection, rid: str, unit_id: str, status: str, wave: int | None = None) -> None:
    _tables(conn)
    with conn:
        conn.execute("INSERT INTO ota_progress VALUES (?, ?, ?, ?, ?) ON CONFLICT(rid, unit_id) DO UPDATE SET "
                     "status=excluded.status, wave=coalesce(excluded.wave, ota_progress.wave), "
                     "updated_at=excluded.updated_at", (rid, unit_id, wave, status, registry.now_iso()))


def progress(conn: sqlite3.Connection, rid: str) -> dict[str, dict[str, Any]]:
    _tables(conn)
    rows = conn.execute("SELECT unit_id, wave, status, updated_at FROM ota_progress WHERE rid=? ORDER BY unit_id",
                        (rid,))
    return {r[0]: {"wave": r[1], "status": r[2], "updated_at": r[3]} for r in rows}


def targets(conn: sqlite3.Connection, opd: str | None = None, talkgroup: str | None = None,
            units: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The registry rows of the radios a release is offered to (all when no filter is given)."""
    rows = registry.units(conn)
    if units:
        known = {r["unit_id"] for r in rows}
        missing = sorted(set(units) - known)
        if missing:
            raise UserError("not in the registry: %s" % ", ".join(missing), hint="see `htctl fleet status`")
        rows = [r for r in rows if r["unit_id"] in set(units)]
    if opd:
        rows = [r for r in rows if opd in (r.get("opd"), r.get("sim_opd"))]
    if talkgroup:
        rows = [r for r in rows if talkgroup in (r.get("talkgroups") or [])]
    if not rows:
        raise UserError("no radio matches", hint="check --opd / --talkgroup / --units against `htctl fleet status`")
    return rows


def waves(units: Sequence[str], first: int = 1, share: float = 0.10) -> list[list[str]]:
    """1 radio, then 10 % of the fleet (at least one), then the rest; empty waves are left out."""
    u = list(units)
    w1 = u[:first]
    n2 = max(1, math.ceil(len(u) * share))
    out = [w1, u[first:first + n2], u[first + n2:]]
    return [w for w in out if w]


def cost(nbytes: int, rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Data cost of sending ``nbytes`` to each radio: MB × each SIM's plan price per MB (price_rp / quota_mb)."""
    total_rp = 0.0
    priced = unpriced = 0
    rows = list(rows)
    for r in rows:
        if r.get("price_rp") and r.get("quota_mb"):
            total_rp += nbytes / 1e6 * r["price_rp"] / r["quota_mb"]
            priced += 1
        else:
            unpriced += 1
    return {"bytes_per_radio": nbytes, "radios": len(rows), "bytes_total": nbytes * len(rows),
            "rp_total": round(total_rp), "radios_without_price": unpriced}


def done_status(status: str, version: str) -> str | None:
    """'ok', 'failed' or None (still going) for a radio's status string."""
    if status == "running v" + version:
        return "ok"
    if status.startswith("refused") or status.startswith("rolled back"):
        return "failed"
    return None


class Rollout:
    """Offers a release wave by wave. A wave ends when every radio in it is done or ``wave_timeout_s`` has
    passed (the rest count as failed); it halts when a wave's failure share exceeds ``max_failure``."""

    def __init__(self, units: Sequence[str], offer: dict[str, Any], max_failure: float = 0.2,
                 wave_timeout_s: float = 1800, plan: list[list[str]] | None = None) -> None:
        self._offer = offer
        self.rid = offer["ota"]["rid"]
        self.version = offer["ota"]["v"]
        self.plan = plan or waves(units)
        self.max_failure = max_failure
        self.wave_timeout_s = wave_timeout_s
        self.status: dict[str, str] = {}
        self.wave = -1
        self.started = 0.0
        self.halted: str | None = None
        self.finished = False

    def offer(self) -> dict[str, Any]:
        return self._offer

    def on_status(self, unit: str, status: str) -> bool:
        """-> whether the status was taken."""
        # A radio's word comes on two topics (its ack, and its retained presence, sent again at every
        # connect), and the older one can arrive second: "trial v…" after "running v…". A status that says
        # the radio is still on its way never replaces one that says where it ended.
        if done_status(self.status.get(unit, ""), self.version) is not None \
                and done_status(status, self.version) is None:
            return False
        self.status[unit] = status
        return True

    def step(self, now: float) -> list[str]:
        """-> units to offer the release to now (the next wave), [] otherwise."""
        if self.finished or self.halted:
            return []
        if self.wave >= 0:
            cur = self.plan[self.wave]
            res = [done_status(self.status.get(u, ""), self.version) for u in cur]
            if None in res and now - self.started < self.wave_timeout_s:
                return []
            failed = sum(1 for r in res if r != "ok")
            if failed / len(cur) > self.max_failure:
                self.halted = "wave %d: %d of %d failed" % (self.wave + 1, failed, len(cur))
                return []
        if self.wave + 1 >= len(self.plan):
            self.finished = True
            return []
        self.wave += 1
        self.started = now
        return list(self.plan[self.wave])

    def summary(self) -> dict[str, Any]:
        ok = [u for u, s in self.status.items() if done_status(s, self.version) == "ok"]
        return {"rid": self.rid, "version": self.version, "waves": self.plan, "reached_wave": self.wave + 1,
                "halted": self.halted, "ok": sorted(ok), "status": dict(sorted(self.status.items()))}


def status_of(fleet: str, topic: str, payload: bytes) -> tuple[str, str, str | None] | None:
    """(unit, status, rid) from a radio's ack (``ht/<f>/u/<u>/a`` {"ota": ...}) or presence ({"o": ...})."""
    p = topic.split("/")
    if len(p) != 5 or p[0] != "ht" or p[1] != fleet or p[2] != "u" or p[4] not in ("a", "p"):
        return None
    try:
        d = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(d, dict):
        return None
    s = d.get("ota") if p[4] == "a" else d.get("o")
    return (p[3], s, d.get("rid")) if isinstance(s, str) else None


def run(link: Any, ro: Rollout, fleet: str, messages: list[tuple[str, bytes]], conn: sqlite3.Connection | None = None,
        clock: Callable[[], float] = time.monotonic, poll_s: float = 0.2, limit_s: float = 7200,
        on_progress: Callable[[str, str], None] | None = None) -> dict[str, Any]:
    """Publish the release (retained), then offer it wave by wave until done, halted or ``limit_s``.
    ``link``: ``publish(topic, payload, qos, retain)`` and ``poll(timeout_s) -> [(topic, payload)]``."""
    for topic, payload in messages:
        link.publish(topic, payload, 1, True)
    wave_of: dict[str, int] = {}
    link.poll(poll_s)       # retained presence from before this rollout says nothing about it
    t0 = clock()
    while not (ro.finished or ro.halted) and clock() - t0 < limit_s:
        for u in ro.step(clock()):
            wave_of[u] = ro.wave + 1
            link.publish("ht/%s/u/%s/c" % (fleet, u), json.dumps(ro.offer()).encode(), 1, False)
            if conn is not None:
                record_status(conn, ro.rid, u, "offered", ro.wave + 1)
        for topic, payload in link.poll(poll_s):
            st = status_of(fleet, topic, payload)
            if st is None or st[0] not in wave_of or st[2] not in (None, ro.rid) or ro.status.get(st[0]) == st[1]:
                continue        # not ours, another release's ack, or nothing new
            if not ro.on_status(st[0], st[1]):
                continue        # an older word that came second
            if conn is not None:
                record_status(conn, ro.rid, st[0], st[1])
            if on_progress is not None:
                on_progress(st[0], st[1])
    return ro.summary()


class PahoLink:
    """The rollout's MQTT link: paho-mqtt as the Command Center account, subscribed to acks and presence."""

    def __init__(self, host: str, port: int, fleet: str, user: str = "cc", password: str | None = None,
                 key: bytes | None = None, accept: tuple[bytes, ...] = ()) -> None:
        # key: the fleet voice key (registry audio.key). Commands go out with its tag and the radios' tagged
        # answers are opened with it (ht.radio.msgtag); accept: the previous key during a rotation's overlap.
        import queue

        from ht.radio import msgtag
        self.tagger = msgtag.Tagger(key, accept) if key else None
        self.needs_tag = msgtag.needs_tag

        import paho.mqtt.client as mqtt
        self.q: queue.Queue[tuple[str, bytes]] = queue.Queue()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="htctl-rollout-%d" % int(time.time() * 1000))
        if password is not None:
            c.username_pw_set(user, password)
        c.on_message = lambda _c, _u, m: self.q.put((m.topic, m.payload))
        c.on_connect = lambda cl, _u, _f, _rc, _p=None: (cl.subscribe("ht/%s/u/+/a" % fleet, 1),
                                                         cl.subscribe("ht/%s/u/+/p" % fleet, 1))
        c.connect(host, port, 30)
        c.loop_start()
        self.c = c

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        if self.tagger is not None and self.needs_tag(topic):
            payload = self.tagger.seal(topic, payload)
        self.c.publish(topic, payload, qos, retain).wait_for_publish(30)

    def poll(self, timeout_s: float) -> list[tuple[str, bytes]]:
        import queue
        got = []
        try:
            got.append(self.q.get(timeout=timeout_s))
            while True:
                got.append(self.q.get_nowait())
        except queue.Empty:
            pass
        out = []
        for topic, payload in got:
            if self.tagger is not None and self.needs_tag(topic):
                body = self.tagger.open(topic, payload)
                if body is None:
                    continue        # not made with the fleet key: nobody's answer to this rollout
                payload = body
            out.append((topic, payload))
        return out

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()
