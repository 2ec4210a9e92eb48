"""The console with real radios: the firmware under MicroPython (htsim/rig/console_radios.py) through real
Mosquitto with the fleet's accounts and ACL, the floor arbiters, the console server, and Debian's Chromium.

(c) emergency -> the alarm covers the page -> one click acknowledges -> the radio plays its acknowledgement cue
(d) roll call with one radio silent and one offline: answered / no answer / offline, live, then CSV and print
(e) a radio loses power (its link goes silent) -> the board shows it offline by the staleness rule
"""
import pytest

from fixtures.console import OPERATOR_PW, SUPERVISOR_PW, login, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.sim, pytest.mark.mpy]

RADIOS = {"u01": ["1"], "u02": ["1", "2"], "u03": ["2"]}


def board_row(page, unit):
    return page.locator("#u-%s" % unit)


def wait_online(page, units, timeout=120):
    for u in units:
        page.wait_for_selector("#u-%s[data-online='1']" % u, timeout=timeout * 1000)


def test_c_emergency_alarm_acknowledged_radio_hears_ack(console_rig, steered_radios, browser_page, shots):
    rig = console_rig(ack_timeout_s=600)
    radios = steered_radios(rig.broker.port, RADIOS, key_hex=rig.key_hex)
    radios.wait_ready()
    page = browser_page(viewport={"width": 1366, "height": 850})
    login(page, rig.srv.url, "budi", OPERATOR_PW)
    wait_online(page, RADIOS)
    assert page.locator("#alarm").is_hidden()

    radios.send("u02", "emergency")
    page.wait_for_selector("#alarm:not([hidden]) .alarmitem[data-unit='u02']", timeout=90000)
    item = page.locator(".alarmitem[data-unit='u02']")
    assert "Siti Aminah" in item.inner_text() and "BPBD" in item.inner_text()
    page.screenshot(path=str(shots / "c_alarm.png"))
    # The alarm covers the page: the board underneath cannot be clicked.
    assert page.evaluate("document.elementFromPoint(20, 200).closest('#alarm') !== null")
    # It keeps alarming on the radio until acknowledged.
    assert not radios.find("u02", "cue", lambda d: d["name"] == "emergency_ack")

    item.locator(".ackbtn").click()
    radios.wait("u02", "cue", lambda d: d["name"] == "emergency_ack", timeout=90)
    page.wait_for_selector("#alarm[hidden]", state="attached", timeout=60000)
    radios.send("u02", "emergency_release")

    # The journal: acknowledged by budi with its time to acknowledge; closed as a false alarm.
    page.goto(rig.srv.url + "/emergencies")
    row = page.locator("#journal tr[data-unit='u02']")
    row.wait_for()
    assert "budi" in row.inner_text()
    row.locator("[data-close][data-v='false']").click()
    wait_until(lambda: "palsu" in row.locator(".verdict").inner_text(), 60, what="closed as false alarm")
    page.screenshot(path=str(shots / "c_journal.png"), full_page=True)
    j = rig.srv.call(lambda: rig.srv.app.state.console.alarms.journal())
    inc = [i for i in j if i["unit_id"] == "u02"][0]
    assert inc["acked_by"] == "budi" and inc["ack_ms"] > 0 and inc["verdict"] == "false"
    acts = [r["action"] for r in rig.srv.call(lambda: rig.srv.app.state.console.store.audit_log())]
    assert "emergency.ack" in acts and "emergency.close" in acts


def test_d_rollcall_one_silent_one_offline(console_rig, steered_radios, browser_page, shots):
    rig = console_rig()
    radios = steered_radios(rig.broker.port, {"u01": ["1"], "u02": ["1", "2"]}, key_hex=rig.key_hex)   # u03 never comes online
    radios.wait_ready()
    page = browser_page(viewport={"width": 1366, "height": 900})
    login(page, rig.srv.url, "sri", SUPERVISOR_PW)
    page.goto(rig.srv.url + "/rollcall")
    page.fill("#rc_deadline", "50")
    page.click("#rc_start")
    page.wait_for_selector("#rc_table tr[data-unit='u03'][data-status='offline']")
    # u01 hears the call (its roll-call cue) and its official presses PTT once; u02 stays silent.
    radios.wait("u01", "rollcall", timeout=60)
    radios.send("u01", "press")
    page.wait_for_selector("#rc_table tr[data-unit='u01'][data-status='answered']", timeout=90000)
    radios.send("u01", "release")
    page.screenshot(path=str(shots / "d_rollcall_live.png"), full_page=True)
    assert page.get_attribute("#rc_table tr[data-unit='u02']", "data-status") == "waiting"
    wait_until(lambda: page.get_attribute("#rc_live", "data-finished") == "1", 120, what="deadline")
    st = {u: page.get_attribute("#rc_table tr[data-unit='%s']" % u, "data-status") for u in ("u01", "u02", "u03")}
    assert st == {"u01": "answered", "u02": "missed", "u03": "offline"}
    rc_id = page.get_attribute("#rc_live", "data-id")
    radios.wait("u02", "rollcall_missed", timeout=60)      # the silent radio's own deadline passed too
    page.screenshot(path=str(shots / "d_rollcall_done.png"), full_page=True)
    with page.expect_download() as dl:
        page.click("#rc_csv")
    lines = open(dl.value.path(), encoding="utf-8-sig").read().splitlines()
    by_unit = {ln.split(",")[5]: ln.split(",")[8] for ln in lines[1:]}
    assert by_unit == {"u01": "answered", "u02": "missed", "u03": "offline"}
    page.goto(rig.srv.url + "/rollcall/%s/print" % rc_id)
    assert "Agus Wijaya" in page.inner_text("table.rc")
    page.screenshot(path=str(shots / "d_rollcall_print.png"), full_page=True)


def test_e_radio_loses_power_board_shows_offline(console_rig, steered_radios, tcp_proxy, browser_page, shots):
    rig = console_rig()
    link = tcp_proxy(rig.broker.port)       # u03's LTE link: paused = the radio is gone without a word
    radios = steered_radios(rig.broker.port, RADIOS, keepalive=10, ports={"u03": link.port}, key_hex=rig.key_hex)
    radios.wait_ready()
    page = browser_page(viewport={"width": 1366, "height": 850})
    login(page, rig.srv.url, "budi", OPERATOR_PW)
    wait_online(page, RADIOS)
    page.screenshot(path=str(shots / "e_before.png"), full_page=True)
    interval = rig.srv.call(lambda: rig.srv.app.state.console.board.rows["u03"]["interval_s"])
    assert interval == 9        # 0.9 x keepalive 10 s: online means heard within 13.5 s
    link.pause()
    page.wait_for_selector("#u-u03[data-online='0']", timeout=120000)
    why = board_row(page, "u03").locator(".why").inner_text()
    r = rig.srv.call(lambda: rig.srv.app.state.console.board.rows["u03"])
    # Judged by the rule, not by chance: either its beats stopped for more than 1.5 x the interval it
    # announced (the console's own staleness check), or the broker's will arrived (after 1.5 x keepalive).
    if "Tidak terdengar" in why:
        assert r["silent_s_at_offline"] >= 1.5 * interval
    else:
        assert "Terputus" in why and r["stage"] == "offline"
    print("offline after %s s silent (rule: %.1f s)" % (r["silent_s_at_offline"], 1.5 * interval))
    for u in ("u01", "u02"):
        assert board_row(page, u).get_attribute("data-online") == "1"
    page.screenshot(path=str(shots / "e_offline.png"), full_page=True)
