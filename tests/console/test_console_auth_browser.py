"""(f) No page, API or WebSocket without a login; a wrong password is refused; operator actions land in the
append-only audit log. Real server (uvicorn on loopback), real Chromium (Playwright), real Mosquitto."""
import json
import sqlite3
import urllib.error
import urllib.request

import pytest

from fixtures.console import OPERATOR_PW, SUPERVISOR_PW, login, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.sim]

PAGES = ["/", "/rollcall", "/emergencies", "/audit", "/operators", "/rollcall/rc1.csv", "/rollcall/rc1/print"]
APIS = [("GET", "/api/board"), ("GET", "/api/me"), ("GET", "/api/emergencies"), ("GET", "/api/audit"),
        ("POST", "/api/rollcall"), ("POST", "/api/emergency/1/ack"), ("POST", "/api/schedules")]


def fetch(url, method="GET", body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    try:
        with urllib.request.build_opener(NoRedirect).open(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_nothing_without_login_and_wrong_password_refused(console_rig, browser_page, shots):
    rig = console_rig(arbiters=False)
    url = rig.srv.url
    for p in PAGES:
        st, h, _ = fetch(url + p)
        assert st == 303 and h["location"].startswith("/login"), (p, st)
    for method, p in APIS:
        st, _, body = fetch(url + p, method, b"{}" if method == "POST" else None,
                            {"Content-Type": "application/json"})
        assert st == 401 and json.loads(body)["error"] == "login required", (p, st, body)
    # A forged session cookie is no login either.
    st, _, _ = fetch(url + "/api/board", headers={"Cookie": "htcc_session=forged"})
    assert st == 401

    page = browser_page()
    page.goto(url + "/")
    assert page.url.startswith(url + "/login")
    # The WebSocket refuses a browser without a session (the handshake fails; nothing is sent).
    got = page.evaluate("""() => new Promise((res) => {
        const ws = new WebSocket("ws://" + location.host + "/ws");
        let msgs = 0;
        ws.onmessage = () => msgs++;
        ws.onclose = (e) => res({code: e.code, msgs});
        ws.onerror = () => {};
    })""")
    assert got["msgs"] == 0 and got["code"] != 1000

    login(page, url, "budi", "wrong-password")
    assert "/login" in page.url and page.locator("#loginerror").is_visible()
    page.screenshot(path=str(shots / "login_refused.png"))

    login(page, url, "budi", OPERATOR_PW)
    page.wait_for_selector("#units tbody tr")
    assert page.url == url + "/"
    # An operator is not a supervisor: the audit log and the operators page are refused.
    assert page.goto(url + "/audit").status == 403
    assert page.goto(url + "/operators").status == 403
    # A POST without the CSRF token is refused even with a valid session.
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    st, _, body = fetch(url + "/api/rollcall", "POST", b'{"scope":"all"}',
                        {"Cookie": "htcc_session=" + cookies["htcc_session"], "Content-Type": "application/json"})
    assert st == 403 and b"CSRF" in body

    rows = rig.srv.call(lambda: rig.srv.app.state.console.store.audit_log())
    actions = [(r["operator"], r["action"]) for r in rows]
    assert ("budi", "login.failed") in actions and ("budi", "login") in actions


def test_actions_are_audited_and_the_log_is_append_only(console_rig, browser_page, shots):
    rig = console_rig(arbiters=False)
    url = rig.srv.url
    page = browser_page()
    login(page, url, "sri", SUPERVISOR_PW)
    page.goto(url + "/rollcall")
    page.fill("#rc_deadline", "5")
    page.click("#rc_start")
    page.wait_for_selector("#rc_live:not([hidden])")
    rc_id = page.get_attribute("#rc_live", "data-id")
    wait_until(lambda: page.get_attribute("#rc_live", "data-finished") == "1", 90, what="roll call finished")
    with page.expect_download() as dl:
        page.click("#rc_csv")
    csv_text = open(dl.value.path(), encoding="utf-8-sig").read()
    assert rc_id in csv_text and "u01" in csv_text
    page.goto(url + "/audit")
    page.wait_for_selector("#audit tbody tr[data-action='rollcall.export']")
    page.screenshot(path=str(shots / "audit.png"), full_page=True)
    rows = rig.srv.call(lambda: rig.srv.app.state.console.store.audit_log())
    actions = {r["action"] for r in rows if r["operator"] == "sri"}
    assert {"login", "rollcall.start", "rollcall.export"} <= actions

    # Append-only: the database itself refuses to change or delete a row.
    conn = sqlite3.connect(str(rig.reg))
    for sql in ("UPDATE console_audit SET operator='x'", "DELETE FROM console_audit"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(sql)
    n = conn.execute("SELECT count(*) FROM console_audit").fetchone()[0]
    conn.close()
    assert n == len(rows)


def test_bahasa_first_english_switch_wib_and_phone(console_rig, browser_page, shots):
    rig = console_rig(arbiters=False)
    page = browser_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    login(page, rig.srv.url, "budi", OPERATOR_PW)
    page.wait_for_selector("#units tbody tr")
    assert page.inner_text("nav a.on") == "Kesiapan" and "Belum pernah terhubung" in page.inner_text("#units")
    assert page.inner_text("#clock").endswith("WIB")
    # Phone: the table becomes one card per radio, no sideways scrolling of the page.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.evaluate("getComputedStyle(document.querySelector('#units tbody tr')).display") == "block"
    page.screenshot(path=str(shots / "phone_id.png"))
    page.click("#langswitch")
    page.wait_for_selector("nav a.on:text('Readiness')")
    assert "Never connected to the server" in page.inner_text("#units")
    page.screenshot(path=str(shots / "phone_en.png"))
    page.click("#langswitch")
    page.wait_for_selector("nav a.on:text('Kesiapan')")
