# Portable: the emergency button as the official and the Command Center experience it.
import json

from ht.radio import floormsg as fm
from ht.radio.floor import Floor, Outbox
from ht.radio.ptt import PTT, TALKING
from ht.radio.emergency import Emergency, ack_payload, ALERTING, ACKED, IDLE
from htcc.arbiter.core import Arbiter


def make(numbers=("+628111",), **kw):
    ob = Outbox()
    p = PTT(Floor("tg1", "u7", ob), ob)
    return Emergency("u7", p, ob, sms_numbers=numbers, **kw), p, ob


def alerts(pubs):
    return [json.loads(pl) for kind, key, pl, q, r in pubs if kind == "emergency" and q == 1 and not r]


def test_alert_carries_unit_and_reserved_position_and_opens_the_mic():
    e, p, ob = make()
    e.trigger(0)
    pubs, cues, evs = ob.drain()
    a = alerts(pubs)
    assert len(a) == 1 and a[0]["u"] == "u7" and "pos" in a[0] and a[0]["pos"] is None
    assert "emergency" in cues
    claims = [fm.parse(pl) for kind, key, pl, q, r in pubs if kind == "floor"]
    assert claims and claims[0].kind == fm.CLAIM and claims[0].prio == fm.PRIO_EMERGENCY
    # the arbiter grants it: hot mic without touching PTT
    arb = Arbiter("a1", 1, lease_ms=20000)
    for r in arb.on_floor(claims[0], 80):
        p.on_floor(r, 80)
    assert p.state == TALKING
    p.tick(5000)
    assert p.state == TALKING
    p.tick(10100)
    assert p.state != TALKING


def test_alert_repeats_with_backoff_until_acknowledged():
    e, p, ob = make()
    e.trigger(0)
    sent = len(alerts(ob.drain()[0]))
    for t in range(100, 40000, 100):
        e.tick(t)
    a = alerts(ob.drain()[0])
    sent += len(a)
    # 0, 5, 15, 35 s: repeats keep coming but back off
    assert sent == 4 and [x["n"] for x in a] == [2, 3, 4]
    assert e.on_ack(ack_payload("u7", "cc1"), 40000)
    assert e.state == ACKED and "emergency_ack" in ob.drain()[1]
    for t in range(40000, 200000, 1000):
        e.tick(t)
    assert alerts(ob.drain()[0]) == []


def test_ack_for_another_unit_does_not_stop_the_alert():
    e, p, ob = make()
    e.trigger(0)
    assert not e.on_ack(ack_payload("u8", "cc1"), 100)
    assert e.state == ALERTING


def test_data_link_down_sends_sms_then_late_alert_on_reconnect():
    e, p, ob = make(numbers=("+62811111", "+62822222"))
    e.set_link(False, 0)
    e.trigger(10)
    pubs, cues, evs = ob.drain()
    assert alerts(pubs) == []
    sms = [ev for ev in evs if ev[0] == "sms"]
    assert [s[1] for s in sms] == ["+62811111", "+62822222"] and "u7" in sms[0][2]
    assert "emergency_sms" in cues
    e.tick(6000)  # repeat while still down: no second SMS burst
    assert [ev for ev in ob.drain()[2] if ev[0] == "sms"] == []
    e.set_link(True, 20000)
    a = alerts(ob.drain()[0])
    assert len(a) == 1 and a[0]["late"] == 1 and a[0]["age"] == 19990


def test_unanswered_alert_falls_back_to_sms_after_a_minute():
    e, p, ob = make(sms_after_ms=60000)
    e.trigger(0)
    for t in range(0, 70000, 500):
        e.tick(t)
    assert any(ev[0] == "sms" for ev in ob.drain()[2])


def test_clear_ends_the_emergency_and_tells_the_command_center():
    e, p, ob = make()
    e.trigger(0)
    ob.drain()
    e.clear(100)
    pubs = ob.drain()[0]
    assert e.state == IDLE and any(json.loads(pl).get("clear") == 1 for k, _, pl, q, r in pubs if k == "emergency")


def test_bad_ack_payload_is_a_clear_error():
    e, p, ob = make()
    e.trigger(0)
    try:
        e.on_ack(b"\xff{not json", 1)
    except ValueError as ex:
        assert "JSON" in str(ex)
    else:
        raise AssertionError("accepted garbage")
    assert e.state == ALERTING
