"""Deterministic discrete-event simulator of N radios, a broker and the talkgroup's floor arbiters.

The radios run the real firmware state machines (``ht.radio.floor.Floor`` behind ``ht.radio.ptt.PTT``) on CPython;
the arbiters run the real decision core (``htcc.arbiter.core.Arbiter``), a primary and, with ``standby=True``, a
standby that watches the primary's beat. Links are TCP-like: each direction of each radio has its own latency
(``LTELink``) and is FIFO, while messages from *different* senders reorder freely on their way to the arbiter.
``order="total"`` is one Mosquitto; ``order="per_publisher"`` keeps only what MQTT promises (a cluster): each
subscriber gets each publisher's messages in order, nothing more. The arbiter is the only publisher of records, so
the radios must agree either way (``disagreements``). Time is integer milliseconds; a seed gives one run.

Used by tests/firmware/test_floor_stateful.py (invariants) and bench/bench_floor.py (access, failover figures).
"""
import heapq
import random

from ht.radio import floormsg as fm
from ht.radio import grant as G
from ht.radio.floor import Floor, Outbox
from ht.radio.ptt import PTT
from htcc.arbiter.core import Arbiter


class LTELink:
    """One-way delay of one radio's LTE link, in ms.

    A fixed per-link base drawn in [base_lo, base_hi] (cell load and distance: 40-60 ms one way is what
    Telkomsel LTE shows to a broker in the same region), plus per-message jitter from an exponential
    distribution (mean ``jitter_mean``, capped at ``jitter_cap``: scheduling-request and HARQ retransmission
    delays), so the worst one-way delay is base_hi + jitter_cap.
    """

    def __init__(self, rng, base_lo=40, base_hi=60, jitter_mean=8, jitter_cap=60):
        self.rng = rng
        self.base = rng.randint(base_lo, base_hi)
        self.jitter_mean = jitter_mean
        self.jitter_cap = jitter_cap
        self.max_ms = base_hi + jitter_cap

    def delay(self):
        j = min(self.jitter_cap, int(self.rng.expovariate(1.0 / self.jitter_mean))) if self.jitter_mean else 0
        return self.base + j


class SimRadio:
    def __init__(self, sim, idx, unit, prio, rng):
        self.sim = sim
        self.idx = idx
        self.unit = unit
        self.prio = prio
        self.up = LTELink(rng, **sim.link_kw)
        self.down = LTELink(rng, **sim.link_kw)
        self.gen = 0  # connection generation: a reconnect drops what was in flight on the old TCP
        self.connected = True
        self.subscribed = True
        self.joined_at = 0
        self.up_last = 0
        self.down_last = 0
        self.pending_down = 0
        self.applied = []  # (epoch, seq) of every record this radio received, in order
        self.log = []  # (t, what, detail)
        self.boot(0)

    def boot(self, now):
        self.out = Outbox()
        self.floor = Floor(self.sim.tg, self.unit, self.out, hb_ms=self.sim.hb_ms,
                           burst_seed=self.sim.rng.getrandbits(24) << 8)
        self.ptt = PTT(self.floor, self.out, prio=self.prio, talk_timeout_ms=self.sim.talk_timeout_ms,
                       warn_ms=self.sim.warn_ms)


class Holder:
    """The floor as the arbiters' published records say (the reference the invariants judge against)."""

    def __init__(self):
        self.holder = None
        self.hburst = 0
        self.hprio = 0


class FloorSim:
    def __init__(self, n=3, seed=0, prios=None, tg="tg1", tick_ms=10, talk_timeout_ms=60000, warn_ms=10000,
                 hb_ms=1000, lease_ms=4000, link_kw=None, order="total", standby=False, arb_ms=2):
        if order not in ("total", "per_publisher"):
            raise ValueError("order must be total or per_publisher")
        self.order = order
        self.rng = random.Random(seed)
        self.tg = tg
        self.tick_ms = tick_ms
        self.talk_timeout_ms = talk_timeout_ms
        self.warn_ms = warn_ms
        self.hb_ms = hb_ms
        self.lease_ms = lease_ms
        self.hb_timeout_ms = lease_ms      # how long a vanished holder can keep the floor
        self.arb_ms = arb_ms               # broker <-> arbiter, one way (same data centre)
        self.link_kw = link_kw or {}
        prios = prios or [fm.PRIO_NORMAL] * n
        self.radios = [SimRadio(self, i, "u%02d" % i, prios[i], self.rng) for i in range(n)]
        kw = {"talkgroups": (tg,), "lease_ms": lease_ms, "renew_ms": hb_ms,
              "max_burst_ms": talk_timeout_ms + 5000}
        self.arbs = [Arbiter("arb-a", 1000, **kw)]
        if standby:
            self.arbs.append(Arbiter("arb-b", 0, active=False, now=0, **kw))
        self.alive = [True] * len(self.arbs)
        self.now = 0
        self._q = []
        self._seq = 0
        self._next_tick = 0
        self.retained = None  # the last retained record on the grants topic
        self.records = []  # every record published: (t, Record)
        self.auth = Holder()
        self.auth_since = {}  # (unit, burst) -> time a record made it the holder
        self.auth_until = {}  # (unit, burst) -> time a record stopped it being the holder
        self.arb_killed_at = None
        self.violations = []

    # ---- scheduling --------------------------------------------------------------------------
    def _at(self, t, kind, *args):
        self._seq += 1
        heapq.heappush(self._q, (t, self._seq, kind, args))

    def press(self, i, at=None):
        self._at(self.now if at is None else at, "press", i)

    def release(self, i, at=None):
        self._at(self.now if at is None else at, "release", i)

    def emergency(self, i, at=None, hot_ms=10000):
        self._at(self.now if at is None else at, "emergency", i, hot_ms)

    def vanish(self, i, at=None):
        self._at(self.now if at is None else at, "vanish", i)

    def rejoin(self, i, at=None):
        self._at(self.now if at is None else at, "rejoin", i)

    def kill_arbiter(self, k=0, at=None):
        self._at(self.now if at is None else at, "kill", k)

    def run_until(self, t_end):
        while True:
            t_ev = self._q[0][0] if self._q else None
            if t_ev is not None and t_ev <= self._next_tick and t_ev <= t_end:
                t, _s, kind, args = heapq.heappop(self._q)
                self.now = t
                getattr(self, "_ev_" + kind)(*args)
            elif self._next_tick <= t_end:
                self.now = self._next_tick
                self._tick_arbiters()
                for r in self.radios:
                    if r.connected:
                        r.ptt.tick(self.now)
                        self._drain(r)
                self._next_tick += self.tick_ms
                self.check()
            else:
                self.now = t_end
                return

    def run_for(self, ms):
        self.run_until(self.now + ms)

    # ---- the arbiters --------------------------------------------------------------------------
    def _tick_arbiters(self):
        for k, a in enumerate(self.arbs):
            if not self.alive[k]:
                continue
            self._publish(a.tick(self.now))
            if a.beat_due(self.now):
                for j in range(len(self.arbs)):
                    if j != k:
                        self._at(self.now + 2 * self.arb_ms, "beat", j, a.name, a.epoch)

    def _ev_beat(self, k, name, epoch):
        if self.alive[k]:
            self.arbs[k].on_beat(name, epoch, self.now)

    def _ev_kill(self, k):
        self.alive[k] = False
        self.arb_killed_at = self.now

    def _ev_arb_in(self, k, payload):
        if self.alive[k]:
            self._publish(self.arbs[k].on_floor(fm.parse(payload), self.now))

    def _ev_arb_rec(self, k, payload):
        if self.alive[k]:
            self.arbs[k].on_record(G.parse(payload), self.now)

    def _publish(self, recs):
        # An arbiter's records reach the broker arb_ms later, in its order; the broker fans them out.
        for r in recs:
            if r.tg == self.tg:      # the arbiters also beacon all-call, which this simulation leaves out
                self._at(self.now + self.arb_ms, "rec", G.pack(r), r.kind != G.REJECT)

    def _ev_rec(self, payload, retain):
        r = G.parse(payload)
        self.records.append((self.now, r))
        if retain:
            self.retained = payload
        self._judge(r)
        for k in range(len(self.arbs)):
            self._at(self.now + self.arb_ms, "arb_rec", k, payload)
        for s in self.radios:
            if s.subscribed:
                self._send_down(s, payload)

    def _judge(self, r):
        if r.kind == G.REJECT:
            return
        before = (self.auth.holder, self.auth.hburst)
        if r.kind == G.GRANT:
            self.auth.holder, self.auth.hburst, self.auth.hprio = r.unit, r.burst, r.prio
        else:
            self.auth.holder, self.auth.hburst, self.auth.hprio = None, 0, 0
        after = (self.auth.holder, self.auth.hburst)
        if before != after:
            if before[0] is not None:
                self.auth_until[before] = self.now
            if after[0] is not None:
                self.auth_since[after] = self.now
                self.auth_until.pop(after, None)

    # ---- radio events ------------------------------------------------------------------------
    def _ev_press(self, i):
        self._user(i, "press", lambda r: r.ptt.press(self.now))

    def _ev_release(self, i):
        self._user(i, "release", lambda r: r.ptt.release(self.now))

    def _ev_emergency(self, i, hot_ms):
        self._user(i, "emergency", lambda r: r.ptt.hot_mic(self.now, fm.PRIO_EMERGENCY, hot_ms))

    def _user(self, i, what, act):
        r = self.radios[i]
        if r.connected:
            r.log.append((self.now, what, None))
            act(r)
            self._drain(r)

    def _ev_vanish(self, i):
        r = self.radios[i]
        if r.connected:
            r.connected = r.subscribed = False
            r.gen += 1
            r.log.append((self.now, "vanish", None))

    def _ev_rejoin(self, i):
        r = self.radios[i]
        if r.connected:
            return
        r.connected = True
        r.gen += 1
        r.boot(self.now)  # a reboot: the floor state is rebuilt from what the arbiter tells it
        r.joined_at = self.now
        r.log.append((self.now, "rejoin", None))
        self._at(self.now + r.up.delay(), "subscribe", i, r.gen)

    def _ev_subscribe(self, i, gen):
        r = self.radios[i]
        if r.gen == gen:
            r.subscribed = True
            if self.retained is not None:
                self._send_down(r, self.retained)

    def _ev_up(self, i, gen, payload):
        if self.radios[i].gen != gen:
            return  # the TCP connection it was sent on is gone
        for k in range(len(self.arbs)):
            self._at(self.now + self.arb_ms, "arb_in", k, payload)

    def _ev_down(self, i, gen, payload):
        r = self.radios[i]
        r.pending_down -= 1
        if r.gen != gen:
            return
        rec = G.parse(payload)
        r.applied.append((rec.epoch, rec.seq))
        r.ptt.on_floor(rec, self.now)
        self._drain(r)

    def _send_down(self, r, payload):
        if self.order == "total":
            t = max(self.now + r.down.delay(), r.down_last)
        else:
            # independent per-message delays; the only publisher here is the arbiter, so FIFO still holds
            t = max(self.now + self.rng.randint(0, r.down.max_ms), r.down_last)
        r.down_last = t
        r.pending_down += 1
        self._at(t, "down", r.idx, r.gen, payload)

    def _drain(self, r):
        pubs, cues, events = r.out.drain()
        for _kind, _key, payload, _qos, _retain in pubs:
            if self.order == "total":
                t = max(self.now + r.up.delay(), r.up_last)
            else:
                t = max(self.now + self.rng.randint(0, r.up.max_ms), r.up_last)
            r.up_last = t
            self._at(t, "up", r.idx, r.gen, payload)
        for c in cues:
            r.log.append((self.now, "cue", c))
        for e in events:
            r.log.append((self.now, "event", e))

    # ---- invariants --------------------------------------------------------------------------
    def max_down_ms(self):
        return max(r.down.max_ms for r in self.radios) + 2 * self.arb_ms

    def talkers(self):
        return [r for r in self.radios if r.connected and r.floor.talking]

    def check(self):
        """Record invariant violations at this instant (the stateful test asserts there are none)."""
        t = self.now
        grace = self.max_down_ms() + self.tick_ms
        for r in self.talkers():
            key = (r.unit, r.floor.tx_burst)
            if key not in self.auth_since:
                self.violations.append((t, "%s talks on burst %r no grant named" % (r.unit, key)))
                continue
            until = self.auth_until.get(key)
            if until is not None and t - until > grace:
                self.violations.append((t, "%s still talking %d ms after its grant ended" % (r.unit, t - until)))
            if t - r.ptt._talk_start > self.talk_timeout_ms + self.tick_ms:
                self.violations.append((t, "%s talked past the talk timeout" % r.unit))
        live = [r for r in self.talkers() if (r.unit, r.floor.tx_burst) == (self.auth.holder, self.auth.hburst)]
        if len(live) > 1:
            self.violations.append((t, "two radios hold the same grant"))

    # ---- measurements ------------------------------------------------------------------------
    def first(self, r, what, detail_pred, after):
        for t, w, d in r.log:
            if t >= after and w == what and detail_pred(d):
                return t
        return None

    def disagreements(self):
        """Radios that applied records out of the arbiters' order (never, if only per-publisher order holds)."""
        bad = 0
        for r in self.radios:
            if any(b <= a for a, b in zip(r.applied, r.applied[1:]) if b[0] == a[0]):
                bad += 1
        return bad

    def settled_holder(self):
        """(holder unit, burst) if every connected, subscribed radio agrees with the records and nothing is in
        flight; else None."""
        if any(r.pending_down for r in self.radios if r.connected):
            return None
        for r in self.radios:
            if r.connected and r.subscribed and (r.floor.holder, r.floor.hburst if r.floor.holder else 0) != (
                    self.auth.holder, self.auth.hburst):
                return None
        return (self.auth.holder, self.auth.hburst)

    def agreed(self):
        """At most one talker, and every connected radio names it (or no one) as the holder."""
        talkers = self.talkers()
        if len(talkers) > 1:
            return False
        want = talkers[0].unit if talkers else None
        return all(r.floor.holder == want for r in self.radios if r.connected and r.subscribed)

    def state(self, i):
        return self.radios[i].ptt.state
