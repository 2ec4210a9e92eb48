"""The desk inside the console web app: ``install(app)`` from ``htcc.console.app.create_app``.

It builds the desk's voice service on the console's one MQTT connection (``app.state.bus``), registers the
WebSocket handler (``app.state.audio``), adds the recordings page, the recording files and the desk's static
files, and makes the desk's templates (the talk and listen panel on every page, the nav link) available.

Recordings live in ``<data_dir>/recordings`` (default: ``console-data`` beside the registry): WAV files and
``recordings.db``. The voice key and fleet come from the registry, the talkgroups from its units (plus all-call).
"""
from __future__ import annotations

import logging
import pathlib

from jinja2 import ChoiceLoader, FileSystemLoader
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from htctl import registry

from .directory import Directory
from .handler import DeskAudio
from .service import DeskService

log = logging.getLogger("htcc.desk")
HERE = pathlib.Path(__file__).parent


def fleet_voice(registry_path: str) -> tuple[bytes | None, list[str]]:
    """(the fleet's voice key, the talkgroups of its units) from the registry."""
    conn = registry.connect(registry_path)
    try:
        key_hex = registry.fleet_config(conn).get("audio.key")
        tgs = sorted({str(t) for u in registry.units(conn) for t in (u.get("talkgroups") or [])},
                     key=lambda t: (not t.isdigit(), int(t) if t.isdigit() else 0, t))
        conn.commit()
    finally:
        conn.close()
    return (bytes.fromhex(key_hex) if key_hex else None), tgs or ["1"]


def install(app, talkgroups: list[str] | None = None, key: bytes | None = None, recorder_kw: dict | None = None):
    from htcc.console.app import require_page

    settings = app.state.settings
    bus = app.state.bus
    reg_key, reg_tgs = fleet_voice(settings.registry)
    data = pathlib.Path(settings.data_dir or pathlib.Path(settings.registry).parent / "console-data")
    desk = DeskService(bus.fleet, key if key is not None else reg_key, talkgroups or reg_tgs, data / "recordings",
                       directory=Directory(settings.registry), unit=bus.user, recorder_kw=recorder_kw)
    desk.attach_bus(bus)
    audit = app.state.audit
    audio = DeskAudio(desk, audit=lambda who, action, detail: audit.record(who, "desk." + action, detail),
                      broadcast=app.state.hub.broadcast, recordings_url="/recordings/")
    app.state.desk = desk
    app.state.audio = audio

    templates = app.state.templates
    templates.env.loader = ChoiceLoader([templates.env.loader, FileSystemLoader(str(HERE / "templates"))])
    templates.env.globals["desk"] = True

    async def recordings_page(request: Request):
        s = require_page(request)
        return app.state.render(request, "desk/recordings.html", s, page="recordings")

    async def recording_file(request: Request):
        require_page(request)
        try:
            rid = int(request.path_params["rid"])
        except ValueError:
            raise HTTPException(404, "no such recording")
        p = desk.recorder.file(rid)
        if p is None or not p.exists():
            raise HTTPException(404, "rekaman tidak ada / no such recording")
        return FileResponse(str(p), media_type="audio/wav")

    app.router.routes[0:0] = [
        Route("/recordings", recordings_page),
        Route("/recordings/{rid}.wav", recording_file),
        Mount("/static/desk", StaticFiles(directory=str(HERE / "static")), name="desk_static"),
    ]

    async def start(app_):
        await desk.start()

    async def stop(app_):
        await desk.stop()

    app.state.startup.append(start)
    app.state.shutdown.insert(0, stop)
    return desk
