"""Deterministic discrete-event simulator of N radios' floor logic over a broker-like total order.

The radios run the real firmware state machines (``ht.radio.floor.Floor`` behind ``ht.radio.ptt.PTT``) on CPython. The
"broker" is what Mosquitto is for one subscription filter (``ht/<f>/tg/<tg>/f/+``): it takes each PUBLISH when
it arrives, appends it to one log, keeps the last retained message per sender topic, and queues it to every
subscriber. Links are TCP-like: each direction of each radio
has its own latency (``LTELink``) and is FIFO (a message never overtakes an earlier one on the same link), while
messages from *different* senders reorder freely. Time is integer milliseconds; the same seed gives the same run.

Used by tests/firmware/test_floor_stateful.py (invariants) and bench/bench_floor.py (access and collision figures).
"""
import heapq
import random

from ht.radio import floormsg as fm
from htsim.foldref.floor import Floor, Outbox
from htsim.foldref.ptt import PTT
from htsim.floorsim import LTELink   # the same link model as the arbiter's simulator


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
        self.down_last_from = {}  # order="per_publisher": FIFO only per (publisher, subscriber) pair
        self.pending_down = 0
        self.log = []  # (t, what, detail)
        self.boot(0)

    def boot(self, now):
        self.out = Outbox()
        self.floor = Floor(self.sim.tg, self.unit, self.out, hb_ms=self.sim.hb_ms,
                           hb_timeout_ms=self.sim.hb_timeout_ms,
                           max_burst_ms=self.sim.talk_timeout_ms + 2 * self.sim.hb_ms,
                           burst_seed=self.sim.rng.getrandbits(24) << 8)
        self.ptt = PTT(self.floor, self.out, prio=self.prio, talk_timeout_ms=self.sim.talk_timeout_ms,
                       warn_ms=self.sim.warn_ms)


class FloorSim:
    def __init__(self, n=3, seed=0, prios=None, tg="tg1", tick_ms=10, talk_timeout_ms=60000, warn_ms=10000,
                 hb_ms=1000, hb_timeout_ms=3500, lwt_ms=None, link_kw=None, order="total"):
        # order="total": what one Mosquitto gives (docs/FLOOR.md section 1). "per_publisher": only what the
        # MQTT spec promises (a bridge or cluster): each subscriber may interleave publishers differently.
        if order not in ("total", "per_publisher"):
            raise ValueError("order must be total or per_publisher")
        self.order = order
        self.rng = random.Random(seed)
        self.tg = tg
        self.tick_ms = tick_ms
        self.talk_timeout_ms = talk_timeout_ms
        self.warn_ms = warn_ms
        self.hb_ms = hb_ms
        self.hb_timeout_ms = hb_timeout_ms
        # The broker sees a dead TCP only after 1.5 x keepalive (MQTT 3.1.1 section 3.1.2.10); 30 s keepalive.
        self.lwt_ms = 45000 if lwt_ms is None else lwt_ms
        self.link_kw = link_kw or {}
        prios = prios or [fm.PRIO_NORMAL] * n
        self.radios = [SimRadio(self, i, "u%02d" % i, prios[i], self.rng) for i in range(n)]
        self.now = 0
        self._q = []
        self._seq = 0
        self._next_tick = 0
        self.retained = {}  # sender unit -> last retained floor payload on its topic
        self.log = []  # broker order: (t, FloorMsg)
        # The broker's own fold of the log: what every radio converges to once it has heard everything.
        self.auth = Floor(tg, "~broker", Outbox())
        self.auth_since = {}  # (unit, burst) -> time the log made it the holder
        self.auth_until = {}  # (unit, burst) -> time the log stopped it being the holder
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

    def run_until(self, t_end):
        while True:
            t_ev = self._q[0][0] if self._q else None
            if t_ev is not None and t_ev <= self._next_tick and t_ev <= t_end:
                t, _s, kind, args = heapq.heappop(self._q)
                self.now = t
                getattr(self, "_ev_" + kind)(*args)
            elif self._next_tick <= t_end:
                self.now = self._next_tick
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

    # ---- events ------------------------------------------------------------------------------
    def _ev_press(self, i):
        r = self.radios[i]
        if r.connected:
            r.log.append((self.now, "press", None))
            r.ptt.press(self.now)
            self._drain(r)

    def _ev_release(self, i):
        r = self.radios[i]
        if r.connected:
            r.log.append((self.now, "release", None))
            r.ptt.release(self.now)
            self._drain(r)

    def _ev_emergency(self, i, hot_ms):
        r = self.radios[i]
        if r.connected:
            r.log.append((self.now, "emergency", None))
            r.ptt.hot_mic(self.now, fm.PRIO_EMERGENCY, hot_ms)
            self._drain(r)

    def _ev_vanish(self, i):
        r = self.radios[i]
        if not r.connected:
            return
        r.connected = r.subscribed = False
        r.gen += 1
        r.log.append((self.now, "vanish", None))
        self._at(self.now + self.lwt_ms, "lwt", r.unit, r.gen)

    def _ev_rejoin(self, i):
        r = self.radios[i]
        if r.connected:
            return
        r.connected = True
        r.gen += 1
        r.boot(self.now)  # a reboot: the floor state is rebuilt from what the broker tells it
        r.joined_at = self.now
        r.log.append((self.now, "rejoin", None))
        self._at(self.now + r.up.delay(), "subscribe", i, r.gen)

    def _ev_subscribe(self, i, gen):
        r = self.radios[i]
        if r.gen != gen:
            return
        r.subscribed = True
        # one retained message per sender topic (ht/<f>/tg/<tg>/f/<unit>); the broker hands them over in
        # no promised order, so shuffle: the fold must not care (highest epoch wins)
        kept = [self.retained[u] for u in sorted(self.retained)]
        self.rng.shuffle(kept)
        for payload in kept:
            self._send_down(r, ("floor", payload))

    def _ev_lwt(self, unit, gen):
        src = [r for r in self.radios if r.unit == unit][0]
        if src.gen != gen:
            return  # it came back before the broker noticed
        for r in self.radios:
            if r.subscribed:
                self._send_down(r, ("lwt", unit))

    def _ev_up(self, i, gen, payload, retain):
        r = self.radios[i]
        if r.gen != gen:
            return  # the TCP connection it was sent on is gone
        m = fm.parse(payload)
        self.log.append((self.now, m))
        if retain:
            self.retained[m.unit] = payload
        before = (self.auth.holder, self.auth.hburst)
        self.auth.on_message(m, self.now)
        after = (self.auth.holder, self.auth.hburst)
        if before != after:
            if before[0] is not None:
                self.auth_until[before] = self.now
            if after[0] is not None:
                self.auth_since[after] = self.now
        for s in self.radios:
            if s.subscribed:
                self._send_down(s, ("floor", payload), sender=i)

    def _ev_down(self, i, gen, item):
        r = self.radios[i]
        r.pending_down -= 1
        if r.gen != gen:
            return
        if item[0] == "floor":
            r.ptt.on_floor(fm.parse(item[1]), self.now)
        else:
            r.ptt.holder_offline(item[1], self.now)
        self._drain(r)

    def _send_down(self, r, item, sender=None):
        if self.order == "total":
            t = max(self.now + r.down.delay(), r.down_last)
            r.down_last = t
        else:
            # independent per-message delays (up to the link's worst case) keep only per-publisher FIFO
            t = max(self.now + self.rng.randint(0, r.down.max_ms), r.down_last_from.get(sender, 0))
            r.down_last_from[sender] = t
        r.pending_down += 1
        self._at(t, "down", r.idx, r.gen, item)

    def _drain(self, r):
        pubs, cues, events = r.out.drain()
        for kind, _key, payload, _qos, retain in pubs:
            t = max(self.now + r.up.delay(), r.up_last)
            r.up_last = t
            self._at(t, "up", r.idx, r.gen, payload, retain)
        for c in cues:
            r.log.append((self.now, "cue", c))
        for e in events:
            r.log.append((self.now, "event", e))

    # ---- invariants --------------------------------------------------------------------------
    def max_down_ms(self):
        return max(r.down.max_ms for r in self.radios)

    def talkers(self):
        return [r for r in self.radios if r.connected and r.floor.talking]

    def check(self):
        """Record invariant violations at this instant (the stateful test asserts there are none)."""
        if self.order != "total":
            return  # there is no single log to judge against; see agreed() instead
        t = self.now
        grace = self.max_down_ms() + self.tick_ms
        for r in self.talkers():
            key = (r.unit, r.floor.tx_burst)
            if key not in self.auth_since:
                self._lonely_talker(r, key)
                continue
            until = self.auth_until.get(key)
            if until is not None and t - until > grace:
                self.violations.append((t, "%s still talking %d ms after the log gave the floor away"
                                        % (r.unit, t - until)))
            if t - r.ptt._talk_start > self.talk_timeout_ms + self.tick_ms:
                self.violations.append((t, "%s talked past the talk timeout" % r.unit))
        live = [r for r in self.talkers() if (r.unit, r.floor.tx_burst) == (self.auth.holder, self.auth.hburst)]
        if len(live) > 1:
            self.violations.append((t, "two radios hold the same burst"))

    def _lonely_talker(self, r, key):
        # Talking on a burst the log never granted: a radio transmitting into nothing. It only counts as a
        # violation when another connected radio is also talking (two talkers on the talkgroup).
        others = [o for o in self.talkers() if o is not r]
        if others:
            self.violations.append((self.now, "%s talks on burst %r the log never granted" % (r.unit, key)))

    # ---- measurements ------------------------------------------------------------------------
    def first(self, r, what, detail_pred, after):
        for t, w, d in r.log:
            if t >= after and w == what and detail_pred(d):
                return t
        return None

    def settled_holder(self):
        """(holder unit, tx burst) if every connected, subscribed radio agrees with the log and nothing is
        in flight; else None."""
        if any(r.pending_down for r in self.radios if r.connected):
            return None
        for r in self.radios:
            if r.connected and r.subscribed and (r.floor.holder, r.floor.hburst) != (self.auth.holder,
                                                                                      self.auth.hburst):
                return None
        return (self.auth.holder, self.auth.hburst)

    def agreed(self):
        """At most one talker, and every connected radio names it (or no one) as the holder."""
        talkers = self.talkers()
        if len(talkers) > 1:
            return False
        want = talkers[0].unit if talkers else None
        return all(r.floor.talker() in (want, None) if want is None else r.floor.holder == want
                   for r in self.radios if r.connected)

    def state(self, i):
        return self.radios[i].ptt.state
