"""The desk's side of the console's WebSocket (docs/DESK.md): talk, listen and recordings.

The console's hub owns the one authenticated WebSocket per browser and hands this object what is ours:
binary frames and JSON messages whose type starts with ``talk.``, ``listen.`` or ``rec.``.

    app.state.audio = DeskAudio(desk_service, audit=audit_fn)
    await audio.on_ws_open(session, send_json, send_bytes) / on_ws_json(session, msg) / on_ws_bytes(session, data)
    await audio.on_ws_close(session)

Binary frames (little-endian, one byte of kind first):
  browser -> server  0x01 MIC     then PCM16LE mono 8 kHz samples (any whole number; ~20 ms per frame)
  server -> browser  0x02 AUDIO   then 1 byte n, n bytes talkgroup name (UTF-8), 1 pad byte when n is odd
                                  (so the samples start at an even offset), then PCM16LE mono 8 kHz (one
                                  playout period, 20 ms)

Each browser gets its own bounded send queue and writer task: a slow browser loses audio periods (counted),
never JSON messages, and never holds up the engine or the other browsers.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ht.radio.feedback import CUES as RADIO_CUES
from htcc.desk.engine import CUES as DESK_CUES
from htcc.desk.service import DeskService

log = logging.getLogger("htcc.desk")

MIC = 0x01
AUDIO = 0x02
_QUEUE_AUDIO = 25           # periods (0.5 s) of audio a browser may lag before its oldest are dropped
_MAX_MIC = 8000             # bytes in one mic frame (0.5 s); more is not a browser of ours


def audio_frame(tg: str, pcm: bytes) -> bytes:
    name = tg.encode()[:255]
    pad = b"\x00" if len(name) % 2 else b""      # the samples start at an even offset
    return bytes((AUDIO, len(name))) + name + pad + pcm


def cue_table() -> dict[str, Any]:
    """The radio's own tones and meanings for the cues the desk sounds (ht.radio.feedback)."""
    out = {}
    for name in set(DESK_CUES.values()):
        c = RADIO_CUES.get(name)
        if c:
            out[name] = {"tones": [list(s) for s in c[0]], "en": c[3], "id": c[4]}
    return out


def operator_of(session: Any) -> str:
    for k in ("operator", "user", "username", "name"):
        v = session.get(k) if isinstance(session, dict) else getattr(session, k, None)
        if isinstance(v, str) and v:
            return v
        if isinstance(v, dict) and v.get("name"):
            return str(v["name"])
    return "?"


def role_of(session: Any) -> str:
    v = session.get("role") if isinstance(session, dict) else getattr(session, "role", None)
    return str(v or "operator")


class Browser:
    def __init__(self, session: Any, send_json: Callable[[dict], Awaitable[Any]],
                 send_bytes: Callable[[bytes], Awaitable[Any]]) -> None:
        self.session = session
        self.operator = operator_of(session)
        self.role = role_of(session)
        self.send_json = send_json
        self.send_bytes = send_bytes
        self.tgs: set[str] = set()
        self.selected: str | None = None
        self.q: asyncio.Queue = asyncio.Queue()
        self.audio_queued = 0
        self.dropped = 0
        self.task: asyncio.Task | None = None

    def put_json(self, msg: dict) -> None:
        self.q.put_nowait(("j", msg))

    def put_audio(self, frame: bytes) -> None:
        # The hub's own queue for this browser counts too (its send_bytes only queues): a browser that falls
        # behind loses audio periods here, long before the hub would close it for lagging.
        hub_q = getattr(self.session, "q", None)
        if self.audio_queued >= _QUEUE_AUDIO or (hub_q is not None and hub_q.qsize() >= 2 * _QUEUE_AUDIO):
            self.dropped += 1
            return
        self.audio_queued += 1
        self.q.put_nowait(("b", frame))

    async def writer(self) -> None:
        while True:
            kind, item = await self.q.get()
            try:
                if kind == "b":
                    self.audio_queued -= 1
                    await self.send_bytes(item)
                else:
                    await self.send_json(item)
            except Exception:      # the socket is closing: the hub calls on_ws_close
                return


class DeskAudio:
    def __init__(self, desk: DeskService, audit: Callable[..., Any] | None = None,
                 broadcast: Callable[[dict], Any] | None = None, recordings_url: str = "/recordings/") -> None:
        self.desk = desk
        self.engine = desk.engine
        self.recorder = desk.recorder
        self.audit = audit
        self.broadcast_hook = broadcast
        # server-side listeners of emergency bursts (e.g. the console's alarm journal): fn(row with its url)
        self.emergency_listeners: list[Callable[[dict], Any]] = []
        self.recordings_url = recordings_url
        self.browsers: dict[int, Browser] = {}
        self.engine.on_event = self._on_event
        self.engine.on_audio = self._on_audio
        self.recorder.on_recording = self._on_recording
        self.recorder.on_error = self._on_rec_error
        self.cues = cue_table()

    # ---- the hub's interface ---------------------------------------------------------------------------
    async def on_ws_open(self, session: Any, send_json: Callable[[dict], Awaitable[Any]],
                         send_bytes: Callable[[bytes], Awaitable[Any]]) -> None:
        b = Browser(session, send_json, send_bytes)
        self.browsers[id(session)] = b
        b.task = asyncio.create_task(b.writer())
        self._hello(b)

    async def _m_listen_hello(self, b: Browser, msg: dict) -> None:
        self._hello(b)

    def _hello(self, b: Browser) -> None:
        b.put_json({"t": "listen.hello", "talkgroups": self.engine.talkgroups, "floors": self.engine.floor_state(),
                    "cues": self.cues, "unit": self.engine.unit, "recorder": self.recorder.status(),
                    "recordings_url": self.recordings_url, "operator": b.operator, "role": b.role,
                    "last": self._last_per_tg(),
                    # recent emergency bursts: an open alarm's hot-mic audio, playable at once after a reload
                    "emergencies": [self._row(r) for r in self.recorder.search(
                        emergency=True, since_ms=self.recorder.wall_ms() - 24 * 3600 * 1000, limit=50)][::-1]})

    async def on_ws_close(self, session: Any) -> None:
        b = self.browsers.pop(id(session), None)
        if b is None:
            return
        if self.engine.owner == id(session):
            # a browser that disconnects mid-talk: the floor is given back at once, not left to the lease
            self.engine.release(id(session))
            log.warning("desk: %s's browser left while talking; floor released", b.operator)
            self._audit(b, "talk_abandoned", {"why": "browser disconnected"})
        if b.task is not None:
            b.task.cancel()

    async def on_ws_bytes(self, session: Any, data: bytes) -> None:
        if not data or data[0] != MIC or len(data) > _MAX_MIC + 1:
            return
        self.engine.mic(id(session), bytes(data[1:]))

    async def on_ws_json(self, session: Any, msg: dict) -> None:
        b = self.browsers.get(id(session))
        if b is None:
            return
        t = msg.get("t")
        try:
            h = getattr(self, "_m_" + str(t).replace(".", "_"), None)
            if h is None:
                b.put_json({"t": "rec.error" if str(t).startswith("rec.") else "talk.error",
                            "error": "pesan tidak dikenal / unknown message: %s" % t})
                return
            await h(b, msg)
        except (ValueError, TypeError, KeyError) as e:
            b.put_json({"t": "talk.error", "error": "permintaan salah / bad request: %s" % e})

    def _last_per_tg(self) -> dict:
        out = {}
        for tg in self.engine.talkgroups:
            rows = self.recorder.search(talkgroup=tg, limit=1)
            if rows:
                out[tg] = self._row(rows[0])
        return out

    # ---- talk -------------------------------------------------------------------------------------------
    async def _m_talk_press(self, b: Browser, msg: dict) -> None:
        tg = str(msg.get("tg", ""))
        why = self.engine.press(tg, id(b.session))
        if why is not None:
            holder = self._holder_name()
            b.put_json({"t": "talk.refused", "tg": tg, "why": why, "by": holder})
            return
        self._audit(b, "talk", {"tg": tg})

    async def _m_talk_release(self, b: Browser, msg: dict) -> None:
        self.engine.release(id(b.session))

    def _holder_name(self) -> str | None:
        for x in self.browsers.values():
            if id(x.session) == self.engine.owner:
                return x.operator
        return None

    # ---- listen -----------------------------------------------------------------------------------------
    async def _m_listen_set(self, b: Browser, msg: dict) -> None:
        tgs = msg.get("tgs") or []
        if not isinstance(tgs, list):
            raise ValueError("tgs must be a list")
        b.tgs = {str(t) for t in tgs if str(t) in self.engine.ptts}
        sel = msg.get("selected")
        b.selected = str(sel) if sel is not None else None
        b.put_json({"t": "listen.set", "tgs": sorted(b.tgs), "selected": b.selected})

    # ---- recordings -------------------------------------------------------------------------------------
    async def _m_rec_search(self, b: Browser, msg: dict) -> None:
        def num(k):
            v = msg.get(k)
            return int(v) if v not in (None, "") else None
        em = msg.get("emergency")
        rows = self.recorder.search(unit=msg.get("unit") or None, opd=msg.get("opd") or None,
                                    talkgroup=msg.get("tg") or None, since_ms=num("since_ms"),
                                    until_ms=num("until_ms"), emergency=True if em else None,
                                    limit=num("limit") or 200)
        b.put_json({"t": "rec.results", "q": msg.get("q"), "rows": [self._row(r) for r in rows],
                    "status": self.recorder.status()})

    async def _m_rec_keep(self, b: Browser, msg: dict) -> None:
        rid, keep = int(msg["id"]), bool(msg.get("keep"))
        if not self.recorder.set_keep(rid, keep):
            b.put_json({"t": "rec.error", "error": "rekaman tidak ada / no such recording: %s" % rid})
            return
        self._audit(b, "recording_keep", {"id": rid, "keep": keep})
        self._to_all({"t": "rec.keep", "id": rid, "keep": keep})

    async def _m_rec_retention(self, b: Browser, msg: dict) -> None:
        if b.role != "supervisor":
            b.put_json({"t": "rec.error", "error": "hanya supervisor / supervisors only"})
            return
        days = int(msg["days"])
        self.recorder.set_retention_days(days)
        self._audit(b, "recording_retention", {"days": days})
        removed = self.recorder.purge()
        self._to_all({"t": "rec.status", "status": self.recorder.status(), "removed": removed})

    async def _m_rec_status(self, b: Browser, msg: dict) -> None:
        b.put_json({"t": "rec.status", "status": self.recorder.status()})

    async def _m_rec_played(self, b: Browser, msg: dict) -> None:
        self._audit(b, "recording_play", {"id": int(msg["id"])})

    def _row(self, r: dict) -> dict:
        d = dict(r)
        d["url"] = "%s%d.wav" % (self.recordings_url, r["id"])
        return d

    # ---- engine and recorder callbacks (sync; queue per browser) ------------------------------------------
    def _on_event(self, kind: str, d: dict) -> None:
        msg = dict(d)
        msg["t"] = kind
        owner = msg.pop("owner", None)
        if kind in ("talk.cue", "talk.state"):
            for b in self.browsers.values():
                if id(b.session) == owner:
                    b.put_json(msg)
            return
        if kind in ("talk.on", "talk.off"):
            msg["operator"] = next((b.operator for b in self.browsers.values() if id(b.session) == owner), None)
            for b in self.browsers.values():
                m = dict(msg)
                m["mine"] = id(b.session) == owner
                b.put_json(m)
            return
        self._to_all(msg)

    def _on_audio(self, tg: str, pcm: bytes, info: dict) -> None:
        frame = None
        for b in self.browsers.values():
            if tg in b.tgs:
                if frame is None:
                    frame = audio_frame(tg, pcm)
                b.put_audio(frame)

    def _on_recording(self, row: dict) -> None:
        msg = {"t": "rec.new", "row": self._row(row)}
        self._to_all(msg)
        if row.get("emergency"):
            for fn in list(self.emergency_listeners):
                try:
                    fn(self._row(row))
                except Exception:
                    log.exception("desk: emergency recording listener failed")

    def _on_rec_error(self, err: dict) -> None:
        self._to_all({"t": "rec.error", "error": err["message"], "disk_full": err.get("disk_full")})

    def _to_all(self, msg: dict) -> None:
        for b in self.browsers.values():
            b.put_json(dict(msg))

    def _audit(self, b: Browser, action: str, detail: dict) -> None:
        if self.audit is None:
            return
        try:
            self.audit(b.operator, action, detail)
        except Exception:
            log.exception("desk: audit failed for %s", action)

    def latest_emergency(self, unit: str) -> dict | None:
        """The newest emergency burst of `unit` (its hot-mic audio) for the alarm, with its URL; None yet."""
        rows = self.recorder.search(unit=unit, emergency=True, limit=1)
        return self._row(rows[0]) if rows else None
