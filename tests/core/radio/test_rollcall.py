# Portable: roll call (absen) on both sides, and the presence payloads it relies on.
import json

from ht.radio.floor import Floor, Outbox
from ht.radio.ptt import PTT, IDLE
from ht.radio.rollcall import RollCallRadio, RollCallCollector, call_payload
from ht.radio import presence as pr


def radio(unit):
    ob = Outbox()
    rc = RollCallRadio(unit, ob)
    p = PTT(Floor("tg1", unit, ob), ob, rollcall=rc)
    return rc, p, ob


def test_ptt_press_answers_roll_call_within_deadline_and_does_not_key_up():
    rc, p, ob = radio("u1")
    rc.on_call(call_payload("rc1", 30, "cc"), 1000)
    assert "rollcall" in ob.drain()[1]
    p.press(4000)
    p.release(4200)
    pubs, cues, evs = ob.drain()
    acks = [json.loads(pl) for k, key, pl, q, r in pubs if k == "rollcall_ack"]
    assert acks == [{"id": "rc1", "u": "u1", "ms": 3000}]
    assert not [1 for k, *_ in pubs if k == "floor"] and p.state == IDLE
    assert "rollcall_ok" in cues


def test_roll_call_reminds_then_is_missed_after_deadline():
    rc, p, ob = radio("u1")
    rc.on_call(call_payload("rc1", 20, "cc"), 0)
    ob.drain()
    for t in range(0, 21000, 500):
        rc.tick(t)
    cues = ob.drain()[1]
    assert cues.count("rollcall") >= 3 and cues[-1] == "rollcall_missed"
    p.press(22000)  # after the deadline PTT is PTT again
    assert any(k == "floor" for k, *_ in ob.drain()[0])


def test_command_center_report_answered_missed_offline():
    ob = Outbox()
    cc = RollCallCollector(ob, grace_ms=2000)
    for u, online in (("u1", True), ("u2", True), ("u3", False), ("u4", True)):
        cc.on_presence(u, online)
    cc.start("rc9", ["u1", "u2", "u3", "u4"], 0, deadline_s=30)
    call = [pl for k, key, pl, q, r in ob.drain()[0] if k == "rollcall" and key is None]
    assert json.loads(call[0])["dl"] == 30
    radios = {}
    for u in ("u1", "u2", "u4"):
        radios[u] = radio(u)
        radios[u][0].on_call(call[0], 50)
    radios["u1"][1].press(5000)
    radios["u4"][1].press(20000)
    cc.on_presence("u4", False)  # answered, then its battery died: still answered
    for u in ("u1", "u4"):
        for k, key, pl, q, r in radios[u][2].drain()[0]:
            if k == "rollcall_ack":
                assert cc.on_ack(pl, 5100 if u == "u1" else 20100)
    assert not cc.done(10000)
    rep = cc.report(33000)
    assert rep["answered"] == ["u1", "u4"] and rep["missed"] == ["u2"] and rep["offline"] == ["u3"]
    assert rep["final"] and rep["ms"]["u1"] == 5100


def test_late_and_foreign_acks_do_not_count():
    ob = Outbox()
    cc = RollCallCollector(ob, grace_ms=1000)
    cc.on_presence("u1", True)
    cc.start("rc2", ["u1"], 0, deadline_s=10)
    assert not cc.on_ack(json.dumps({"id": "old", "u": "u1"}).encode(), 100)
    assert not cc.on_ack(json.dumps({"id": "rc2", "u": "u1"}).encode(), 12000)
    rep = cc.report(12000)
    assert rep["missed"] == ["u1"] and rep["late"] == ["u1"]


def test_presence_round_trip_and_lwt():
    p = pr.presence_payload("dinas-pu-03", "online", battery=87, signal=-85, plan="low", fw="0.3.1")
    assert len(p) < 80
    assert pr.parse_presence(p) == {"unit": "dinas-pu-03", "stage": "online", "battery": 87, "signal": -85,
                                    "plan": "low", "fw": "0.3.1", "note": "", "interval_s": 0, "battery_flag": ""}
    assert pr.parse_presence(pr.offline_payload("u1"))["stage"] == "offline"
    for bad in (b"", b"[]", b'{"u":"x","s":"flying"}', b"\xff"):
        try:
            pr.parse_presence(bad)
        except ValueError:
            continue
        raise AssertionError("accepted %r" % bad)


def test_presence_published_retained_on_change_and_telemetry_follows_the_plan():
    ob = Outbox()
    p = pr.Presence("u1", ob, "0.3.1", telemetry_ms=60000)
    p.update(0, stage="sim")
    assert ob.drain()[0] == []  # no MQTT yet
    p.reconnected(100)
    pubs = ob.drain()[0]
    assert len(pubs) == 1 and pubs[0][0] == "presence" and pubs[0][4] is True
    p.update(200, battery=80)
    p.update(300, battery=78)   # small change: stays quiet
    assert len(ob.drain()[0]) == 1
    p.update(400, battery=74)
    assert len(ob.drain()[0]) == 1
    p.tick(500, 1, {"rx": 10})
    p.tick(30000, 30, {"rx": 10})
    assert len([x for x in ob.drain()[0] if x[0] == "telemetry"]) == 1
    p.update(31000, plan="exhausted")
    ob.drain()
    p.tick(500000, 500, {"rx": 10})
    assert ob.drain()[0] == []
    assert p.telemetry_interval() is None
    p.update(600000, plan="low")
    assert p.telemetry_interval() == 240000


def test_presence_beats_every_interval_and_carries_it():
    ob = Outbox()
    p = pr.Presence("u1", ob, "0.3.1", telemetry_ms=600000, beat_ms=54000)
    p.tick(0, 0, {})
    assert ob.drain()[0] == []  # not connected: nothing
    p.reconnected(1000)
    first = [x for x in ob.drain()[0] if x[0] == "presence"]
    assert len(first) == 1 and pr.parse_presence(first[0][2])["interval_s"] == 54
    p.tick(30000, 30, {})
    assert [x for x in ob.drain()[0] if x[0] == "presence"] == []    # nothing changed, not due
    p.tick(55000, 55, {})
    beat = [x for x in ob.drain()[0] if x[0] == "beat"]
    assert len(beat) == 1 and beat[0][4] is False                    # a short beat, not retained
    assert pr.parse_presence(beat[0][2])["interval_s"] == 54 and len(beat[0][2]) < len(first[0][2])
    p.disconnected(56000)
    p.tick(200000, 200, {})
    assert [x for x in ob.drain()[0] if x[0] in ("presence", "beat")] == []    # offline: no beats


def test_presence_carries_the_update_status_beside_the_beat_interval():
    # The update status (docs/OTA.md) rides the retained full presence; a change of it republishes at
    # once, and the short beat leaves it out (the retained copy keeps it for the console).
    ob = Outbox()
    p = pr.Presence("u1", ob, "0.3.1", telemetry_ms=600000, beat_ms=54000)
    p.reconnected(1000)
    ob.drain()
    p.ota = "downloading"
    p.update(2000)
    full = [x for x in ob.drain()[0] if x[0] == "presence"]
    assert len(full) == 1 and full[0][4] is True
    d = pr.parse_presence(full[0][2])
    assert d["ota"] == "downloading" and d["interval_s"] == 54
    p.update(3000)
    assert [x for x in ob.drain()[0] if x[0] == "presence"] == []    # unchanged: nothing
    p.tick(2000 + 54000, 56, {})
    beat = [x for x in ob.drain()[0] if x[0] == "beat"]     # the beat rides its own topic (docs/POWER.md)
    assert len(beat) == 1 and "ota" not in pr.parse_presence(beat[0][2])


def test_online_is_a_presence_seen_within_one_and_a_half_intervals():
    r = pr.Roster()
    r.on_presence(pr.presence_payload("a", "online", interval_s=10), 1000)
    r.on_presence(pr.presence_payload("b", "online", interval_s=10), 1000)
    r.on_presence(pr.presence_payload("old", "online"), 1000)         # no interval: the old retained rule
    assert r.online(15000) == ["a", "b", "old"]
    r.on_presence(pr.presence_payload("a", "online", interval_s=10), 12000)
    assert r.online(16001) == ["a", "old"]                            # b silent for 15 s: stale, no will needed
    r.on_presence(pr.offline_payload("old"), 17000)
    assert r.online(17000) == ["a"]                                   # a will or a goodbye still counts
    assert not r.is_online("nobody", 0)
    assert pr.fresh(0, 2, 3000) and not pr.fresh(0, 2, 3001)
    for bad in (b'{"u":"x","s":"online","i":-1}', b'{"u":"x","s":"online","i":"9"}'):
        try:
            pr.parse_presence(bad)
        except ValueError:
            continue
        raise AssertionError("accepted %r" % bad)
