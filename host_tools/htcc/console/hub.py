"""The one authenticated WebSocket per browser tab, and what the server pushes through it.

Messages are JSON text ``{"t": "<type>", ...}``. Binary frames are reserved for audio: every binary frame,
and every JSON message whose type starts with ``talk.``, ``listen.`` or ``rec.``, goes to the pluggable audio
handler on ``app.state.audio`` (None until the desk engine registers one) with this interface::

    class AudioHandler:
        async def on_ws_open(self, session, send_json, send_bytes): ...   # a browser connected
        async def on_ws_json(self, session, msg: dict): ...               # {"t": "talk.start", ...}
        async def on_ws_bytes(self, session, data: bytes): ...            # microphone PCM etc.
        async def on_ws_close(self, session): ...                         # it went away (even mid-talk)

``session`` is a :class:`WsSession` (``.operator``, ``.role``, ``.lang``, ``.id``; ``send_json``/``send_bytes``
coroutines that never raise on a closed socket). To reach every logged-in browser:
``app.state.hub.broadcast({"t": "...", ...})`` (synchronous: queues to each socket; a slow browser's queue is
bounded and it is dropped, never the server).
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
from typing import Any

log = logging.getLogger("htcc.console.hub")

AUDIO_PREFIXES = ("talk.", "listen.", "rec.")
QUEUE_MAX = 2000          # messages waiting for one browser before it is considered dead and closed
MAX_JSON = 64 * 1024      # a JSON message from a browser larger than this is refused
_ids = itertools.count(1)


class WsSession:
    def __init__(self, ws, operator: str, role: str, lang: str):
        self.ws = ws
        self.id = next(_ids)
        self.operator = operator
        self.role = role
        self.lang = lang
        self.q: asyncio.Queue = asyncio.Queue()
        self.closed = False

    def push(self, msg: Any) -> None:
        if self.closed:
            return
        if self.q.qsize() >= QUEUE_MAX:
            self.closed = True
            log.warning("browser of %s falls behind (%d messages queued): closing it", self.operator, QUEUE_MAX)
            self.q.put_nowait(None)
            return
        self.q.put_nowait(msg)

    async def send_json(self, msg: dict) -> None:
        self.push(msg)

    async def send_bytes(self, data: bytes) -> None:
        self.push(bytes(data))


class Hub:
    def __init__(self, app):
        self.app = app
        self.sessions: dict[int, WsSession] = {}
        self.handlers: dict[str, Any] = {}      # type -> async fn(session, msg) for the console's own messages
        self.bad_from_browsers = 0

    def on(self, t: str, fn) -> None:
        self.handlers[t] = fn

    def broadcast(self, msg: dict, role: str | None = None) -> None:
        """Send a JSON message to every logged-in browser (only supervisors with role="supervisor")."""
        text = json.dumps(msg, separators=(",", ":"))
        for s in list(self.sessions.values()):
            if role is None or s.role == role:
                s.push(text)

    def drop_ended(self, alive) -> None:
        """Close the sockets whose login ended (logout, expiry, operator disabled): alive(token_hash) -> bool."""
        for s in list(self.sessions.values()):
            if s.token_hash and not alive(s.token_hash):
                s.closed = True
                s.q.put_nowait(None)

    async def serve(self, ws, sess: dict) -> None:
        """Run one browser's socket (already accepted and authenticated by the app)."""
        s = WsSession(ws, sess["operator"], sess["role"], sess.get("lang", "id"))
        s.token_hash = sess.get("token_hash")
        self.sessions[s.id] = s
        writer = asyncio.ensure_future(self._writer(s))
        audio = getattr(self.app.state, "audio", None)
        try:
            hello = self.app.state.console.hello(s)
            s.push(json.dumps(hello, separators=(",", ":")))
            if audio is not None:
                await audio.on_ws_open(s, s.send_json, s.send_bytes)
            while not s.closed:
                m = await ws.receive()
                if m["type"] == "websocket.disconnect":
                    break
                if m.get("bytes") is not None:
                    audio = getattr(self.app.state, "audio", None)
                    if audio is not None:
                        await audio.on_ws_bytes(s, m["bytes"])
                    continue
                await self._on_text(s, m.get("text") or "")
        except Exception as e:   # a browser's socket dying mid-anything must not take the server down
            if type(e).__name__ not in ("WebSocketDisconnect", "ClientDisconnected", "ConnectionClosed"):
                log.exception("websocket of %s failed", s.operator)
        finally:
            s.closed = True
            self.sessions.pop(s.id, None)
            s.q.put_nowait(None)
            audio = getattr(self.app.state, "audio", None)
            if audio is not None:
                try:
                    await audio.on_ws_close(s)
                except Exception:
                    log.exception("audio handler's on_ws_close failed")
            writer.cancel()

    async def _on_text(self, s: WsSession, text: str) -> None:
        if len(text) > MAX_JSON:
            self.bad_from_browsers += 1
            s.push({"t": "error", "what": "message too large"})
            return
        try:
            msg = json.loads(text)
            t = msg["t"]
            if not isinstance(t, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            self.bad_from_browsers += 1
            s.push({"t": "error", "what": "not a console message"})
            return
        if t.startswith(AUDIO_PREFIXES):
            audio = getattr(self.app.state, "audio", None)
            if audio is None:
                s.push({"t": "error", "what": "no desk audio on this server", "for": t})
                return
            await audio.on_ws_json(s, msg)
            return
        fn = self.handlers.get(t)
        if fn is None:
            self.bad_from_browsers += 1
            s.push({"t": "error", "what": "unknown message type", "for": t})
            return
        try:
            await fn(s, msg)
        except ValueError as e:
            s.push({"t": "error", "what": str(e), "for": t})

    async def _writer(self, s: WsSession) -> None:
        try:
            while True:
                m = await s.q.get()
                if m is None:
                    break
                if isinstance(m, bytes):
                    await s.ws.send_bytes(m)
                elif isinstance(m, str):
                    await s.ws.send_text(m)
                else:
                    await s.ws.send_text(json.dumps(m, separators=(",", ":")))
        except Exception:
            s.closed = True
        if s.closed:
            try:
                await s.ws.close(code=4401)
            except Exception:
                pass
