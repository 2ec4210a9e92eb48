# Portable: the floor arbiter's pure core (htcc.arbiter.core) — rules, leases, beacons, standby and takeover.
from ht.radio import floormsg as fm
from ht.radio import grant as G
from htcc.arbiter.core import Arbiter


def msg(kind, unit, burst, prio=fm.PRIO_NORMAL, tg="1", reason=0):
    return fm.FloorMsg(kind, unit, prio, 0, burst, tg, 0, reason)


def only(recs, tg="1"):
    return [r for r in recs if r.tg == tg]


def test_first_request_granted_next_rejected_then_released_to_idle():
    a = Arbiter("p", 5, talkgroups=("1",))
    g = a.on_floor(msg(fm.CLAIM, "u1", 1), 0)
    assert [(r.kind, r.unit, r.burst, r.epoch, r.seq, r.lease_ms) for r in g] == [(G.GRANT, "u1", 1, 5, 1, 4000)]
    r = a.on_floor(msg(fm.CLAIM, "u2", 9), 10)
    assert (r[0].kind, r[0].unit, r[0].burst, r[0].reason, r[0].seq) == (G.REJECT, "u2", 9, G.R_BUSY, 2)
    assert a.on_floor(msg(fm.RELEASE, "u2", 9), 20) == []            # not the holder: ignored
    r = a.on_floor(msg(fm.RELEASE, "u1", 1), 30)
    assert (r[0].kind, r[0].reason, r[0].seq) == (G.IDLE, G.R_RELEASED, 3)
    assert a.on_floor(msg(fm.CLAIM, "u1", 1), 40) == []               # late duplicate of an ended burst


def test_priority_preempts_equal_is_busy_lower_is_denied():
    a = Arbiter("p", 1)
    a.on_floor(msg(fm.CLAIM, "cc", 1, fm.PRIO_COMMAND), 0)
    assert a.on_floor(msg(fm.CLAIM, "u1", 1), 1)[0].reason == G.R_DENIED
    assert a.on_floor(msg(fm.CLAIM, "cc2", 1, fm.PRIO_COMMAND), 2)[0].reason == G.R_BUSY
    g = a.on_floor(msg(fm.CLAIM, "u9", 4, fm.PRIO_EMERGENCY), 3)[0]
    assert (g.kind, g.unit, g.prio) == (G.GRANT, "u9", fm.PRIO_EMERGENCY)
    assert a.on_floor(msg(fm.CLAIM, "u8", 1, fm.PRIO_EMERGENCY), 4)[0].reason == G.R_BUSY


def test_all_call_is_arbitrated_like_any_talkgroup():
    a = Arbiter("p", 1)
    g = a.on_floor(msg(fm.CLAIM, "cc", 1, fm.PRIO_COMMAND, tg="all"), 0)
    assert g[0].kind == G.GRANT and g[0].tg == "all"


def test_heartbeats_renew_silence_expires_and_talk_timeout_ends():
    a = Arbiter("p", 1, talkgroups=("1",), lease_ms=4000, renew_ms=1000, max_burst_ms=65000)
    a.on_floor(msg(fm.CLAIM, "u1", 1), 0)
    renewals = []
    for t in range(1000, 64001, 1000):
        renewals += a.on_floor(msg(fm.HEARTBEAT, "u1", 1), t)
        assert only(a.tick(t)) == []
    assert len(renewals) == 64 and all(r.kind == G.GRANT and r.unit == "u1" for r in renewals)
    a.on_floor(msg(fm.HEARTBEAT, "u1", 1), 65000)
    r = only(a.tick(65000))
    assert (r[0].kind, r[0].reason) == (G.IDLE, G.R_TIMEOUT)
    a.on_floor(msg(fm.CLAIM, "u2", 1), 70000)
    assert only(a.tick(73999)) == []
    r = only(a.tick(74000))
    assert (r[0].kind, r[0].reason) == (G.IDLE, G.R_EXPIRED)


def test_idle_beacon_every_beacon_interval():
    a = Arbiter("p", 1, talkgroups=("1",), beacon_ms=10000)
    assert [r.kind for r in only(a.tick(0))] == [G.IDLE]
    assert only(a.tick(9999)) == []
    assert [r.kind for r in only(a.tick(10000))] == [G.IDLE]


def test_standby_follows_then_takes_over_the_same_holder_with_a_new_epoch():
    p = Arbiter("p", 100, talkgroups=("1",))
    s = Arbiter("s", 0, active=False, talkgroups=("1",), now=0)
    for r in p.tick(0) + p.on_floor(msg(fm.CLAIM, "u1", 3), 10):
        s.on_record(r, 10)
    s.on_beat("p", 100, 400)
    assert s.tick(1000) == [] and s.epoch == 100
    out = only(s.tick(1901))          # the primary has been silent for more than 1.5 s
    assert s.active and s.epoch == 101
    assert [(r.kind, r.unit, r.burst, r.epoch, r.seq) for r in out] == [(G.GRANT, "u1", 3, 101, 1)]
    # never another holder while the known lease runs: an equal request is busy
    assert s.on_floor(msg(fm.CLAIM, "u2", 1), 1950)[0].reason == G.R_BUSY
    # the old primary sees the newer epoch and steps down
    p.on_record(out[0], 2000)
    assert not p.active and p.on_floor(msg(fm.CLAIM, "u2", 1), 2010) == []


def test_a_fresh_primary_learns_the_retained_state_and_reannounces_it():
    old = Arbiter("p", 5, talkgroups=("1",))
    g = old.on_floor(msg(fm.CLAIM, "u1", 3), 0)[0]
    new = Arbiter("p", 9, talkgroups=("1",))
    new.on_record(g, 100)
    out = only(new.tick(100))
    assert [(r.kind, r.unit, r.epoch, r.seq) for r in out] == [(G.GRANT, "u1", 9, 1)]


def test_heartbeat_from_a_radio_that_does_not_hold_the_floor_repeats_the_state():
    a = Arbiter("p", 1)
    a.on_floor(msg(fm.CLAIM, "u1", 1), 0)
    r = a.on_floor(msg(fm.HEARTBEAT, "u2", 7), 1000)
    assert r[0].kind == G.GRANT and r[0].unit == "u1"
