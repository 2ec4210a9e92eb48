# Portable: floor messages and records, the radio's floor (applies the arbiter's grants), scan and the
# feedback table (CPython and MicroPython). The arbiter in the middle is its pure core (htcc.arbiter.core).
from ht.radio import floormsg as fm
from ht.radio import grant as G
from ht.radio import feedback
from ht.radio.floor import Floor, Outbox
from ht.radio.scan import Scan, ALLCALL
from htcc.arbiter.core import Arbiter


class Bus:
    # Radios, one arbiter and a broker in miniature: radio messages reach the arbiter, its records reach
    # every radio in the arbiter's order (the only order MQTT promises).
    def __init__(self, units, arbiter=True):
        self.radios = {}
        for u in units:
            ob = Outbox()
            self.radios[u] = (Floor("tg1", u, ob, burst_seed=len(self.radios) << 16), ob)
        self.arb = Arbiter("a1", 7, talkgroups=("tg1",)) if arbiter else None
        self.up = []
        self.down = []
        self.seen = {u: [] for u in units}
        self.records = []

    def collect(self):
        for u in self.radios:
            for kind, key, payload, qos, retain in self.radios[u][1].drain()[0]:
                assert kind == "floor" and key == "tg1" and qos == 1
                self.up.append(payload)

    def deliver(self, now, only=None):
        # Everything queued: radio messages to the arbiter, records to every radio (or to `only`).
        self.collect()
        while self.up or self.down:
            while self.up:
                m = fm.parse(self.up.pop(0))
                if self.arb is not None:
                    self.down.extend(G.pack(r) for r in self.arb.on_floor(m, now))
            while self.down:
                b = self.down.pop(0)
                r = G.parse(b)
                self.records.append(r)
                for u in self.radios:
                    if only is None or u in only:
                        self.seen[u].extend(self.radios[u][0].on_message(r, now))
            self.collect()

    def tick(self, now):
        for u in self.radios:
            self.seen[u].extend(self.radios[u][0].tick(now))
        if self.arb is not None:
            self.down.extend(G.pack(r) for r in self.arb.tick(now) if r.tg == "tg1")
        self.deliver(now)

    def floor(self, u):
        return self.radios[u][0]


def kinds(evs):
    return [e[0] for e in evs]


def test_floor_msg_round_trip_and_size():
    m = fm.FloorMsg(fm.CLAIM, "dinas-pu-03", fm.PRIO_COMMAND, 7, 0xDEADBEEF, "pemkot", 123456, 0)
    b = fm.pack(m)
    assert fm.parse(b) == m
    assert len(b) < 40  # a claim is cheaper than one voice frame


def test_floor_msg_rejects_garbage():
    good = fm.pack(fm.FloorMsg(fm.HEARTBEAT, "u1", fm.PRIO_NORMAL, 1, 2, "tg1"))
    for bad in (b"", b"hello", good[:-1], good + b"x", b"G" + good[1:], good[:2] + b"\x09" + good[3:]):
        try:
            fm.parse(bad)
        except ValueError:
            continue
        raise AssertionError("accepted %r" % bad)


def test_grant_record_round_trip_and_size():
    for r in (G.Record(G.GRANT, "pemkot", "dinas-pu-03", fm.PRIO_COMMAND, 0xDEADBEEF, 1700000000, 5, 4000),
              G.Record(G.IDLE, "pemkot", "", 0, 0, 3, 9, 0, G.R_EXPIRED),
              G.Record(G.REJECT, "1", "u2", fm.PRIO_EMERGENCY, 77, 3, 10, 0, G.R_DENIED)):
        b = G.pack(r)
        assert G.parse(b) == r
        assert len(b) < 40
    good = G.pack(G.Record(G.GRANT, "1", "u1", 1, 2, 3, 4, 4000))
    for bad in (b"", good[:-1], good + b"x", b"F" + good[1:], good[:2] + b"\x09" + good[3:]):
        try:
            G.parse(bad)
        except ValueError:
            continue
        raise AssertionError("accepted %r" % bad)


def test_first_request_the_arbiter_receives_wins_and_the_other_hears_busy():
    bus = Bus(["a", "b", "c"])
    bus.floor("b").claim(fm.PRIO_NORMAL, 0)
    bus.floor("a").claim(fm.PRIO_NORMAL, 1)   # pressed later, but the arbiter gets a's first (Bus order)
    bus.deliver(100)
    assert "granted" in kinds(bus.seen["a"])
    assert ("lost", "tg1", "busy", "a") in bus.seen["b"] and "granted" not in kinds(bus.seen["b"])
    assert bus.floor("a").talking and not bus.floor("b").talking
    assert bus.floor("c").talker() == "a" and bus.floor("b").talker() == "a"
    assert bus.floor("b").busy_for(fm.PRIO_NORMAL) == "busy"
    assert [r.seq for r in bus.records] == list(range(1, len(bus.records) + 1))


def test_no_permit_before_the_grant():
    bus = Bus(["a"])
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.collect()
    assert not bus.floor("a").talking       # the request is out, no grant yet
    bus.deliver(50)
    assert bus.floor("a").talking


def test_every_radio_shows_the_same_holder():
    bus = Bus(["a", "b", "c"])
    bus.floor("b").claim(fm.PRIO_NORMAL, 0)
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.deliver(10)
    bus.floor("c").claim(fm.PRIO_EMERGENCY, 20)
    bus.deliver(30)
    states = set((f.epoch, f.seq, f.holder, f.hburst) for f, _ in bus.radios.values())
    assert len(states) == 1
    assert bus.floor("a").holder == "c" and not bus.floor("b").talking


def test_higher_priority_preempts_and_lower_is_denied():
    bus = Bus(["a", "cc"])
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.deliver(10)
    bus.floor("cc").claim(fm.PRIO_COMMAND, 20)
    bus.deliver(30)
    assert "preempted" in kinds(bus.seen["a"])
    assert not bus.floor("a").talking and bus.floor("cc").talking
    assert bus.floor("a").busy_for(fm.PRIO_NORMAL) == "denied"
    assert bus.floor("a").busy_for(fm.PRIO_EMERGENCY) is None
    bus.floor("a").claim(fm.PRIO_NORMAL, 40)   # sent anyway: the arbiter says denied
    bus.deliver(50)
    assert ("lost", "tg1", "denied", "cc") in bus.seen["a"]


def test_release_frees_the_floor_for_everyone():
    bus = Bus(["a", "b"])
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.deliver(10)
    bus.floor("a").release(500)
    bus.deliver(510)
    assert ("free", "tg1", "released") in bus.seen["b"]
    assert bus.floor("b").talker() is None and bus.floor("a").holder is None
    bus.floor("b").claim(fm.PRIO_NORMAL, 600)
    bus.deliver(610)
    assert bus.floor("b").talking


def test_duplicate_and_late_records_are_applied_once():
    bus = Bus(["a", "b"])
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.collect()
    bus.up.append(bus.up[0])  # the broker got the request twice (DUP after a lost PUBACK)
    bus.deliver(10)
    grants = [r for r in bus.records if r.kind == G.GRANT]
    assert len(grants) == 2 and bus.floor("a").talking
    # a late copy of the first grant after the floor went idle changes nothing
    bus.floor("a").release(100)
    bus.deliver(110)
    assert bus.floor("b").on_message(grants[0], 120) == [] and bus.floor("b").talker() is None


def test_holder_heartbeats_renew_its_lease_and_listeners_see_it():
    bus = Bus(["a", "b"])
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.deliver(0)
    for t in range(100, 10001, 100):
        bus.tick(t)
    assert bus.floor("a").talking and bus.floor("b").talker() == "a"
    assert len([r for r in bus.records if r.kind == G.GRANT]) >= 9


def test_dead_holder_lease_expires_and_the_floor_frees():
    bus = Bus(["a", "b"])
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.deliver(0)
    del bus.radios["a"]     # a dies: no heartbeat, no release
    for t in range(100, 4101, 100):
        bus.tick(t)
    assert bus.records[-1].kind == G.IDLE and bus.records[-1].reason == G.R_EXPIRED
    assert ("free", "tg1", "expired") in bus.seen["b"]
    bus.floor("b").claim(fm.PRIO_NORMAL, 4200)
    bus.deliver(4210)
    assert bus.floor("b").talking


def test_talker_stops_when_its_lease_runs_out_without_renewal():
    bus = Bus(["a"])
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.deliver(0)
    bus.arb = None          # the arbiter is gone: no renewals
    evs = []
    for t in range(100, 4101, 100):
        evs += bus.floor("a").tick(t)
    assert ("cut", "tg1", "lease") in evs and not bus.floor("a").talking


def test_late_joiner_learns_the_talker_from_the_retained_grant():
    bus = Bus(["a", "b"])
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.deliver(10)
    last_grant = [r for r in bus.records if r.kind == G.GRANT][-1]
    late = Floor("tg1", "late", Outbox())
    evs = late.on_message(last_grant, 1050)
    assert ("talker", "tg1", "a", fm.PRIO_NORMAL) in evs
    assert late.talker() == "a" and late.busy_for(fm.PRIO_NORMAL) == "busy"


def test_unanswered_request_means_no_floor_service_and_no_talk():
    bus = Bus(["a"], arbiter=False)
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.deliver(0)
    assert bus.floor("a").tick(1400) == []
    evs = bus.floor("a").tick(1600)
    assert ("unanswered", "tg1") in evs and ("service", "tg1", False) in evs
    assert not bus.floor("a").talking and not bus.floor("a").service


def test_a_silent_arbiter_means_no_floor_service_until_it_speaks():
    f = Floor("tg1", "a", Outbox(), beacon_ms=10000)
    assert f.tick(0) == [] and f.tick(25000) == []
    assert ("service", "tg1", False) in f.tick(25100)
    evs = f.on_message(G.Record(G.IDLE, "tg1", "", 0, 0, 1, 1), 26000)
    assert ("service", "tg1", True) in evs and f.service


def test_a_grant_for_a_burst_the_radio_is_not_on_is_handed_back():
    ob = Outbox()
    f = Floor("tg1", "a", ob)
    f.on_message(G.Record(G.GRANT, "tg1", "a", 1, 99, 1, 1, 4000), 0)
    pubs = ob.drain()[0]
    m = fm.parse(pubs[-1][2])
    assert not f.talking and m.kind == fm.RELEASE and m.burst == 99


def test_let_go_before_the_grant_gives_it_back():
    bus = Bus(["a", "b"])
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.floor("a").abandon(5)
    bus.deliver(10)
    assert not bus.floor("a").talking and bus.floor("b").talker() is None
    assert bus.records[-1].kind == G.IDLE


def test_scan_plays_emergency_then_allcall_then_priority():
    s = Scan(["dinas", "kec", "pemkot"], selected="dinas", priority_tg="pemkot")
    assert s.on_talker("kec", "k1", fm.PRIO_NORMAL, 0) == "kec"
    assert s.on_talker("dinas", "d1", fm.PRIO_NORMAL, 10) == "dinas"      # selected outranks scanned
    assert s.on_talker("pemkot", "p1", fm.PRIO_NORMAL, 20) == "pemkot"    # priority talkgroup
    assert s.on_talker(ALLCALL, "cc", fm.PRIO_COMMAND, 30) == ALLCALL
    assert s.on_talker("kec", "k2", fm.PRIO_EMERGENCY, 40) == "kec"      # emergency beats everything
    assert s.on_free("kec", 50) == ALLCALL


def test_scan_talks_back_on_the_group_just_heard_then_falls_back():
    s = Scan(["dinas", "kec"], selected="dinas", hang_ms=4000)
    s.on_talker("kec", "k1", fm.PRIO_NORMAL, 0)
    s.on_free("kec", 1000)
    assert s.tx_talkgroup(2000) == "kec"
    assert s.tx_talkgroup(6000) == "dinas"


def test_every_cue_has_tone_led_and_both_languages():
    for name in feedback.CUES:
        assert feedback.duration_ms(name) > 0
        for f, ms in feedback.tone(name):
            assert f == 0 or 300 <= f <= 3400  # inside the 8 kHz telephone band
        assert feedback.meaning(name, "en") != feedback.meaning(name, "id")
    for needed in ("permit", "busy", "denied", "roger", "no_signal", "quota_low", "emergency", "rollcall",
                   "timeout_warning", "no_service"):
        assert needed in feedback.CUES


def test_floor_msg_naming_another_unit_than_its_topic_is_refused():
    b = fm.pack(fm.FloorMsg(fm.CLAIM, "u1", fm.PRIO_EMERGENCY, 0, 5, "tg1"))
    assert fm.parse(b, "u1").unit == "u1"
    try:
        fm.parse(b, "u2")
    except ValueError as e:
        assert "u2" in str(e)
    else:
        raise AssertionError("forged sender accepted")
