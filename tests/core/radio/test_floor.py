# Portable: floor messages, the floor fold, scan and the feedback table (CPython and MicroPython).
from ht.radio import floormsg as fm
from ht.radio import feedback
from ht.radio.floor import Floor, Outbox
from ht.radio.scan import Scan, ALLCALL


class Bus:
    # A broker for one topic in miniature: one log, delivered to every radio in the same order.
    def __init__(self, units, prios=None):
        self.radios = {}
        for u in units:
            ob = Outbox()
            self.radios[u] = (Floor("tg1", u, ob, burst_seed=len(self.radios) << 16), ob)
        self.queue = []
        self.seen = {u: [] for u in units}

    def collect(self):
        for u in self.radios:
            for kind, key, payload, qos, retain in self.radios[u][1].drain()[0]:
                assert kind == "floor" and key == "tg1" and qos == 1
                self.queue.append(payload)

    def deliver(self, now, only=None):
        # Deliver everything queued, in order, to every radio (or to `only`).
        self.collect()
        while self.queue:
            m = fm.parse(self.queue.pop(0))
            for u in self.radios:
                if only is None or u in only:
                    self.seen[u].extend(self.radios[u][0].on_message(m, now))
            self.collect()

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


def test_first_in_broker_order_wins_and_loser_hears_busy():
    bus = Bus(["a", "b", "c"])
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.floor("b").claim(fm.PRIO_NORMAL, 1)  # pressed later but before seeing a's claim
    bus.deliver(100)
    assert "granted" in kinds(bus.seen["a"])
    assert "lost" in kinds(bus.seen["b"]) and "granted" not in kinds(bus.seen["b"])
    assert bus.floor("a").talking and not bus.floor("b").talking
    assert bus.floor("c").talker() == "a" and bus.floor("b").talker() == "a"
    assert bus.floor("b").busy_for(fm.PRIO_NORMAL) == "busy"


def test_every_radio_folds_to_the_same_state():
    bus = Bus(["a", "b", "c"])
    bus.floor("b").claim(fm.PRIO_NORMAL, 0)
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.deliver(10)
    bus.floor("c").claim(fm.PRIO_EMERGENCY, 20)
    bus.deliver(30)
    states = set((f.epoch, f.holder, f.hburst) for f, _ in bus.radios.values())
    assert len(states) == 1
    assert bus.floor("a").holder == "c"


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


def test_release_frees_the_floor_for_everyone():
    bus = Bus(["a", "b"])
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.deliver(10)
    bus.floor("a").release(500)
    bus.deliver(510)
    assert bus.floor("b").talker() is None and bus.floor("a").holder is None
    bus.floor("b").claim(fm.PRIO_NORMAL, 600)
    bus.deliver(610)
    assert bus.floor("b").talking


def test_duplicate_claim_from_qos1_retry_is_ignored():
    bus = Bus(["a", "b"])
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.collect()
    bus.queue.append(bus.queue[0])  # the broker got the PUBLISH twice (DUP after a lost PUBACK)
    bus.deliver(10)
    assert bus.floor("a").talking and bus.floor("a").epoch == bus.floor("b").epoch == 1


def test_late_joiner_learns_talker_from_retained_heartbeat():
    bus = Bus(["a", "b"])
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.deliver(10)
    ob = Outbox()
    late = Floor("tg1", "late", ob)
    # the holder's heartbeats are published retained: the broker hands the last one to a new subscriber
    bus.floor("a").tick(1010)
    pubs = bus.radios["a"][1].drain()[0]
    retained = [p for _k, _key, p, _q, r in pubs if r]
    assert retained
    evs = late.on_message(fm.parse(retained[-1]), 1050)
    assert ("talker", "tg1", "a", fm.PRIO_NORMAL) in evs
    assert late.talker() == "a" and late.epoch == bus.floor("b").epoch


def test_holder_that_vanishes_frees_the_floor_by_heartbeat_timeout():
    bus = Bus(["a", "b"])
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.deliver(10)
    evs = bus.floor("b").tick(10 + 3000)
    assert bus.floor("b").talker() == "a" and "free" not in kinds(evs)
    evs = bus.floor("b").tick(10 + 3600)
    assert ("free", "tg1", "vanished") in evs and bus.floor("b").talker() is None
    # b's takeover claim is based on the burst it saw die, so every radio accepts it
    bus.floor("b").claim(fm.PRIO_NORMAL, 3700)
    bus.deliver(3710, only=["b"])
    assert bus.floor("b").talking


def test_last_will_frees_the_floor_at_once():
    bus = Bus(["a", "b"])
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.deliver(10)
    evs = bus.floor("b").holder_offline("a", 20)
    assert ("free", "tg1", "offline") in evs and bus.floor("b").busy_for(fm.PRIO_NORMAL) is None


def test_voice_frames_keep_a_silent_heartbeat_alive():
    bus = Bus(["a", "b"])
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.deliver(10)
    bus.floor("b").voice_seen("a", 3000)
    assert "free" not in kinds(bus.floor("b").tick(5000))


def test_claim_without_echo_reports_no_signal():
    ob = Outbox()
    f = Floor("tg1", "a", ob, claim_timeout_ms=3000)
    f.claim(fm.PRIO_NORMAL, 0)
    assert f.tick(2000) == []
    assert ("noecho", "tg1") in f.tick(3100)


def test_stale_heartbeat_from_preempted_talker_is_ignored():
    bus = Bus(["a", "cc", "c"])
    bus.floor("a").claim(fm.PRIO_NORMAL, 0)
    bus.deliver(10)
    old = fm.FloorMsg(fm.HEARTBEAT, "a", fm.PRIO_NORMAL, bus.floor("c").epoch, bus.floor("a").tx_burst, "tg1")
    bus.floor("cc").claim(fm.PRIO_COMMAND, 20)
    bus.deliver(30)
    bus.floor("c").on_message(old, 40)
    assert bus.floor("c").talker() == "cc"


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
                   "timeout_warning"):
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
