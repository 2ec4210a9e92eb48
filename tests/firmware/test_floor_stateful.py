"""Hypothesis stateful tests of floor control: 2-5 radios and the talkgroup's arbiter in floorsim, random presses,
releases, priorities, emergencies, vanishing and rejoining radios, per-link LTE latencies (so requests from
different senders reach the arbiter in a different order than they were pressed), total or per-publisher order.

Invariants (checked every simulated 10 ms by FloorSim.check and after every step here):
- never two radios hold a grant at once: a radio still talking after the arbiter's records gave the floor away
  stops within one downlink delay;
- a radio talks only under a grant naming its burst;
- emergency always pre-empts; talk timeout always ends a burst;
- a late joiner learns the talker; the floor never stays stuck on a holder that vanished.
"""
import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ht.radio import floormsg as fm
from ht.radio import grant as G
from htsim.floorsim import FloorSim

TALK_TIMEOUT = 8000  # short so random runs hit it often; the production default is 60 s


class FloorMachine(RuleBasedStateMachine):
    @initialize(n=st.integers(2, 5), seed=st.integers(0, 2 ** 16), data=st.data(),
                base_lo=st.integers(5, 60), spread=st.integers(0, 80), jitter=st.integers(0, 40),
                order=st.sampled_from(["total", "per_publisher"]))
    def setup(self, n, seed, data, base_lo, spread, jitter, order):
        prios = data.draw(st.lists(st.sampled_from([fm.PRIO_NORMAL, fm.PRIO_COMMAND]), min_size=n, max_size=n))
        link = {"base_lo": base_lo, "base_hi": base_lo + spread, "jitter_mean": jitter, "jitter_cap": 3 * jitter}
        self.sim = FloorSim(n=n, seed=seed, prios=prios, talk_timeout_ms=TALK_TIMEOUT, warn_ms=2000,
                            hb_ms=1000, lease_ms=4000, link_kw=link, order=order)
        self.n = n

    def bound(self):
        # one round trip through the broker at the worst link delay, plus tick granularity
        return 2 * max(max(r.up.max_ms, r.down.max_ms) for r in self.sim.radios) + 3 * self.sim.tick_ms

    def idx(self, data):
        return data.draw(st.integers(0, self.n - 1))

    @rule(data=st.data(), after=st.integers(0, 200))
    def press(self, data, after):
        self.sim.press(self.idx(data), at=self.sim.now + after)

    @rule(data=st.data(), after=st.integers(0, 200))
    def release(self, data, after):
        self.sim.release(self.idx(data), at=self.sim.now + after)

    @rule(ms=st.integers(1, 3000))
    def advance(self, ms):
        self.sim.run_for(ms)

    @rule()
    def long_wait(self):
        self.sim.run_for(TALK_TIMEOUT + 2000)
        # talk timeout always ends a burst: nothing started before this wait is still on air
        for r in self.sim.talkers():
            assert self.sim.now - r.ptt._talk_start <= TALK_TIMEOUT + self.sim.tick_ms

    @precondition(lambda self: self.sim.auth.hprio < fm.PRIO_EMERGENCY and not any(
        r.floor.mine is not None and r.floor.mine[1] == fm.PRIO_EMERGENCY for r in self.sim.radios))
    @rule(data=st.data())
    def emergency(self, data):
        i = self.idx(data)
        r = self.sim.radios[i]
        if not (r.connected and r.subscribed) or r.floor.busy_for(fm.PRIO_EMERGENCY) is not None:
            return
        self.sim.emergency(i, hot_ms=5000)
        self.sim.run_for(self.bound())
        # emergency always pre-empts: it talks, and nobody else does
        assert r.floor.talking, r.log[-8:]
        others = [o.unit for o in self.sim.talkers() if o is not r]
        assert not others, others

    @rule(data=st.data())
    def vanish(self, data):
        i = self.idx(data)
        r = self.sim.radios[i]
        if not r.connected or sum(1 for x in self.sim.radios if x.connected) < 2:
            return
        self.sim.vanish(i)
        self.sim.run_for(self.sim.hb_timeout_ms + self.bound() + 2 * self.sim.tick_ms)
        # the floor never stays stuck on a holder that vanished
        if not r.connected:
            for o in self.sim.radios:
                if o.connected:
                    assert o.floor.talker() != r.unit, (o.unit, o.log[-6:])
            # ... and a press now gets a talker on the air (the floor is not stuck in the log either)
            idle = [o for o in self.sim.radios if o.connected and o.subscribed and o.ptt.state == "idle"
                    and o.floor.mine is None]
            if idle:
                self.sim.press(idle[0].idx)
                self.sim.run_for(self.bound())
                assert self.sim.talkers(), [(o.unit, o.ptt.state, o.log[-4:]) for o in self.sim.radios]
                self.sim.release(idle[0].idx)

    @rule(data=st.data())
    def rejoin(self, data):
        i = self.idx(data)
        r = self.sim.radios[i]
        if r.connected:
            return
        holder_before = [o for o in self.sim.talkers()]
        self.sim.rejoin(i)
        self.sim.run_for(self.sim.hb_ms + self.bound() + 2 * self.sim.tick_ms)
        # a late joiner learns who is talking (from the retained grant, or the next renewal)
        for h in holder_before:
            if h.floor.talking and (h.unit, h.floor.tx_burst) == (self.sim.auth.holder, self.sim.auth.hburst):
                assert r.floor.talker() == h.unit, (h.unit, r.log)

    @invariant()
    def no_violation(self):
        if hasattr(self, "sim"):
            assert self.sim.violations == [], self.sim.violations[:3]
            assert self.sim.disagreements() == 0


FloorMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None,
                                          suppress_health_check=[HealthCheck.too_slow])
TestFloorStateful = FloorMachine.TestCase


def test_collision_resolves_to_one_agreed_talker_across_seeds():
    # Two presses 0-20 ms apart, many link draws: exactly one talker, and every radio names the same one.
    for seed in range(200):
        sim = FloorSim(n=3, seed=seed)
        sim.press(0, at=100)
        sim.press(1, at=100 + seed % 21)
        sim.run_until(1000)
        assert len(sim.talkers()) == 1
        holder = sim.settled_holder()
        assert holder is not None and holder[0] == sim.talkers()[0].unit
        assert sim.violations == []


# ---- round trips and the field card (CPython-only: hypothesis, file reads) ----------------------------
import pathlib  # noqa: E402

from hypothesis import given  # noqa: E402

from ht.radio import feedback, presence  # noqa: E402

names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=16).filter(
    lambda s: 0 < len(s.encode()) <= 64)


@given(kind=st.sampled_from(sorted(fm.KIND_NAMES)), unit=names, tg=names,
       prio=st.sampled_from(sorted(fm.PRIO_NAMES)), epoch=st.integers(0, 2 ** 32 - 1),
       burst=st.integers(0, 2 ** 32 - 1), t=st.integers(0, 2 ** 32 - 1), reason=st.integers(0, 255))
def test_floor_msg_round_trip(kind, unit, tg, prio, epoch, burst, t, reason):
    m = fm.FloorMsg(kind, unit, prio, epoch, burst, tg, t, reason)
    assert fm.parse(fm.pack(m)) == m


@given(st.binary(max_size=80))
def test_floor_msg_parse_never_crashes_on_garbage(buf):
    try:
        fm.parse(buf)
    except ValueError:
        pass


@given(unit=names, stage=st.sampled_from(presence.STAGES), battery=st.none() | st.integers(0, 100),
       signal=st.none() | st.integers(-150, 0), plan=st.sampled_from(presence.PLAN_STATES),
       fw=st.none() | st.text(min_size=1, max_size=12))
def test_presence_round_trip(unit, stage, battery, signal, plan, fw):
    p = presence.presence_payload(unit, stage, battery, signal, plan, fw)
    assert presence.parse_presence(p) == {"unit": unit, "stage": stage, "battery": battery, "signal": signal,
                                          "plan": plan, "fw": fw, "note": "", "interval_s": 0}


def test_quick_reference_card_lists_every_cue():
    card = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "QUICKREF.md").read_text()
    section = card.split("## Arti nada")[1].split("## ")[0]
    rows = [ln for ln in section.splitlines() if ln.startswith("|") and not ln.startswith("|---")][1:]
    assert len(rows) == len(feedback.CUES), "QUICKREF tone table and ht.radio.feedback.CUES are out of step"


def _shape(name):
    # What a person can tell apart by ear: how many tones, whether the melody goes up, down or stays, and
    # whether it starts low (< 700 Hz), mid or high (>= 1400 Hz). Silences separate tones, they are not tones.
    tones = [f for f, _ms in feedback.tone(name) if f]
    contour = tuple((b > a) - (b < a) for a, b in zip(tones, tones[1:]))
    band = 0 if tones[0] < 700 else 1 if tones[0] < 1400 else 2
    return len(tones), contour, band


def test_no_two_tones_can_be_confused():
    # issue 13: "two falling tones" (quota low) vs "two long falling tones" (denied) and two-rising permit vs
    # online were told apart only by length; every cue now has its own shape, and the card names it.
    shapes = {}
    for name in feedback.CUES:
        shapes.setdefault(_shape(name), []).append(name)
    assert not [names for names in shapes.values() if len(names) > 1]


def test_per_publisher_order_gives_no_disagreement_with_the_arbiter():
    # A cluster interleaves publishers differently per subscriber (only what MQTT 3.1.1 promises). The records
    # have one publisher, the arbiter, so every radio applies them in its order: one talker, all agree.
    for seed in range(150):
        sim = FloorSim(n=4, seed=seed, order="per_publisher")
        sim.press(0, at=100)
        sim.press(1, at=100 + seed % 5)
        sim.press(2, at=100 + seed % 7)
        sim.run_until(1000)
        assert len(sim.talkers()) == 1 and sim.agreed()
        assert sim.disagreements() == 0 and sim.violations == []


def test_standby_takes_over_mid_burst_without_a_second_grant():
    for seed in range(20):
        sim = FloorSim(n=3, seed=seed, standby=True)
        sim.press(0, at=100)
        sim.run_until(1500)
        talker = sim.talkers()[0]
        sim.kill_arbiter(0, at=1500 + seed * 37)
        sim.press(1, at=2500)          # a competing press during the failover gets busy, not a grant
        sim.run_until(8000)
        assert sim.talkers() == [talker] and sim.violations == []
        epochs = sorted(set(r.epoch for _t, r in sim.records))
        assert len(epochs) == 2 and sim.arbs[1].active
        new = [(t, r) for t, r in sim.records if r.epoch == epochs[1]]
        assert all(r.unit == talker.unit for _t, r in new if r.kind == G.GRANT)
        assert new[0][0] - sim.arb_killed_at <= 3000
