# Floor control for one talkgroup, radio side: ask the talkgroup's arbiter, obey its numbered records
# (design and correctness argument: docs/FLOOR.md). The radio sends CLAIM/RELEASE/HEARTBEAT on its own floor
# topic and applies GRANT/IDLE/REJECT records from the grants topic, each once, in (epoch, seq) order.
# It transmits only under a GRANT naming its burst, and only while that grant's lease runs.
# Pure logic: messages and now_ms go in, publications and events come out through an Outbox.
from ht.compat import ticks_diff, ticks_add
from ht.radio import floormsg as fm
from ht.radio import grant as G


class Outbox:
    # What the radio app must do after feeding an input: publish, play a cue, show an event.
    # pubs: (topic kind, key, payload bytes, qos, retain); key = talkgroup, unit id or None (fleet-wide).
    def __init__(self):
        self.pubs = []
        self.cues = []
        self.events = []

    def publish(self, kind, key, payload, qos=1, retain=False):
        self.pubs.append((kind, key, payload, qos, retain))

    def cue(self, name):
        self.cues.append(name)

    def event(self, ev):
        self.events.append(ev)

    def drain(self):
        p, c, e = self.pubs, self.cues, self.events
        self.pubs, self.cues, self.events = [], [], []
        return p, c, e


class Floor:
    # request_timeout_ms: no answer to a request in this time = no floor service. beacon_ms: the arbiter's
    # idle beacon; nothing heard from it for 2.5 beacons = no floor service (docs/FLOOR.md section 7).
    def __init__(self, tg, unit, outbox, hb_ms=1000, request_timeout_ms=1500, beacon_ms=10000, burst_seed=0):
        self.tg = tg
        self.unit = unit
        self.out = outbox
        self.hb_ms = hb_ms
        self.request_timeout_ms = request_timeout_ms
        self.stale_ms = beacon_ms * 5 // 2
        # The arbiter's state as the last applied record left it.
        self.epoch = -1
        self.seq = -1
        self.any_epoch = False    # after a silence: accept a record of any other epoch (see on_message)
        self.holder = None
        self.hprio = 0
        self.hburst = 0
        self.holder_until = 0     # the holder's lease, on our clock
        self.service = True
        self.heard = None         # when the arbiter was last heard (None: not started)
        self.mine = None          # [burst, prio, sent_ms, abandoned] while my request is unanswered
        self.talking = False
        self.my_burst = burst_seed & 0xFFFFFFFF
        self.tx_burst = 0
        self.tx_prio = 0
        self.lease_until = 0
        self._next_hb = 0
        self._evs = []

    # ---- views -------------------------------------------------------------------------------
    def talker(self):
        # Who listeners should see as talking (None when free).
        return self.holder

    def busy_for(self, prio):
        # None when a request at prio could win now; else "busy" (equal/lower holder) or "denied" (higher).
        h = self.holder
        if h is None or h == self.unit or prio > self.hprio:
            return None
        return "denied" if self.hprio > prio else "busy"

    # ---- actions -----------------------------------------------------------------------------
    def claim(self, prio, now):
        self.my_burst = (self.my_burst + 1) & 0xFFFFFFFF or 1
        self.mine = [self.my_burst, prio, now, False]
        self._send(fm.CLAIM, prio, self.my_burst, now)
        return self._flush()

    def abandon(self, now):
        # The user let go before the answer: if it is a grant, we give it back at once.
        if self.mine is not None:
            self.mine[3] = True
        return self._flush()

    def release(self, now, reason=fm.REASON_USER):
        if self.talking:
            self.talking = False
            self._send(fm.RELEASE, self.tx_prio, self.tx_burst, now, reason)
        return self._flush()

    # ---- inputs ------------------------------------------------------------------------------
    def on_message(self, r, now):
        # r: an ht.radio.grant.Record from this talkgroup's grants topic.
        if r.tg != self.tg:
            raise ValueError("record for talkgroup %s" % r.tg)
        self._heard(now)
        # After a silence any other epoch is accepted (a restarted arbiter may number from anywhere), but within
        # one epoch the numbering is one arbiter's: a record not after the last one applied is a stale copy.
        if r.newer(self.epoch, self.seq) or (self.any_epoch and r.epoch != self.epoch):
            self.any_epoch = False
            self.epoch = r.epoch
            self.seq = r.seq
            if r.kind == G.GRANT:
                self._on_grant(r, now)
            elif r.kind == G.IDLE:
                self._on_idle(r)
            else:
                self._on_reject(r)
        return self._flush()

    def tick(self, now):
        if self.heard is None:
            self.heard = now
        if self.talking:
            if ticks_diff(now, self.lease_until) >= 0:
                self.talking = False      # no renewal: the arbiter or our uplink is gone
                self._emit(("cut", self.tg, "lease"))
            elif ticks_diff(now, self._next_hb) >= 0:
                self._send(fm.HEARTBEAT, self.tx_prio, self.tx_burst, now)
        mine = self.mine
        if mine is not None and ticks_diff(now, mine[2]) > self.request_timeout_ms:
            self.mine = None
            self._emit(("unanswered", self.tg))
            self._service(False)
        h = self.holder
        if h is not None and h != self.unit and ticks_diff(now, self.holder_until) >= 0:
            self._clear()
            self._emit(("free", self.tg, "expired"))
        if self.service and ticks_diff(now, self.heard) > self.stale_ms:
            self._service(False)
        return self._flush()

    # ---- records -----------------------------------------------------------------------------
    def _on_grant(self, r, now):
        until = ticks_add(now, r.lease_ms)
        new = r.unit != self.holder or r.burst != self.hburst
        self.holder = r.unit
        self.hprio = r.prio
        self.hburst = r.burst
        self.holder_until = until
        if r.unit == self.unit:
            self._my_grant(r, now, until)
            return
        if self.talking:
            self.talking = False
            self._emit(("preempted", self.tg, r.unit, r.prio))
        if new:
            self._emit(("talker", self.tg, r.unit, r.prio))

    def _my_grant(self, r, now, until):
        mine = self.mine
        if mine is not None and r.burst == mine[0]:
            self.mine = None
            if mine[3]:
                self._send(fm.RELEASE, r.prio, r.burst, now)    # the user let go before the grant came
                return
            self.talking = True
            self.tx_burst = r.burst
            self.tx_prio = r.prio
            self.lease_until = until
            self._next_hb = ticks_add(now, self.hb_ms)
            self._emit(("granted", self.tg, r.burst, r.prio))
        elif self.talking and r.burst == self.tx_burst:
            self.lease_until = until                          # renewal
        else:
            # A grant for a burst we are not on (we rebooted, or gave it up): hand it back.
            if self.talking:
                self.talking = False
                self._emit(("cut", self.tg, "stale"))
            self._send(fm.RELEASE, r.prio, r.burst, now)

    def _on_idle(self, r):
        had = self.holder
        self._clear()
        why = G.REASON_NAMES.get(r.reason) or "released"
        if self.talking:
            self.talking = False
            self._emit(("cut", self.tg, why))
        elif had is not None:
            self._emit(("free", self.tg, why))

    def _on_reject(self, r):
        mine = self.mine
        if mine is not None and r.unit == self.unit and r.burst == mine[0]:
            self.mine = None
            # the arbiter published its GRANT to the winner before this REJECT (one publisher, in order)
            self._emit(("lost", self.tg, "denied" if r.reason == G.R_DENIED else "busy", self.holder))

    def _clear(self):
        self.holder = None
        self.hprio = 0
        self.hburst = 0

    def _heard(self, now):
        self.heard = now
        if not self.service:
            self._service(True)

    def _service(self, up):
        if up == self.service:
            return
        self.service = up
        if not up:
            # A restarted arbiter may number from anywhere: accept its next epoch, whatever it is.
            self.any_epoch = True
        self._emit(("service", self.tg, up))

    def _send(self, kind, prio, burst, now, reason=0):
        m = fm.FloorMsg(kind, self.unit, prio, self.epoch & 0xFFFFFFFF, burst, self.tg, now, reason)
        self.out.publish("floor", self.tg, fm.pack(m), 1, False)
        if kind == fm.HEARTBEAT:
            self._next_hb = ticks_add(now, self.hb_ms)

    def _emit(self, ev):
        self._evs.append(ev)
        self.out.event(ev)

    def _flush(self):
        evs = self._evs
        self._evs = []
        return evs
