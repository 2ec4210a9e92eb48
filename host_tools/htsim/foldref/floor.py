# Floor control for one talkgroup: a replicated state machine folded over the broker's order of the
# talkgroup's floor topic (design and correctness argument: docs/FLOOR.md). Pure logic: messages and
# now_ms go in, publications and events come out through an Outbox. No clocks, no I/O.
from ht.compat import ticks_diff, ticks_add
from ht.radio import floormsg as fm
from ht.radio.floor import Outbox  # noqa: F401 (the same outbox as the radio's; foldsim imports it here)

_RECENT = 32  # claim keys remembered to drop QoS 1 duplicates; far more than claims per heartbeat timeout


class Floor:
    def __init__(self, tg, unit, outbox, hb_ms=1000, hb_timeout_ms=3500, max_burst_ms=65000,
                 claim_timeout_ms=3000, burst_seed=0):
        self.tg = tg
        self.unit = unit
        self.out = outbox
        self.hb_ms = hb_ms
        self.hb_timeout_ms = hb_timeout_ms
        self.max_burst_ms = max_burst_ms
        self.claim_timeout_ms = claim_timeout_ms
        # Log state: changes only on messages, in broker order, identically on every radio.
        self.epoch = 0
        self.holder = None
        self.hprio = 0
        self.hburst = 0
        # Local view: liveness of the holder as this radio sees it (times are local ticks).
        self.since = 0
        self.seen = 0
        self.dead = False
        self.confirmed = False  # the holder has proved itself with a heartbeat (not only a claim)
        self._recent = []
        self.mine = None  # [burst, prio, sent_ms, abandoned] while my claim is in flight
        self.talking = False
        self.my_burst = burst_seed & 0xFFFFFFFF
        self.tx_burst = 0
        self.tx_prio = 0
        self._next_hb = 0
        self._evs = []

    # ---- views -------------------------------------------------------------------------------
    def talker(self):
        # Who listeners should see as talking (None when free or the holder is presumed gone).
        if self.holder is None or self.dead:
            return None
        return self.holder

    def busy_for(self, prio):
        # None when a claim at prio could win now; else "busy" (equal/lower holder) or "denied" (higher).
        h = self.talker()
        if h is None or h == self.unit or prio > self.hprio:
            return None
        return "denied" if self.hprio > prio else "busy"

    # ---- actions -----------------------------------------------------------------------------
    def claim(self, prio, now):
        self.my_burst = (self.my_burst + 1) & 0xFFFFFFFF or 1
        self.mine = [self.my_burst, prio, now, False]
        self._send(fm.CLAIM, prio, self.my_burst, now, retain=False)
        return self._flush()

    def abandon(self, now):
        # The user let go before the grant: if the claim still wins, we release at once.
        if self.mine is not None:
            self.mine[3] = True
        return self._flush()

    def release(self, now, reason=fm.REASON_USER):
        # Stop transmitting now; the log state frees when our release comes back in broker order.
        self._release(now, reason)
        return self._flush()

    def _release(self, now, reason):
        if self.talking:
            self.talking = False
            self._send(fm.RELEASE, self.tx_prio, self.tx_burst, now, reason=reason)

    def holder_offline(self, unit, now):
        # The broker published the holder's last will: gone without a release.
        if self.holder == unit and unit != self.unit and not self.dead:
            self.dead = True
            self._emit(("free", self.tg, "offline"))
        return self._flush()

    def voice_seen(self, unit, now):
        # Voice frames from the holder prove it alive as well as heartbeats do.
        if unit == self.holder and self.holder is not None:
            self.seen = now
        return self._flush()

    # ---- inputs ------------------------------------------------------------------------------
    def on_message(self, m, now):
        if m.tg != self.tg:
            raise ValueError("floor msg for talkgroup %s" % m.tg)
        if m.kind == fm.CLAIM:
            self._on_claim(m, now)
        elif m.kind == fm.RELEASE:
            self._on_release(m, now)
        else:
            self._on_heartbeat(m, now)
        self._check_preempted(now)
        return self._flush()

    def tick(self, now):
        if self.talking and ticks_diff(now, self._next_hb) >= 0:
            self._send(fm.HEARTBEAT, self.tx_prio, self.tx_burst, now)
        mine = self.mine
        if mine is not None and ticks_diff(now, mine[2]) > self.claim_timeout_ms:
            self.mine = None
            self._emit(("noecho", self.tg))
        if self.holder is not None and not self.dead and not self.talking:
            # A real holder heartbeats the moment it is granted; one known only from its claim that stays
            # silent past 1.5 heartbeats lost its own fold (only under a broken order, docs/FLOOR.md 5).
            limit = self.hb_timeout_ms if self.confirmed else self.hb_ms * 3 // 2
            if ticks_diff(now, self.seen) > limit:
                self._presume_gone("vanished")
            elif ticks_diff(now, self.since) > self.max_burst_ms:
                self._presume_gone("overlong")
        return self._flush()

    # ---- the fold ----------------------------------------------------------------------------
    def _on_claim(self, m, now):
        k = m.key()
        if k in self._recent:
            return
        self._recent.append(k)
        if len(self._recent) > _RECENT:
            self._recent.pop(0)
        mine = self.mine is not None and m.unit == self.unit and m.burst == self.mine[0]
        # The rule every radio applies (docs/FLOOR.md): free, or higher priority, or based on the
        # current (or a newer) epoch, i.e. the claimant saw this very burst and judged its holder gone.
        if self.holder is None or m.prio > self.hprio or m.epoch >= self.epoch:
            self._adopt(max(self.epoch, m.epoch) + 1, m, now)
            if mine:
                self._granted(now)
            elif m.unit != self.unit:
                self._emit(("talker", self.tg, m.unit, m.prio))
        elif mine:
            self.mine = None
            self._emit(("lost", self.tg, self.holder, self.hprio))

    def _granted(self, now):
        abandoned = self.mine[3]
        self.mine = None
        self.talking = True
        self.tx_burst = self.hburst
        self.tx_prio = self.hprio
        self.confirmed = True  # our own burst: we know we are alive
        if abandoned:
            self._release(now, fm.REASON_USER)
            return
        # First heartbeat at once: it is the retained floor state a late joiner reads on subscribe.
        self._send(fm.HEARTBEAT, self.hprio, self.hburst, now)
        self._emit(("granted", self.tg, self.hburst, self.hprio))

    def _on_release(self, m, now):
        same = m.epoch == self.epoch and m.unit == self.holder and m.burst == self.hburst
        if same or m.epoch > self.epoch:
            self.epoch = m.epoch
            had = self.holder is not None and not self.dead
            self.holder = None
            self.hprio = 0
            self.dead = False
            if had or m.unit != self.unit:
                self._emit(("free", self.tg, "timeout" if m.reason == fm.REASON_TIMEOUT else "released"))

    def _on_heartbeat(self, m, now):
        if m.epoch > self.epoch:
            self._sync(m, now)
        elif m.epoch == self.epoch:
            if m.unit == self.holder and m.burst == self.hburst:
                self.seen = now
                self.confirmed = True
                if self.dead:
                    self.dead = False
                    self._emit(("talker", self.tg, m.unit, m.prio))
            elif self.holder is not None and (not self.confirmed or self.dead or
                                              _beats(m.prio, m.unit, self.hprio, self.holder)):
                # Two holders at one epoch only happens if the broker broke the single order (a
                # bridge/cluster). A live heartbeat beats a holder we only inferred from a claim; between
                # two live talkers the same deterministic tie-break on every radio silences one.
                self._sync(m, now)

    def _sync(self, m, now):
        self.epoch = m.epoch
        self._set_holder(m, now)
        if m.unit != self.unit:
            self._emit(("talker", self.tg, m.unit, m.prio))

    def _adopt(self, epoch, m, now):
        self.epoch = epoch
        self._set_holder(m, now)

    def _set_holder(self, m, now):
        self.holder = m.unit
        self.hprio = m.prio
        self.hburst = m.burst
        self.since = now
        self.seen = now
        self.dead = False
        self.confirmed = m.kind == fm.HEARTBEAT

    def _check_preempted(self, now):
        if self.talking and (self.holder != self.unit or self.hburst != self.tx_burst):
            self.talking = False
            self._emit(("preempted", self.tg, self.holder, self.hprio))

    def _presume_gone(self, why):
        self.dead = True
        self._emit(("free", self.tg, why))

    def _send(self, kind, prio, burst, now, retain=True, reason=0):
        m = fm.FloorMsg(kind, self.unit, prio, self.epoch, burst, self.tg, now, reason)
        self.out.publish("floor", self.tg, fm.pack(m), 1, retain)
        if kind == fm.HEARTBEAT:
            self._next_hb = ticks_add(now, self.hb_ms)

    def _emit(self, ev):
        self._evs.append(ev)
        self.out.event(ev)

    def _flush(self):
        evs = self._evs
        self._evs = []
        return evs


def _beats(prio_a, unit_a, prio_b, unit_b):
    # Deterministic tie-break: higher priority, then the lower unit id.
    if prio_a != prio_b:
        return prio_a > prio_b
    return unit_a < unit_b
