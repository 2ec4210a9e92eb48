"""The desk through the console's real WebSocket (no browser): a talk from a socket that vanishes mid-talk gives the
floor back at once (the arbiter's IDLE record says "released", not "expired" after the lease), a second operator
cannot key the desk while the first talks, bad requests get clear answers, retention is for supervisors, and every
talk, keep and retention change is audited. Real Mosquitto with the fleet ACL and the floor arbiters."""
import asyncio
import json
import threading
import time

import pytest
import websockets

from fixtures.console import seed_registry, wait_until
from hal import netstream
from ht.mqtt.robust import RobustClient
from ht.radio import grant as G
from ht.radio import topics as T
from ht.radio.msgtag import Tagger
from htctl import registry
from htcc.console.settings import Settings
from htctl.mosquitto import fleet_rights

pytestmark = pytest.mark.sim
FLEET = "kota"
TAGS = [None]      # the fleet key's Tagger (setup): grants carry its tag
UNITS = [("u01", "Budi Santoso", "Kepala Dinas", "BPBD", ["1"], 55000, 3000, 200)]


def setup(mosquitto, arbiter, console_server, tmp_path):
    users = {"u01": "pw-u01", "cc": "pw-cc", "obs": "pw-obs", "arb-a": "pw-arb-a", "arb-b": "pw-arb-b"}
    m = mosquitto(users=users, acl=fleet_rights(FLEET, {"u01": ["1"]}, command_center=("cc", "obs")))
    reg = seed_registry(tmp_path / "r.sqlite", UNITS)
    conn = registry.connect(str(reg))
    key = bytes.fromhex(registry.fleet_config(conn)["audio.key"])
    conn.close()
    arbiter(m, FLEET, ("1", "all"), key=key)       # floor messages and records carry the fleet key's tag
    TAGS[0] = Tagger(key)
    srv = console_server(Settings(registry=str(reg), broker_port=m.port,
                                  broker_user="cc", broker_password="pw-cc", data_dir=str(tmp_path / "data")))
    wait_until(lambda: srv.call(lambda: srv.app.state.bus.online), 30, what="console online")
    return m, srv


def grants_watcher(m, got):
    """Every floor record on talkgroup 1, in a thread of its own."""
    stop = threading.Event()
    ready = threading.Event()

    async def main():
        c = RobustClient(netstream.opener(m.host, m.port), "obs", user="obs", password="pw-obs", keepalive=10)
        c.on_message = lambda t, p, r: got.append((time.monotonic(), G.parse(TAGS[0].open(t, bytes(p)))))
        await c.subscribe(T.grants(FLEET, "1"), 1)
        c.start()
        await c.wait_online(10000)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await c.stop()
    t = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    t.start()
    assert ready.wait(30)
    return stop, t


class Socket:
    def __init__(self, srv, name, role):
        self.token, _ = srv.call(lambda: srv.app.state.console.store.new_session(name, 1))
        self.url = srv.url.replace("http", "ws") + "/ws"
        self.msgs = []

    async def __aenter__(self):
        self.ws = await websockets.connect(self.url, additional_headers={"Cookie": "htcc_session=" + self.token},
                                           max_size=None)
        self.reader = asyncio.ensure_future(self._read())
        return self

    async def _read(self):
        try:
            async for m in self.ws:
                self.msgs.append(json.loads(m) if isinstance(m, str) else m)
        except websockets.exceptions.ConnectionClosed:
            pass

    async def __aexit__(self, *a):
        self.reader.cancel()
        try:
            await self.ws.close()
        except Exception:
            pass

    async def send(self, msg):
        await self.ws.send(json.dumps(msg))

    async def until(self, pred, what, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for m in self.msgs:
                if isinstance(m, dict) and pred(m):
                    return m
            await asyncio.sleep(0.02)
        raise AssertionError("timed out waiting for %s; got %s" % (what, [m for m in self.msgs
                                                                          if isinstance(m, dict)][-10:]))


def test_talk_refusals_disconnect_mid_talk_and_audit(mosquitto, arbiter, console_server, tmp_path):
    m, srv = setup(mosquitto, arbiter, console_server, tmp_path)
    srv.call(lambda: srv.app.state.console.store.set_user("agus", "rahasia-operator-2", "operator"))
    records = []
    stop, t = grants_watcher(m, records)

    async def scenario():
        async with Socket(srv, "budi", "operator") as a, Socket(srv, "agus", "operator") as b, \
                Socket(srv, "sri", "supervisor") as sup:
            for s in (a, b, sup):
                hello = await s.until(lambda x: x["t"] == "listen.hello", "the desk's hello")
                assert hello["talkgroups"] == ["1", "all"] and "permit" in hello["cues"]
            await a.send({"t": "talk.press", "tg": "9"})
            r = await a.until(lambda x: x["t"] == "talk.refused", "unknown talkgroup refused")
            assert r["why"] == "unknown_talkgroup"
            await a.send({"t": "talk.press", "tg": "1"})
            await a.until(lambda x: x["t"] == "talk.cue" and x["cue"] == "permit", "permit")
            on = await b.until(lambda x: x["t"] == "talk.on", "the others see the desk on air")
            assert on["operator"] == "budi" and on["mine"] is False
            await b.send({"t": "talk.press", "tg": "1"})
            r = await b.until(lambda x: x["t"] == "talk.refused", "desk in use")
            assert r["why"] == "desk_in_use" and r["by"] == "budi"
            await a.ws.send(b"\x01" + bytes(320) * 5)           # 100 ms of microphone
            await asyncio.sleep(0.3)
            a.ws.transport.abort()                             # the browser vanishes mid-talk
            await b.until(lambda x: x["t"] == "talk.off", "the desk off air")
            # operators may not change retention; supervisors may, and it is audited
            await b.send({"t": "rec.retention", "days": 30})
            e = await b.until(lambda x: x["t"] == "rec.error", "retention refused for an operator")
            assert "supervisor" in e["error"]
            await sup.send({"t": "rec.retention", "days": 30})
            st = await sup.until(lambda x: x["t"] == "rec.status", "retention applied")
            assert st["status"]["retention_days"] == 30
            await sup.send({"t": "rec.keep", "id": 12345, "keep": True})
            e = await sup.until(lambda x: x["t"] == "rec.error", "no such recording")
            assert "12345" in e["error"]
            await sup.send({"t": "rec.search", "unit": "u01"})
            res = await sup.until(lambda x: x["t"] == "rec.results", "search results")
            assert res["rows"] == [] and "files" in res["status"]
            await sup.send({"t": "talk.nonsense"})
            e = await sup.until(lambda x: x["t"] == "talk.error", "unknown message")
            assert "talk.nonsense" in e["error"]

    asyncio.run(scenario())
    wait_until(lambda: any(r.kind == G.IDLE and r.reason == G.R_RELEASED for _, r in records), 30,
               what="the floor released")
    stop.set()
    t.join(10)
    granted = [r for _, r in records if r.kind == G.GRANT and r.unit == "cc"]
    assert granted and granted[0].prio == 2                  # Command Center priority
    idle = next(r for _, r in records if r.kind == G.IDLE and r.reason == G.R_RELEASED)
    assert idle.seq > granted[0].seq
    assert not any(r.kind == G.IDLE and r.reason == G.R_EXPIRED for _, r in records)
    audit = srv.call(lambda: srv.app.state.console.store.audit_log(action="desk."))
    actions = [(a["operator"], a["action"]) for a in audit]
    assert ("budi", "desk.talk") in actions and ("budi", "desk.talk_abandoned") in actions
    assert ("sri", "desk.recording_retention") in actions
    assert ("agus", "desk.talk") not in actions               # refused presses are not talks
