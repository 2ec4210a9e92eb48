# Portable: PTT debounce and the PTT state machine as the user hears it (tones) and sees it (states).
from ht.radio import floormsg as fm
from ht.radio import grant as G
from ht.radio.floor import Floor, Outbox
from ht.radio import ptt as P
from htcc.arbiter.core import Arbiter


class Net:
    # Radios and the talkgroup's arbiter: deliver() hands every floor msg to the arbiter and every record it
    # publishes to all radios, in the arbiter's order.
    def __init__(self, prios):
        self.arb = Arbiter("a1", 1, talkgroups=("tg1",))
        self.r = {}
        for i, u in enumerate(sorted(prios)):
            ob = Outbox()
            f = Floor("tg1", u, ob, burst_seed=i << 20)
            self.r[u] = (P.PTT(f, ob, prio=prios[u], talk_timeout_ms=60000, warn_ms=10000), ob)
        self.cues = {u: [] for u in prios}
        self.events = {u: [] for u in prios}

    def ptt(self, u):
        return self.r[u][0]

    def _collect(self):
        q = []
        for u in sorted(self.r):
            pubs, cues, evs = self.r[u][1].drain()
            self.cues[u].extend(cues)
            self.events[u].extend(evs)
            q.extend(p for k, _key, p, _q, _r in pubs if k == "floor")
        return q

    def deliver(self, now, recs=()):
        q = self._collect()
        recs = list(recs)
        while q or recs:
            for b in q:
                recs.extend(self.arb.on_floor(fm.parse(b), now))
            q = []
            for r in recs:
                r = G.parse(G.pack(r))
                for u in sorted(self.r):
                    self.r[u][0].on_floor(r, now)
            recs = []
            q.extend(self._collect())

    def tick(self, now):
        for u in sorted(self.r):
            self.r[u][0].tick(now)
        self.deliver(now, [r for r in self.arb.tick(now) if r.tg == "tg1"])


def test_debounce_ignores_glitches_shorter_than_filter():
    d = P.Debounce(filter_ms=30, active_low=True)
    assert d.update(1, 0) == 0
    # a 20 ms low spike (LTE PA burst coupling into the cable) must not key the radio
    assert d.update(0, 100) == 0
    assert d.update(0, 110) == 0
    assert d.update(1, 120) == 0
    assert d.update(1, 200) == 0
    assert not d.pressed


def test_debounce_accepts_a_real_press_and_release_once():
    d = P.Debounce(filter_ms=30)
    edges = []
    t = 0
    # bouncing contact for 12 ms, then held 500 ms, then bouncing release
    for lvl in (0, 1, 0, 1, 0, 0):
        edges.append(d.update(lvl, t))
        t += 2
    for _ in range(50):
        edges.append(d.update(0, t))
        t += 10
    for lvl in (1, 0, 1, 1):
        edges.append(d.update(lvl, t))
        t += 3
    for _ in range(10):
        edges.append(d.update(1, t))
        t += 10
    assert [e for e in edges if e] == [1, -1]


def test_press_on_free_channel_gives_permit_then_roger_on_release():
    n = Net({"a": fm.PRIO_NORMAL, "b": fm.PRIO_NORMAL})
    n.ptt("a").press(0)
    assert n.ptt("a").state == P.REQUESTING
    n.deliver(100)
    assert n.ptt("a").state == P.TALKING and "permit" in n.cues["a"]
    assert ("tx_start", "tg1", n.ptt("a").floor.tx_burst) in n.events["a"]
    assert n.ptt("b").state == P.RECEIVING and n.ptt("b").floor.talker() == "a"
    n.ptt("a").release(2000)
    n.deliver(2100)
    assert "roger" in n.cues["a"] and ("tx_stop", "tg1") in n.events["a"]
    assert n.ptt("a").state == P.IDLE and n.ptt("b").state == P.IDLE
    assert "rx_end" in n.cues["b"]


def test_busy_tone_when_pressing_while_someone_talks():
    n = Net({"a": fm.PRIO_NORMAL, "b": fm.PRIO_NORMAL})
    n.ptt("a").press(0)
    n.deliver(100)
    n.ptt("b").press(500)
    n.deliver(600)
    assert n.ptt("b").state == P.BUSY and n.cues["b"] == ["busy"]
    assert n.ptt("a").state == P.TALKING
    n.ptt("b").release(900)
    assert n.ptt("b").state == P.RECEIVING


def test_denied_when_higher_priority_holds_and_preemption_cuts_the_lower():
    n = Net({"a": fm.PRIO_NORMAL, "cc": fm.PRIO_COMMAND})
    n.ptt("a").press(0)
    n.deliver(100)
    n.ptt("cc").press(200)
    n.deliver(300)
    assert n.ptt("cc").state == P.TALKING
    assert "preempted" in n.cues["a"] and n.ptt("a").state == P.DENIED  # still holding PTT
    n.ptt("a").release(400)
    n.ptt("a").press(500)
    n.deliver(500)
    assert n.ptt("a").state == P.DENIED and n.cues["a"][-1] == "denied"


def test_talk_timeout_warns_then_cuts_and_frees_the_floor():
    n = Net({"a": fm.PRIO_NORMAL, "b": fm.PRIO_NORMAL})
    n.ptt("a").press(0)
    n.deliver(100)
    t = 100
    while t < 49000:
        t += 500
        n.tick(t)
    assert "timeout_warning" not in n.cues["a"]
    while t < 51000:
        t += 500
        n.tick(t)
    assert "timeout_warning" in n.cues["a"] and n.ptt("a").state == P.TALKING
    while t < 60500:
        t += 500
        n.tick(t)
    assert "timeout_cut" in n.cues["a"] and n.ptt("a").state != P.TALKING
    assert not n.ptt("a").floor.talking and n.ptt("b").floor.talker() is None
    # still holding the button: nothing happens until it is released and pressed again
    n.tick(61000)
    assert n.ptt("a").state == P.IDLE
    n.ptt("a").release(61500)
    n.ptt("a").press(62000)
    n.deliver(62100)
    assert n.ptt("a").state == P.TALKING


def test_release_before_grant_gives_the_floor_straight_back():
    n = Net({"a": fm.PRIO_NORMAL, "b": fm.PRIO_NORMAL})
    n.ptt("a").press(0)
    n.ptt("a").release(20)
    n.deliver(100)
    assert n.ptt("a").state == P.IDLE and "permit" not in n.cues["a"]
    assert n.ptt("b").floor.talker() is None


def test_collision_one_talker_other_busy():
    n = Net({"a": fm.PRIO_NORMAL, "b": fm.PRIO_NORMAL})
    n.ptt("b").press(0)
    n.ptt("a").press(3)
    n.deliver(100)
    talking = [u for u in ("a", "b") if n.ptt(u).state == P.TALKING]
    assert talking == ["a"]  # first published (here: "a" drains first) is first in broker order
    assert n.ptt("b").state == P.BUSY and "busy" in n.cues["b"]


def test_hot_mic_transmits_without_ptt_then_ends_itself():
    n = Net({"a": fm.PRIO_NORMAL, "b": fm.PRIO_NORMAL})
    n.ptt("b").press(0)
    n.deliver(100)
    n.ptt("a").hot_mic(200, fm.PRIO_EMERGENCY, 10000)
    n.deliver(300)
    assert n.ptt("a").state == P.TALKING and "preempted" in n.cues["b"]
    for t in range(500, 5001, 500):
        n.tick(t)
    assert n.ptt("a").state == P.TALKING
    for t in range(5500, 10301, 400):
        n.tick(t)
    assert n.ptt("a").state in (P.RELEASING, P.IDLE) and n.ptt("b").floor.talker() is None


def test_no_floor_service_when_the_request_is_never_answered():
    ob = Outbox()
    p = P.PTT(Floor("tg1", "a", ob), ob)
    p.press(0)
    p.tick(1000)
    assert p.state == P.REQUESTING
    p.tick(1600)
    pubs, cues, evs = ob.drain()
    assert "no_service" in cues and p.state == P.IDLE and not p.floor.service
    assert "tx_start" not in [e[0] for e in evs]      # never talks without a grant


def test_talker_cut_when_the_arbiter_stops_renewing():
    n = Net({"a": fm.PRIO_NORMAL})
    n.ptt("a").press(0)
    n.deliver(100)
    assert n.ptt("a").state == P.TALKING
    for t in range(200, 5000, 100):
        n.ptt("a").tick(t)      # the arbiter is gone: heartbeats go nowhere, no renewal comes
    n._collect()
    assert ("tx_stop", "tg1") in n.events["a"] and "no_service" in n.cues["a"]
    assert n.ptt("a").state != P.TALKING


def test_ptt_follows_scan_to_another_talkgroup_only_between_bursts():
    ob = Outbox()
    f1 = Floor("tg1", "a", ob)
    f2 = Floor("tg2", "a", ob)
    p = P.PTT(f1, ob)
    p.press(0)
    assert not p.use(f2, 10) and p.floor is f1  # mid-claim: stays
    p.release(20)
    assert p.use(f2, 30) and p.floor is f2
    p.press(40)
    claims = [fm.parse(pl) for k, key, pl, q, r in ob.drain()[0] if k == "floor"]
    assert claims[-1].tg == "tg2"


def test_emergency_reclaim_without_echo_keeps_the_current_burst():
    n = Net({"a": fm.PRIO_NORMAL, "b": fm.PRIO_NORMAL})
    n.ptt("a").press(0)
    n.deliver(100)
    n.ptt("a").hot_mic(1000, fm.PRIO_EMERGENCY, 10000)
    n._collect()  # the emergency claim is lost on the way (link stall)
    n.tick(1200)
    n.ptt("a").tick(2600)
    n._collect()
    assert n.ptt("a").state == P.TALKING and n.ptt("a").floor.talking
    assert "no_service" in n.cues["a"]
