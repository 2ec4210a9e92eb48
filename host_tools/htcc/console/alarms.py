"""Emergencies: an alert from a radio opens an alarm that covers every operator's page and sounds until one
operator acknowledges it. Acknowledging publishes the firmware's own ack (``ht.radio.emergency.ack_payload``)
to the radio's command topic, so the radio plays its acknowledgement tone. A journal keeps, per alarm: when,
who, OPD, talkgroup, how many alerts arrived, the time to acknowledge and by whom, whether it was escalated,
and how it was closed (real or false alarm).

If nobody acknowledges within ``Settings.ack_timeout_s`` the alarm is escalated once through the configured
hook: a command (the alarm as JSON on its stdin) and/or an HTTP POST of the same JSON. The hook's outcome is
written to the journal either way; a failing hook never stops the alarm.
"""
from __future__ import annotations

import asyncio
import datetime
import json
import logging
import time
import urllib.request
from typing import Any

from ht.radio import emergency as E
from ht.radio import topics as T

from .store import now_iso

log = logging.getLogger("htcc.console.alarms")


def _ms_between(a: str, b: str) -> int:
    return int((datetime.datetime.fromisoformat(b) - datetime.datetime.fromisoformat(a)).total_seconds() * 1000)


class Alarms:
    def __init__(self, console):
        self.c = console
        self.conn = console.store.conn
        self.open: dict[str, dict[str, Any]] = {}    # unit -> open (not closed) incident
        self._mono: dict[int, float] = {}            # incident id -> monotonic time it opened
        self._tasks: set[asyncio.Task] = set()
        for r in self.conn.execute("SELECT * FROM console_emergencies WHERE closed_at IS NULL ORDER BY id"):
            self.open[r["unit_id"]] = dict(r)
            self._mono[r["id"]] = time.monotonic()
        console.bus.subscribe(T.emergency_sub(console.fleet).decode(), self._on_alert, qos=1)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        for t in self._tasks:
            t.cancel()

    def hello(self, s) -> dict[str, Any]:
        return {"alarms": [self._view(i) for i in self.open.values()]}

    # ---- from radios -------------------------------------------------------------------------------
    def _on_alert(self, topic: str, payload: bytes, retained: bool) -> None:
        p = T.parse(topic)
        if p is None or p[1] != self.c.fleet:
            return
        unit = p[3]
        try:
            if len(payload) > self.c.settings.max_message_bytes:
                raise ValueError("emergency message of %d bytes is too large" % len(payload))
            d = E.parse_json(payload, ("u",))
            if d["u"] != unit:
                raise ValueError("emergency on %s's topic names unit %r" % (unit, d["u"]))
        except ValueError as e:
            self.c.bad_input(topic, str(e))
            return
        if d.get("clear"):
            inc = self.open.get(unit)
            if inc is not None and not inc.get("cleared_by_radio"):
                inc["cleared_by_radio"] = 1
                self._update(inc, note=(inc.get("note") or "") + "[radio cleared]")
            return
        self.alert(unit, d)

    def alert(self, unit: str, d: dict[str, Any]) -> dict[str, Any]:
        inc = self.open.get(unit)
        if inc is not None and inc.get("acked_at") is None:
            inc["alerts"] += 1
            self._update(inc)
            return inc
        if inc is not None and inc.get("acked_at") is not None:
            # Acknowledged, but the radio still alerts: our ack did not reach it. Send it again.
            inc["alerts"] += 1
            self._update(inc)
            self._publish_ack(unit, inc["acked_by"])
            return inc
        row = self.c.board.rows.get(unit, {})
        tg = d.get("tg")
        inc = {"unit_id": unit, "opd": row.get("opd"), "official": row.get("official"),
               "tg": None if tg is None else str(tg), "started_at": now_iso(), "alerts": 1,
               "late": 1 if d.get("late") else 0}
        cur = self.conn.execute(
            "INSERT INTO console_emergencies (unit_id, opd, official, tg, started_at, alerts, late) VALUES "
            "(?,?,?,?,?,?,?)", (unit, inc["opd"], inc["official"], inc["tg"], inc["started_at"], 1, inc["late"]))
        inc = dict(self.conn.execute("SELECT * FROM console_emergencies WHERE id=?", (cur.lastrowid,)).fetchone())
        inc["known"] = unit in self.c.board.static
        self.open[unit] = inc
        self._mono[inc["id"]] = time.monotonic()
        log.warning("EMERGENCY from %s (%s, %s)", unit, inc["official"], inc["opd"])
        self.c.hub.broadcast({"t": "alarm", "inc": self._view(inc)})
        return inc

    # ---- operators ---------------------------------------------------------------------------------
    def _find(self, inc_id: int) -> dict[str, Any]:
        for inc in self.open.values():
            if inc["id"] == inc_id:
                return inc
        r = self.conn.execute("SELECT id, closed_at FROM console_emergencies WHERE id=?", (inc_id,)).fetchone()
        if r is None:
            raise LookupError("no emergency #%s" % inc_id)
        raise ValueError("emergency #%s is already closed" % inc_id)

    def ack(self, inc_id: int, operator: str) -> dict[str, Any]:
        inc = self._find(inc_id)
        if inc.get("acked_at"):
            return inc      # two operators clicked at once: the first one counts
        inc["acked_at"] = now_iso()
        inc["acked_by"] = operator
        inc["ack_ms"] = _ms_between(inc["started_at"], inc["acked_at"])
        self._update(inc)
        self._publish_ack(inc["unit_id"], operator)
        self.c.audit.record(operator, "emergency.ack", {"id": inc["id"], "unit": inc["unit_id"],
                                                        "ack_ms": inc["ack_ms"]})
        return inc

    def ack_unit(self, unit: str, operator: str) -> dict[str, Any]:
        inc = self.open.get(unit)
        if inc is None:
            if unit not in self.c.board.static:
                raise LookupError("unit %s is not in the fleet registry" % unit)
            raise LookupError("unit %s has no open emergency" % unit)
        return self.ack(inc["id"], operator)

    def close(self, inc_id: int, operator: str, verdict: str, note: str = "") -> dict[str, Any]:
        if verdict not in ("real", "false"):
            raise ValueError("verdict must be real or false")
        inc = self._find(inc_id)
        if not inc.get("acked_at"):
            self.ack(inc_id, operator)
        inc["closed_at"] = now_iso()
        inc["closed_by"] = operator
        inc["verdict"] = verdict
        inc["note"] = (note or "")[:500]
        self._update(inc)
        self.open.pop(inc["unit_id"], None)
        # End the radio's emergency state too (ht.radio.inbound: a command with "clear").
        self.c.bus.publish_nowait(T.unit_topic(self.c.fleet, inc["unit_id"], T.COMMAND),
                                  json.dumps({"u": inc["unit_id"], "clear": 1, "by": operator}).encode(), 1)
        self.c.audit.record(operator, "emergency.close", {"id": inc["id"], "unit": inc["unit_id"],
                                                          "verdict": verdict})
        return inc

    def _publish_ack(self, unit: str, by: str) -> None:
        self.c.bus.publish_nowait(T.unit_topic(self.c.fleet, unit, T.COMMAND), E.ack_payload(unit, by), 1)

    # ---- escalation ----------------------------------------------------------------------------------
    def tick(self) -> None:
        s = self.c.settings
        now = time.monotonic()
        for inc in list(self.open.values()):
            if inc.get("acked_at") or inc.get("escalated_at"):
                continue
            if now - self._mono.get(inc["id"], now) >= s.ack_timeout_s:
                inc["escalated_at"] = now_iso()
                inc["escalation"] = "pending"
                self._update(inc)
                t = asyncio.ensure_future(self._escalate(inc))
                self._tasks.add(t)
                t.add_done_callback(self._tasks.discard)

    async def _escalate(self, inc: dict[str, Any]) -> None:
        s = self.c.settings
        body = json.dumps({"event": "emergency_unacknowledged", "id": inc["id"], "unit": inc["unit_id"],
                           "official": inc["official"], "opd": inc["opd"], "tg": inc["tg"],
                           "started_at": inc["started_at"], "waited_s": s.ack_timeout_s,
                           "fleet": self.c.fleet}).encode()
        results = []
        if s.escalate_command:
            try:
                p = await asyncio.create_subprocess_shell(s.escalate_command, stdin=asyncio.subprocess.PIPE,
                                                          stdout=asyncio.subprocess.DEVNULL,
                                                          stderr=asyncio.subprocess.PIPE)
                _, err = await asyncio.wait_for(p.communicate(body), 30)
                results.append("command exit %d%s" % (p.returncode, (": " + err.decode()[-200:].strip())
                                                      if p.returncode else ""))
            except (OSError, asyncio.TimeoutError) as e:
                results.append("command failed: %s" % (e or type(e).__name__))
        if s.escalate_url:
            def post():
                req = urllib.request.Request(s.escalate_url, data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=15) as r:
                    return r.status
            try:
                st = await asyncio.get_running_loop().run_in_executor(None, post)
                results.append("POST %s -> %s" % (s.escalate_url, st))
            except Exception as e:
                results.append("POST %s failed: %s" % (s.escalate_url, e))
        if not results:
            results.append("no escalation hook configured")
        inc["escalation"] = "; ".join(results)
        log.warning("emergency #%s from %s escalated: %s", inc["id"], inc["unit_id"], inc["escalation"])
        self._update(inc)
        self.c.audit.record("system", "emergency.escalate", {"id": inc["id"], "unit": inc["unit_id"],
                                                             "result": inc["escalation"]})

    # ---- journal -----------------------------------------------------------------------------------
    def _update(self, inc: dict[str, Any], note: str | None = None) -> None:
        if note is not None:
            inc["note"] = note
        self.conn.execute(
            "UPDATE console_emergencies SET alerts=?, acked_at=?, acked_by=?, ack_ms=?, escalated_at=?, "
            "escalation=?, closed_at=?, closed_by=?, verdict=?, note=? WHERE id=?",
            (inc["alerts"], inc.get("acked_at"), inc.get("acked_by"), inc.get("ack_ms"), inc.get("escalated_at"),
             inc.get("escalation"), inc.get("closed_at"), inc.get("closed_by"), inc.get("verdict"), inc.get("note"),
             inc["id"]))
        self.c.hub.broadcast({"t": "alarm", "inc": self._view(inc)})

    def _view(self, inc: dict[str, Any]) -> dict[str, Any]:
        v = {k: inc.get(k) for k in ("id", "unit_id", "opd", "official", "tg", "started_at", "alerts", "late",
                                     "acked_at", "acked_by", "ack_ms", "escalated_at", "escalation", "closed_at",
                                     "closed_by", "verdict", "note")}
        v["known"] = inc["unit_id"] in self.c.board.static
        return v

    def journal(self, limit: int = 200) -> list[dict[str, Any]]:
        return [self._view(dict(r)) for r in self.conn.execute(
            "SELECT * FROM console_emergencies ORDER BY id DESC LIMIT ?", (limit,))]
