"""The seam the desk voice engine (htcc.desk) plugs into: binary frames and talk./listen./rec. messages reach
``app.state.audio``; a browser that disconnects mid-talk is reported to it (on_ws_close) and the server keeps
serving; everything else stays with the console. A real server and a real WebSocket client."""
import asyncio
import json

import pytest
import websockets

from fixtures.console import seed_registry, wait_until
from htcc.console.settings import Settings

pytestmark = pytest.mark.sim


class RecordingAudio:
    def __init__(self):
        self.calls = []

    async def on_ws_open(self, session, send_json, send_bytes):
        self.calls.append(("open", session.operator))
        await send_json({"t": "talk.ready"})
        await send_bytes(b"\x01\x02")

    async def on_ws_json(self, session, msg):
        self.calls.append(("json", msg["t"]))

    async def on_ws_bytes(self, session, data):
        self.calls.append(("bytes", len(data)))

    async def on_ws_close(self, session):
        self.calls.append(("close", session.operator))


def test_audio_messages_reach_the_plugged_handler(tmp_path, console_server):
    audio = RecordingAudio()
    srv = console_server(Settings(registry=str(seed_registry(tmp_path / "r.sqlite")), broker_port=1),
                         setup=lambda app: setattr(app.state, "audio", audio))
    token, _ = srv.call(lambda: srv.app.state.console.store.new_session("budi", 1))
    url = srv.url.replace("http", "ws") + "/ws"

    async def browser():
        got = []
        async with websockets.connect(url, additional_headers={"Cookie": "htcc_session=" + token},
                                      max_size=None) as ws:
            for _ in range(3):
                got.append(await asyncio.wait_for(ws.recv(), 30))
            await ws.send(json.dumps({"t": "talk.start", "tg": "1"}))
            await ws.send(bytes(320))                      # 20 ms of 8 kHz PCM
            await ws.send(json.dumps({"t": "listen.set", "tgs": ["1"]}))
            await ws.send(json.dumps({"t": "nonsense"}))
            await ws.send("{not json")
            err = [json.loads(await asyncio.wait_for(ws.recv(), 30)) for _ in range(2)]
            # gone mid-talk, without a goodbye
            ws.transport.abort()
        return got, err
    got, err = asyncio.run(browser())
    kinds = [json.loads(g)["t"] if isinstance(g, str) else "binary" for g in got]
    assert set(kinds) == {"hello", "talk.ready", "binary"}
    assert [e["t"] for e in err] == ["error", "error"] and err[0]["for"] == "nonsense"
    wait_until(lambda: ("close", "budi") in audio.calls, 30, what="on_ws_close after the browser vanished")
    assert audio.calls[:4] == [("open", "budi"), ("json", "talk.start"), ("bytes", 320), ("json", "listen.set")]
    assert srv.call(lambda: len(srv.app.state.hub.sessions)) == 0
    assert srv.call(lambda: srv.app.state.hub.bad_from_browsers) == 2

    # and the server still serves the next browser
    async def again():
        async with websockets.connect(url, additional_headers={"Cookie": "htcc_session=" + token}) as ws:
            return json.loads(await asyncio.wait_for(ws.recv(), 30))["t"]
    assert asyncio.run(again()) == "hello"


def test_without_a_desk_engine_audio_messages_get_a_clear_error(tmp_path, console_server):
    srv = console_server(Settings(registry=str(seed_registry(tmp_path / "r.sqlite")), broker_port=1, desk=False))
    token, _ = srv.call(lambda: srv.app.state.console.store.new_session("budi", 1))

    async def go():
        async with websockets.connect(srv.url.replace("http", "ws") + "/ws",
                                      additional_headers={"Cookie": "htcc_session=" + token}) as ws:
            await asyncio.wait_for(ws.recv(), 30)
            await ws.send(json.dumps({"t": "talk.start"}))
            while True:     # the server's own news (the broker connection's state, units) may come first
                m = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if m["t"] not in ("broker", "units", "opds", "bad", "audit"):
                    return m
    e = asyncio.run(go())
    assert e["t"] == "error" and "no desk audio" in e["what"]


def test_websocket_from_another_site_is_refused(tmp_path, console_server):
    srv = console_server(Settings(registry=str(seed_registry(tmp_path / "r.sqlite")), broker_port=1))
    token, _ = srv.call(lambda: srv.app.state.console.store.new_session("budi", 1))

    async def go():
        async with websockets.connect(srv.url.replace("http", "ws") + "/ws", origin="http://evil.example",
                                      additional_headers={"Cookie": "htcc_session=" + token}) as ws:
            await ws.recv()
    with pytest.raises(websockets.exceptions.InvalidStatus):
        asyncio.run(go())
