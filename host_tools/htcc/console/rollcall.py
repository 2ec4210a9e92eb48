"""Roll call (absen): ask every radio of a scope (everyone, an OPD, a talkgroup) to answer with one PTT press
before a deadline; watch the answers come in; keep the history; export CSV; print; run on a schedule.

The call and the answers are the firmware's own (``ht.radio.rollcall``): the call is retained on
``ht/<f>/rc`` so a radio that reconnects during it still sees it; answers come on each unit's ``a`` topic
(tied to the unit by the broker's ACL). The judging is the firmware's Command Center collector
(``RollCallCollector``): answered in time, answered late, no answer, offline (offline when the call went out
or when the deadline passed). Times to answer are measured here, from when the call went out.
"""
from __future__ import annotations

import datetime
import json
import logging
import time
from typing import Any

from htctl.i18n import WIB
from ht.compat import ticks_ms
from ht.radio import rollcall as RC
from ht.radio import topics as T

from .store import now_iso

log = logging.getLogger("htcc.console.rollcall")

LATE_WINDOW_S = 600     # answers this long after the end are still recorded (as late)
DAYS = "1234567"        # ISO weekdays: 1 Monday ... 7 Sunday


class _Out:
    # The collector's outbox: its "rollcall" publish goes to the fleet's retained roll-call topic.
    def __init__(self, console):
        self.c = console

    def publish(self, kind, key, payload, qos, retain):
        self.c.bus.publish_nowait(T.rollcall(self.c.fleet), payload, qos, True)


def check_scope(scope: str) -> str:
    kind, _, val = scope.partition(":")
    if kind == "all" and not val:
        return scope
    if kind in ("opd", "tg") and val and len(val) <= 100:
        return scope
    raise ValueError("scope must be all, opd:<OPD> or tg:<talkgroup>, not %r" % scope)


def check_days(days: str) -> str:
    d = "".join(sorted(set(days)))
    if not d or any(ch not in DAYS for ch in d):
        raise ValueError("days must be digits 1-7 (1 = Monday), e.g. 12345 for weekdays, not %r" % days)
    return d


def check_time(at: str) -> str:
    try:
        h, m = at.split(":")
        h, m = int(h), int(m)
        if not (0 <= h < 24 and 0 <= m < 60):
            raise ValueError
    except ValueError:
        raise ValueError("time must be HH:MM (WIB), e.g. 08:00, not %r" % at)
    return "%02d:%02d" % (h, m)


class RollCalls:
    def __init__(self, console):
        self.c = console
        self.conn = console.store.conn
        self.col: RC.RollCallCollector | None = None
        self.cur: dict[str, Any] | None = None       # the running (or last, for late answers) roll call
        self.t0 = 0.0
        self.finished = True
        console.bus.subscribe(T.units_sub(console.fleet, T.ACK).decode(), self._on_ack, qos=1)
        self._close_interrupted()

    def _close_interrupted(self) -> None:
        # A roll call still running when the server stopped: what arrived stays; the rest is marked unknown.
        for r in self.conn.execute("SELECT id, units FROM console_rollcalls WHERE finished_at IS NULL").fetchall():
            units = json.loads(r["units"])
            got = {a["unit_id"]: a["status"] for a in self.conn.execute(
                "SELECT unit_id, status FROM console_rollcall_answers WHERE rc_id=?", (r["id"],))}
            n = {"answered": 0, "late": 0, "missed": 0, "offline": 0, "waiting": 0}
            for u in units:
                n[got.get(u, "waiting")] += 1
            n["interrupted"] = 1
            self.conn.execute("UPDATE console_rollcalls SET finished_at=?, report=? WHERE id=?",
                              (now_iso(), json.dumps(n), r["id"]))
            log.warning("roll call %s was interrupted by a restart of the console", r["id"])

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def hello(self, s) -> dict[str, Any]:
        return {"rollcall": self.view() if self.cur else None}

    def on_presence(self, unit: str, online: bool) -> None:
        if self.col is not None:
            self.col.on_presence(unit, online)

    # ---- start -------------------------------------------------------------------------------------
    def begin(self, operator: str, scope: str, deadline_s: int) -> dict[str, Any]:
        scope = check_scope(scope)
        if not isinstance(deadline_s, int) or not 5 <= deadline_s <= 3600:
            raise ValueError("deadline must be 5-3600 seconds")
        if self.cur is not None and not self.finished:
            raise ValueError("roll call %s is still running (until its deadline)" % self.cur["id"])
        units = self.c.board.units_in(scope)
        if not units:
            raise ValueError("no radio in %s" % scope)
        if not self.c.bus.online:
            raise ValueError("the radio server (broker) is not connected: the roll call cannot go out")
        rc_id = "rc" + datetime.datetime.now(WIB).strftime("%Y%m%d%H%M%S")
        col = RC.RollCallCollector(_Out(self.c), by=operator, grace_ms=self.c.settings.rollcall_grace_ms)
        for u in units:
            col.on_presence(u, self.c.board.is_online(u))
        col.start(rc_id, units, ticks_ms(), deadline_s)
        self.col = col
        self.t0 = time.monotonic()
        self.finished = False
        self.cur = {"id": rc_id, "started_at": now_iso(), "started_by": operator, "scope": scope,
                    "deadline_s": deadline_s, "units": units, "answers": {}}
        self.conn.execute("INSERT INTO console_rollcalls (id, started_at, started_by, scope, deadline_s, units) "
                          "VALUES (?,?,?,?,?,?)", (rc_id, self.cur["started_at"], operator, scope, deadline_s,
                                                   json.dumps(units)))
        self.c.audit.record(operator, "rollcall.start", {"id": rc_id, "scope": scope, "deadline_s": deadline_s,
                                                         "units": len(units)})
        self._push()
        return self.view()

    # ---- answers -----------------------------------------------------------------------------------
    def _on_ack(self, topic: str, payload: bytes, retained: bool) -> None:
        p = T.parse(topic)
        if p is None or p[1] != self.c.fleet:
            return
        unit = p[3]
        try:
            if len(payload) > self.c.settings.max_message_bytes:
                raise ValueError("answer of %d bytes is too large" % len(payload))
            d = RC.parse_json(payload, ("id", "u"))
            if d["u"] != unit:
                raise ValueError("answer on %s's topic names unit %r" % (unit, d["u"]))
        except ValueError as e:
            self.c.bad_input(topic, str(e))
            return
        col, cur = self.col, self.cur
        if col is None or cur is None or d["id"] != cur["id"]:
            return      # an answer to an older roll call (a radio that was slow): nothing to update
        if unit not in cur["units"]:
            self.c.bad_input(topic, "answer from %s, which was not called in %s" % (unit, cur["id"]))
            return
        if unit in cur["answers"]:
            return
        ms = int((time.monotonic() - self.t0) * 1000)
        if not self.finished and col.on_ack(payload, ticks_ms()):
            status = "answered"
        elif time.monotonic() - self.t0 <= cur["deadline_s"] + LATE_WINDOW_S:
            status = "late"
        else:
            return
        cur["answers"][unit] = {"status": status, "ms": ms, "at": now_iso()}
        self.conn.execute("INSERT OR REPLACE INTO console_rollcall_answers (rc_id, unit_id, status, ms, at) "
                          "VALUES (?,?,?,?,?)", (cur["id"], unit, status, ms, cur["answers"][unit]["at"]))
        if self.finished:
            self._store_report()
        self._push()

    def tick(self) -> None:
        col = self.col
        if col is not None and not self.finished and col.done(ticks_ms()):
            self.finish()
        self._schedules()

    def finish(self) -> None:
        self.finished = True
        cur = self.cur
        rep = self.col.report(ticks_ms())
        for u in rep["missed"]:
            cur["answers"].setdefault(u, {"status": "missed", "ms": None, "at": None})
        for u in rep["offline"]:
            cur["answers"].setdefault(u, {"status": "offline", "ms": None, "at": None})
        for u, a in cur["answers"].items():
            if a["status"] in ("missed", "offline"):
                self.conn.execute("INSERT OR IGNORE INTO console_rollcall_answers (rc_id, unit_id, status) "
                                  "VALUES (?,?,?)", (cur["id"], u, a["status"]))
        cur["finished_at"] = now_iso()
        self._store_report()
        # Clear the retained call: a radio that connects later must not be asked again.
        self.c.bus.publish_nowait(T.rollcall(self.c.fleet), b"", 1, True)
        log.info("roll call %s finished: %s", cur["id"], self.counts(cur))
        self._push()

    def _store_report(self) -> None:
        cur = self.cur
        self.conn.execute("UPDATE console_rollcalls SET finished_at=?, report=? WHERE id=?",
                          (cur.get("finished_at"), json.dumps(self.counts(cur)), cur["id"]))

    # ---- views ---------------------------------------------------------------------------------------
    @staticmethod
    def counts(cur: dict[str, Any]) -> dict[str, int]:
        n = {"answered": 0, "late": 0, "missed": 0, "offline": 0, "waiting": 0}
        for u in cur["units"]:
            a = cur["answers"].get(u)
            n[a["status"] if a else "waiting"] += 1
        return n

    def _rows(self, units, answers, finished, online=None) -> list[dict[str, Any]]:
        out = []
        for u in units:
            r = self.c.board.rows.get(u, {})
            a = answers.get(u)
            if a:
                st = a["status"]
            elif finished:
                st = "missed"
            else:
                st = "waiting" if (online(u) if online else True) else "offline"
            out.append({"unit": u, "official": r.get("official"), "opd": r.get("opd"), "status": st,
                        "ms": a.get("ms") if a else None, "at": a.get("at") if a else None})
        return out

    def view(self) -> dict[str, Any]:
        cur = self.cur
        left = max(0, cur["deadline_s"] - (time.monotonic() - self.t0))
        return {"id": cur["id"], "started_at": cur["started_at"], "started_by": cur["started_by"],
                "scope": cur["scope"], "deadline_s": cur["deadline_s"], "finished": self.finished,
                "finished_at": cur.get("finished_at"), "left_s": round(left, 1), "counts": self.counts(cur),
                "rows": self._rows(cur["units"], cur["answers"], self.finished, self.c.board.is_online)}

    def _push(self) -> None:
        self.c.hub.broadcast({"t": "rollcall", "rc": self.view()})

    def history(self, limit: int = 100) -> list[dict[str, Any]]:
        out = []
        for r in self.conn.execute("SELECT * FROM console_rollcalls ORDER BY started_at DESC LIMIT ?", (limit,)):
            d = dict(r)
            d["units"] = json.loads(d["units"])
            d["report"] = json.loads(d["report"]) if d["report"] else None
            out.append(d)
        return out

    def detail(self, rc_id: str) -> dict[str, Any]:
        if self.cur is not None and self.cur["id"] == rc_id:
            return self.view()
        r = self.conn.execute("SELECT * FROM console_rollcalls WHERE id=?", (rc_id,)).fetchone()
        if r is None:
            raise LookupError("no roll call %s" % rc_id)
        d = dict(r)
        units = json.loads(d["units"])
        answers = {a["unit_id"]: dict(a) for a in self.conn.execute(
            "SELECT * FROM console_rollcall_answers WHERE rc_id=?", (rc_id,))}
        rows = self._rows(units, answers, True)
        n = {"answered": 0, "late": 0, "missed": 0, "offline": 0, "waiting": 0}
        for x in rows:
            n[x["status"]] += 1
        return {"id": rc_id, "started_at": d["started_at"], "started_by": d["started_by"], "scope": d["scope"],
                "deadline_s": d["deadline_s"], "finished": True, "finished_at": d["finished_at"], "left_s": 0,
                "counts": n, "rows": rows}

    # ---- schedules -----------------------------------------------------------------------------------
    def schedules(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM console_schedules ORDER BY at_wib, id")]

    def add_schedule(self, operator: str, days: str, at_wib: str, scope: str, deadline_s: int) -> dict[str, Any]:
        days, at_wib, scope = check_days(days), check_time(at_wib), check_scope(scope)
        if not isinstance(deadline_s, int) or not 5 <= deadline_s <= 3600:
            raise ValueError("deadline must be 5-3600 seconds")
        cur = self.conn.execute("INSERT INTO console_schedules (days, at_wib, scope, deadline_s, created_by) "
                                "VALUES (?,?,?,?,?)", (days, at_wib, scope, deadline_s, operator))
        self.c.audit.record(operator, "schedule.add", {"id": cur.lastrowid, "days": days, "at_wib": at_wib,
                                                       "scope": scope, "deadline_s": deadline_s})
        return dict(self.conn.execute("SELECT * FROM console_schedules WHERE id=?", (cur.lastrowid,)).fetchone())

    def remove_schedule(self, operator: str, sid: int) -> None:
        cur = self.conn.execute("DELETE FROM console_schedules WHERE id=?", (sid,))
        if not cur.rowcount:
            raise LookupError("no schedule #%s" % sid)
        self.c.audit.record(operator, "schedule.remove", {"id": sid})

    def _schedules(self, now: datetime.datetime | None = None) -> None:
        now = now or datetime.datetime.now(WIB)
        hm = "%02d:%02d" % (now.hour, now.minute)
        stamp = now.strftime("%Y-%m-%d ") + hm
        for s in self.schedules():
            if not s["enabled"] or s["at_wib"] != hm or str(now.isoweekday()) not in s["days"]:
                continue
            if s["last_run"] == stamp:
                continue
            self.conn.execute("UPDATE console_schedules SET last_run=? WHERE id=?", (stamp, s["id"]))
            try:
                self.begin("jadwal#%d" % s["id"], s["scope"], s["deadline_s"])
            except ValueError as e:
                log.warning("scheduled roll call #%d not started: %s", s["id"], e)
                self.c.audit.record("jadwal#%d" % s["id"], "rollcall.skipped", {"why": str(e)})
