"""Pages and APIs beyond the board: roll call (live, history, CSV, printable, schedules), the emergency
journal (acknowledge, close), the audit log and the operators list (supervisors only).

Actions are JSON POSTs with the session's CSRF token in ``X-CSRF-Token``; each is written to the audit log.
Bad input gets HTTP 400 with ``{"error": "<what is wrong>"}`` and changes nothing.
"""
from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from htctl import i18n

from . import texts


async def _body(request: Request) -> dict:
    raw = await request.body()
    if len(raw) > 16384:
        raise HTTPException(400, "request too large")
    try:
        d = json.loads(raw or b"{}")
    except ValueError:
        raise HTTPException(400, "request body is not JSON")
    if not isinstance(d, dict):
        raise HTTPException(400, "request body must be a JSON object")
    return d


def _int(d: dict, key: str, default=None) -> int:
    v = d.get(key, default)
    try:
        if isinstance(v, bool):
            raise ValueError
        return int(v)
    except (TypeError, ValueError):
        raise HTTPException(400, "%s must be a whole number" % key)


def _wib(iso: str | None) -> str:
    """'2026-12-07 08:00:05 WIB' for spreadsheets read in Indonesia."""
    return i18n.wib(iso).strftime("%Y-%m-%d %H:%M:%S WIB") if iso else ""


def install(app) -> None:
    from .app import csv_response, require_api, require_page

    def render(request, name, s, **kw):
        return app.state.render(request, name, s, **kw)

    def c(request):
        return request.app.state.console

    def guard(fn):
        async def inner(request: Request):
            try:
                return await fn(request)
            except LookupError as e:
                raise HTTPException(404, str(e.args[0] if e.args else e))
            except ValueError as e:
                raise HTTPException(400, str(e))
        return inner

    # ---- roll call -----------------------------------------------------------------------------------
    async def rollcall_page(request: Request):
        s = require_page(request)
        con = c(request)
        board = con.board
        opds = sorted({r["opd"] for r in board.rows.values() if r["opd"]})
        tgs = sorted({t for r in board.static.values() for t in r.get("talkgroups", [])})
        return render(request, "rollcall.html", s, page="rollcall", opds=opds, tgs=tgs,
                      history=con.rollcalls.history(), schedules=con.rollcalls.schedules())

    async def rollcall_start(request: Request):
        s = require_api(request)
        d = await _body(request)
        rc = c(request).rollcalls.begin(s["operator"], str(d.get("scope", "all")), _int(d, "deadline_s", 60))
        return JSONResponse(rc)

    async def rollcall_get(request: Request):
        require_api(request)
        return JSONResponse(c(request).rollcalls.detail(request.path_params["rc"]))

    async def rollcall_print(request: Request):
        s = require_page(request)
        try:
            rc = c(request).rollcalls.detail(request.path_params["rc"])
        except LookupError as e:
            raise HTTPException(404, str(e))
        c(request).audit.record(s["operator"], "rollcall.print", {"id": rc["id"]})
        return render(request, "rollcall_print.html", s, page="rollcall", rc=rc)

    async def rollcall_csv(request: Request):
        s = require_page(request)
        try:
            rc = c(request).rollcalls.detail(request.path_params["rc"])
        except LookupError as e:
            raise HTTPException(404, str(e))
        c(request).audit.record(s["operator"], "rollcall.export", {"id": rc["id"], "format": "csv"})
        rows = [["rollcall", "started_at_utc", "started_by", "scope", "deadline_s", "unit", "official", "opd",
                 "status", "answer_ms", "answered_at_utc", "started_wib", "answered_wib"]]
        for r in rc["rows"]:
            rows.append([rc["id"], rc["started_at"], rc["started_by"], rc["scope"], rc["deadline_s"], r["unit"],
                         r["official"] or "", r["opd"] or "", r["status"], "" if r["ms"] is None else r["ms"],
                         r["at"] or "", _wib(rc["started_at"]), _wib(r["at"])])
        return csv_response(rows, "%s.csv" % rc["id"])

    async def schedule_add(request: Request):
        s = require_api(request, role="supervisor")
        d = await _body(request)
        sch = c(request).rollcalls.add_schedule(s["operator"], str(d.get("days", "")), str(d.get("at_wib", "")),
                                                str(d.get("scope", "all")), _int(d, "deadline_s", 120))
        return JSONResponse(sch)

    async def schedule_remove(request: Request):
        s = require_api(request, role="supervisor")
        c(request).rollcalls.remove_schedule(s["operator"], int(request.path_params["sid"]))
        return JSONResponse({"ok": True})

    # ---- emergencies ---------------------------------------------------------------------------------
    async def emergencies_page(request: Request):
        s = require_page(request)
        return render(request, "emergencies.html", s, page="emergencies", journal=c(request).alarms.journal())

    async def emergencies_api(request: Request):
        require_api(request)
        return JSONResponse(c(request).alarms.journal())

    async def emergency_ack(request: Request):
        s = require_api(request)
        return JSONResponse(c(request).alarms._view(c(request).alarms.ack(int(request.path_params["iid"]),
                                                                          s["operator"])))

    async def emergency_ack_unit(request: Request):
        s = require_api(request)
        return JSONResponse(c(request).alarms._view(c(request).alarms.ack_unit(request.path_params["unit"],
                                                                               s["operator"])))

    async def emergency_close(request: Request):
        s = require_api(request)
        d = await _body(request)
        inc = c(request).alarms.close(int(request.path_params["iid"]), s["operator"], str(d.get("verdict", "")),
                                      str(d.get("note", "")))
        return JSONResponse(c(request).alarms._view(inc))

    # ---- audit, operators ----------------------------------------------------------------------------
    async def audit_page(request: Request):
        s = require_page(request, role="supervisor")
        return render(request, "audit.html", s, page="audit", rows=c(request).store.audit_log(limit=500))

    async def audit_api(request: Request):
        require_api(request, role="supervisor")
        q = request.query_params
        return JSONResponse(c(request).store.audit_log(limit=min(int(q.get("limit", 200) or 200), 5000),
                                                       operator=q.get("operator"), action=q.get("action")))

    async def operators_page(request: Request):
        s = require_page(request, role="supervisor")
        return render(request, "operators.html", s, page="operators", users=c(request).store.users(),
                      hint=texts.text("users_cli", s["lang"]))

    app.router.routes.extend([
        Route("/rollcall", rollcall_page),
        Route("/api/rollcall", guard(rollcall_start), methods=["POST"]),
        Route("/api/rollcall/{rc}", guard(rollcall_get)),
        Route("/rollcall/{rc}/print", rollcall_print),
        Route("/rollcall/{rc}.csv", rollcall_csv),
        Route("/api/schedules", guard(schedule_add), methods=["POST"]),
        Route("/api/schedules/{sid:int}/delete", guard(schedule_remove), methods=["POST"]),
        Route("/emergencies", emergencies_page),
        Route("/api/emergencies", emergencies_api),
        Route("/api/emergency/{iid:int}/ack", guard(emergency_ack), methods=["POST"]),
        Route("/api/emergency/unit/{unit}/ack", guard(emergency_ack_unit), methods=["POST"]),
        Route("/api/emergency/{iid:int}/close", guard(emergency_close), methods=["POST"]),
        Route("/audit", audit_page), Route("/api/audit", audit_api),
        Route("/operators", operators_page),
    ])
