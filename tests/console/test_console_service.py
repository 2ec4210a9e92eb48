"""The console server against real Mosquitto, without a browser: bad input from radios and operators, the
escalation hook (a command and a local HTTP receiver), a broker that goes away and comes back."""
import http.server
import json
import threading
import urllib.parse
import urllib.request

import paho.mqtt.client as mqtt
import pytest

from fixtures.console import radio_password, wait_until

pytestmark = pytest.mark.sim


def unit_client(port, unit):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t-" + unit)
    c.username_pw_set(unit, radio_password(unit))
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def core(rig):
    return rig.srv.app.state.console


def test_bad_radio_messages_are_shown_and_nothing_is_lost(console_rig):
    rig = console_rig(arbiters=False)
    c = unit_client(rig.broker.port, "u01")
    c.publish("ht/kota/u/u01/p", json.dumps({"u": "u01", "s": "online", "b": 90, "i": 54}), 1).wait_for_publish()
    wait_until(lambda: rig.srv.call(lambda: core(rig).board.rows["u01"]["online"]), 60, what="u01 online")
    rig.srv.call(lambda: core(rig).audit.record("budi", "talk.start", {"tg": "1"}))
    for topic, payload in [("ht/kota/u/u01/p", b"{oops"), ("ht/kota/u/u01/p", b'{"u":"u01","s":"online","b":400}'),
                           ("ht/kota/u/u01/t", b'{"u":"u01","tx":"x"}'), ("ht/kota/em/u01", b"\xff\xfe"),
                           ("ht/kota/u/u01/a", b'{"id":1}'), ("ht/kota/u/u01/p", b"{" + b" " * 4000 + b"}")]:
        c.publish(topic, payload, 1).wait_for_publish()
    wait_until(lambda: rig.srv.call(lambda: core(rig).bad_count) >= 6, 60, what="six bad messages counted")
    bad = rig.srv.call(lambda: list(core(rig).bad))
    whys = " | ".join(b["why"] for b in bad)
    assert "not JSON" in whys and "out of range" in whys and "not a number" in whys and "larger than" in whys
    # The server still serves, u01's good state and the audit row written before are intact.
    r = rig.srv.call(lambda: core(rig).board.rows["u01"])
    assert r["online"] and r["battery"] == 90
    assert rig.srv.call(lambda: core(rig).alarms.open) == {}
    assert [a["action"] for a in rig.srv.call(lambda: core(rig).store.audit_log())][-1] == "talk.start"
    c.loop_stop()


class Receiver(http.server.BaseHTTPRequestHandler):
    got = []

    def do_POST(self):
        n = int(self.headers["Content-Length"])
        Receiver.got.append(json.loads(self.rfile.read(n)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


def test_unacknowledged_emergency_escalates_through_command_and_http(console_rig, tmp_path):
    Receiver.got = []
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    out = tmp_path / "hook.json"
    rig = console_rig(arbiters=False, ack_timeout_s=2.0, escalate_command="cat > %s" % out,
                      escalate_url="http://127.0.0.1:%d/alarm" % httpd.server_address[1])
    c = unit_client(rig.broker.port, "u02")
    c.publish("ht/kota/em/u02", json.dumps({"u": "u02", "n": 1, "age": 0, "tg": "1", "late": 0, "pos": None}),
              1).wait_for_publish()
    wait_until(lambda: Receiver.got, 90, what="the HTTP hook called")
    assert Receiver.got[0]["unit"] == "u02" and Receiver.got[0]["official"] == "Siti Aminah"
    wait_until(lambda: out.exists() and out.read_text(), 60, what="the command hook ran")
    assert json.loads(out.read_text())["event"] == "emergency_unacknowledged"
    inc = wait_until(lambda: [i for i in rig.srv.call(lambda: core(rig).alarms.journal())
                              if i["escalation"] and "POST" in i["escalation"] and "command" in i["escalation"]],
                     60, what="the journal records the escalation")[0]
    assert "-> 204" in inc["escalation"] and "command exit 0" in inc["escalation"]
    assert any(a["action"] == "emergency.escalate" for a in rig.srv.call(lambda: core(rig).store.audit_log()))
    httpd.shutdown()
    c.loop_stop()


def test_ack_for_unknown_unit_is_a_clear_error(console_rig):
    rig = console_rig(arbiters=False)
    from htcc.console.app import COOKIE
    token, csrf = rig.srv.call(lambda: core(rig).store.new_session("budi", 1))
    for path, want in (("/api/emergency/unit/zz9/ack", "not in the fleet registry"),
                       ("/api/emergency/unit/u01/ack", "no open emergency"), ("/api/emergency/999/ack", "no emergency")):
        req = urllib.request.Request(rig.srv.url + path, data=b"{}", method="POST",
                                     headers={"Cookie": "%s=%s" % (COOKIE, token), "X-CSRF-Token": csrf})
        try:
            urllib.request.urlopen(req, timeout=30)
            raise AssertionError("accepted")
        except urllib.error.HTTPError as e:
            assert e.code == 404 and want in json.loads(e.read())["error"]
    req = urllib.request.Request(rig.srv.url + "/api/rollcall", data=b'{"scope":"kelurahan:x","deadline_s":30}',
                                 method="POST", headers={"Cookie": "%s=%s" % (COOKIE, token), "X-CSRF-Token": csrf})
    try:
        urllib.request.urlopen(req, timeout=30)
        raise AssertionError("accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 400 and "scope must be" in json.loads(e.read())["error"]


def test_broker_goes_away_and_comes_back(console_rig):
    rig = console_rig(arbiters=False)
    seen = []
    rig.srv.call(lambda: core(rig).bus.add_state_listener(lambda up, why: seen.append(up)))
    rig.broker.stop()
    wait_until(lambda: not rig.srv.call(lambda: core(rig).bus.online), 60, what="the console sees the broker gone")
    # Still serving: the board answers (from the last known state) while the broker is down.
    st = urllib.request.urlopen(rig.srv.url + "/login", timeout=30).status
    assert st == 200
    rig.broker.start()
    wait_until(lambda: rig.srv.call(lambda: core(rig).bus.online), 120, what="reconnected")
    c = unit_client(rig.broker.port, "u01")
    c.publish("ht/kota/u/u01/p", json.dumps({"u": "u01", "s": "online", "i": 54}), 1).wait_for_publish()
    wait_until(lambda: rig.srv.call(lambda: core(rig).board.rows["u01"]["online"]), 60, what="presence after")
    assert False in seen and seen[-1] is True
    c.loop_stop()


def _login(url, name, pw, pre="p" * 16):
    req = urllib.request.Request(url + "/login", method="POST", data=urllib.parse.urlencode(
        {"name": name, "password": pw, "pre": pre}).encode(),
        headers={"Cookie": "htcc_login=" + pre, "Content-Type": "application/x-www-form-urlencoded"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    try:
        r = urllib.request.build_opener(NoRedirect).open(req, timeout=30)
        return r.status, r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.headers


def test_password_guessing_is_slowed_down_and_audited(console_rig):
    from fixtures.console import OPERATOR_PW
    rig = console_rig(arbiters=False)
    for _ in range(10):
        st, h = _login(rig.srv.url, "budi", "tebakan")
        assert st == 303 and "e=1" in h["location"]
    st, _ = _login(rig.srv.url, "budi", OPERATOR_PW)
    assert st == 429          # even the right password waits: the address is guessing
    acts = [r["action"] for r in rig.srv.call(lambda: core(rig).store.audit_log())]
    assert acts.count("login.failed") == 10 and "login.refused" in acts


def test_socket_of_an_ended_login_is_closed(console_rig):
    import asyncio
    import websockets
    rig = console_rig(arbiters=False, registry_refresh_s=0.5)
    token, _ = rig.srv.call(lambda: core(rig).store.new_session("budi", 1))

    async def go():
        async with websockets.connect(rig.srv.url.replace("http", "ws") + "/ws",
                                      additional_headers={"Cookie": "htcc_session=" + token}) as ws:
            await asyncio.wait_for(ws.recv(), 30)
            rig.srv.call(lambda: core(rig).store.end_session(token))     # logged out elsewhere
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 60)
            except websockets.exceptions.ConnectionClosed as e:
                return e.rcvd.code if e.rcvd else None
    assert asyncio.run(go()) == 4401
