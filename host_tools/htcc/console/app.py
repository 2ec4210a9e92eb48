"""The console web app: ``create_app(settings) -> Starlette``.

Every page, API and the WebSocket need a login (the login page and /static are the only exceptions).
Sessions are a random cookie (HttpOnly, SameSite=Strict; Secure behind HTTPS) whose SHA-256 is kept in the
registry; every POST carries the session's CSRF token (form field ``csrf`` or header ``X-CSRF-Token``), and
the WebSocket checks that the page that opens it came from this server (Origin = Host).

The seam with the desk voice engine (``htcc.desk``), all on ``app.state``:
  ``bus``      the ONE MQTT connection (htcc.console.bus.Bus: subscribe(filter, cb), publish, publish_nowait)
  ``hub``      the WebSocket hub (htcc.console.hub.Hub: broadcast(msg)); audio goes to ``audio``
  ``audio``    None, or the desk's handler (on_ws_open/on_ws_json/on_ws_bytes/on_ws_close; see hub.py)
  ``audit``    ``app.state.audit.record(operator, action, detail)``, append-only
  ``console``  the live core (board, alarms, roll calls); ``settings`` the Settings
  ``startup``, ``shutdown``   lists of ``async fn(app)`` run after the console starts / before it stops
  ``extra_routes``            the desk may ``app.router.routes.append(...)`` before serving; pages it adds
                              call ``require_page(request)`` / ``require_api(request)`` from here
Templates extend ``base.html``: its ``{% block desk_audio %}`` sits in ``<section id="desk-audio">`` on every
page, and ``{% block nav_recordings %}`` is the nav slot for "Rekaman / Recordings".
"""
from __future__ import annotations

import contextlib
import csv
import hmac
import io
import json
import logging
import pathlib
import secrets
import time
import urllib.parse

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.websockets import WebSocket

from . import texts
from .core import Console
from .hub import Hub
from .settings import Settings

log = logging.getLogger("htcc.console.app")

HERE = pathlib.Path(__file__).parent
COOKIE = "htcc_session"
FAIL_LIMIT, FAIL_WINDOW_S = 10, 300   # 10 wrong passwords from one address in 5 minutes: wait
PRE_COOKIE = "htcc_login"


class NeedLogin(Exception):
    pass


def _session(request) -> dict | None:
    c = request.app.state.console
    return c.store.session(request.cookies.get(COOKIE))


def require_page(request: Request, role: str | None = None) -> dict:
    s = _session(request)
    if s is None:
        raise NeedLogin()
    if role and s["role"] != role:
        raise HTTPException(403, texts.text("forbidden", s["lang"]))
    return s


def require_api(request: Request, role: str | None = None, csrf: bool | None = None) -> dict:
    s = _session(request)
    if s is None:
        raise HTTPException(401, "login required")
    if role and s["role"] != role:
        raise HTTPException(403, "supervisor only")
    if csrf is None:
        csrf = request.method not in ("GET", "HEAD")
    if csrf:
        check_csrf(request, s)
    return s


def check_csrf(request: Request, s: dict, form_token: str | None = None) -> None:
    token = request.headers.get("x-csrf-token") or form_token or ""
    if not hmac.compare_digest(token.encode(), s["csrf"].encode()):
        raise HTTPException(403, "CSRF token missing or wrong")
    _check_origin(request)


def _check_origin(request) -> None:
    origin = request.headers.get("origin")
    if origin and origin != "null":
        if urllib.parse.urlsplit(origin).netloc != request.headers.get("host"):
            raise HTTPException(403, "cross-site request refused")


def _safe_next(n: str | None) -> str:
    return n if n and n.startswith("/") and not n.startswith("//") else "/"


def create_app(settings: Settings) -> Starlette:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    failures: dict[str, list[float]] = {}      # client address -> times of recent failed logins

    def render(request, name, s, **ctx):
        lang = s["lang"] if s else settings.lang
        ctx.update(request=request, s=s, lang=lang, t=lambda k: texts.text(k, lang),
                   texts_json=json.dumps(texts.table(lang)), fleet=request.app.state.console.fleet)
        return templates.TemplateResponse(request, name, ctx)

    # ---- login ---------------------------------------------------------------------------------------
    async def login_page(request: Request):
        pre = secrets.token_urlsafe(16)
        r = render(request, "login.html", None, pre=pre, error=request.query_params.get("e"),
                   next=_safe_next(request.query_params.get("next")))
        r.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="strict", secure=settings.secure_cookies)
        return r

    async def login_post(request: Request):
        form = await request.form()
        c = request.app.state.console
        name, pw = str(form.get("name", ""))[:64], str(form.get("password", ""))[:256]
        nxt = _safe_next(str(form.get("next", "/")))
        pre = request.cookies.get(PRE_COOKIE, "")
        if not pre or not hmac.compare_digest(pre.encode(), str(form.get("pre", "")).encode()):
            return RedirectResponse("/login?e=csrf", 303)
        ip = request.client.host if request.client else "?"
        now = time.monotonic()
        fails = [t for t in failures.get(ip, []) if now - t < FAIL_WINDOW_S]
        failures[ip] = fails
        if len(fails) >= FAIL_LIMIT:
            c.audit.record(name or "?", "login.refused", {"from": ip, "why": "too many failed logins"})
            return PlainTextResponse(texts.text("too_many", settings.lang), 429)
        u = c.store.check_login(name, pw)
        if u is None:
            fails.append(now)
            c.audit.record(name or "?", "login.failed", {"from": ip})
            return RedirectResponse("/login?e=1&next=" + urllib.parse.quote(nxt), 303)
        failures.pop(ip, None)
        lang = str(form.get("lang") or settings.lang)
        token, _ = c.store.new_session(u["name"], settings.session_hours, lang if lang in texts.LANGS else "id")
        c.audit.record(u["name"], "login", {"role": u["role"]})
        r = RedirectResponse(nxt, 303)
        r.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=settings.secure_cookies,
                     max_age=int(settings.session_hours * 3600))
        r.delete_cookie(PRE_COOKIE)
        return r

    async def logout(request: Request):
        s = _session(request)
        if s is not None:
            form = await request.form()
            check_csrf(request, s, str(form.get("csrf", "")))
            request.app.state.console.audit.record(s["operator"], "logout", {})
            request.app.state.console.store.end_session(request.cookies.get(COOKIE))
        r = RedirectResponse("/login", 303)
        r.delete_cookie(COOKIE)
        return r

    async def set_lang(request: Request):
        s = require_page(request)
        form = await request.form()
        check_csrf(request, s, str(form.get("csrf", "")))
        lang = str(form.get("lang", "id"))
        if lang not in texts.LANGS:
            raise HTTPException(400, "language must be id or en")
        request.app.state.console.store.set_session_lang(request.cookies.get(COOKIE), lang)
        return RedirectResponse(_safe_next(str(form.get("next", "/"))), 303)

    # ---- pages ---------------------------------------------------------------------------------------
    async def board_page(request: Request):
        s = require_page(request)
        return render(request, "board.html", s, page="board")

    async def api_board(request: Request):
        require_api(request)
        return JSONResponse(request.app.state.console.board.snapshot())

    async def api_me(request: Request):
        s = require_api(request)
        return JSONResponse({"operator": s["operator"], "role": s["role"], "lang": s["lang"]})

    # ---- WebSocket -----------------------------------------------------------------------------------
    async def ws_endpoint(ws: WebSocket):
        c = ws.app.state.console
        s = c.store.session(ws.cookies.get(COOKIE))
        origin = ws.headers.get("origin")
        if s is None or (origin and urllib.parse.urlsplit(origin).netloc != ws.headers.get("host")):
            await ws.close(code=4401)      # before accept: the browser sees the handshake refused (403)
            return
        await ws.accept()
        await ws.app.state.hub.serve(ws, s)

    # ---- errors --------------------------------------------------------------------------------------
    async def need_login(request: Request, exc: NeedLogin):
        return RedirectResponse("/login?next=" + urllib.parse.quote(request.url.path), 303)

    async def http_error(request: Request, exc: HTTPException):
        if request.url.path.startswith("/api/") or request.method != "GET":
            return JSONResponse({"error": exc.detail}, exc.status_code)
        return PlainTextResponse(str(exc.detail), exc.status_code)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await app.state.console.start()
        for fn in app.state.startup:
            await fn(app)
        try:
            yield
        finally:
            for fn in app.state.shutdown:
                await fn(app)
            await app.state.console.stop()

    routes = [
        Route("/login", login_page, methods=["GET"]), Route("/login", login_post, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]), Route("/lang", set_lang, methods=["POST"]),
        Route("/", board_page), Route("/api/board", api_board), Route("/api/me", api_me),
        WebSocketRoute("/ws", ws_endpoint),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={NeedLogin: need_login, HTTPException: http_error})
    app.state.settings = settings
    app.state.templates = templates
    app.state.render = render
    app.state.hub = Hub(app)
    app.state.audio = None
    app.state.startup = []
    app.state.shutdown = []
    console = Console(settings, app)
    app.state.console = console
    app.state.bus = console.bus
    app.state.audit = console.audit
    from . import pages
    pages.install(app)
    if settings.desk:
        from htcc.desk import web as desk_web      # talk, listen and the recorder (htcc.desk)
        desk_web.install(app)
    return app


def csv_response(rows: list[list], filename: str) -> Response:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return Response(buf.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="%s"' % filename})
