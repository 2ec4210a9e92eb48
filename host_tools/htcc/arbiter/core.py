"""The floor arbiter's decisions, with no I/O: floor messages and times go in, numbered records come out.

One ``Arbiter`` serves a set of talkgroups. It handles the radios' requests (CLAIM), releases and heartbeats in
the order it receives them and answers with ``ht.radio.grant.Record`` s that the service publishes on each
talkgroup's grants topic (docs/FLOOR.md sections 3-6). Every record gets the next ``(epoch, seq)``: seq counts
per talkgroup, epoch is this instance's term as primary. A standby follows the primary's records and takes over
with a higher epoch when the primary's beat stops (``tick``), re-granting the holder it knows.
"""

from ht.radio import floormsg as fm
from ht.radio import grant as G
from ht.radio.scan import ALLCALL

_ENDED_KEEP = 32   # (unit, burst) of bursts that ended, per talkgroup: a late QoS 1 duplicate claim stays dead


class Talkgroup:
    def __init__(self, tg: str) -> None:
        self.tg = tg
        self.holder: str | None = None
        self.prio = 0
        self.burst = 0
        self.since = 0          # when this holder's burst was granted (talk timeout)
        self.lease_until = 0    # the holder may talk until then unless it heartbeats
        self.seq = 0
        self.last_pub: int | None = None
        self.last_grant = 0
        self.announce = True    # publish the current state at the next tick (start, takeover, learnt)
        self.known = False      # the state came from a record or a decision, not just a name
        self.ended: list[tuple[str, int]] = []

    def free(self) -> None:
        if self.holder is not None:
            self.ended.append((self.holder, self.burst))
            del self.ended[:-_ENDED_KEEP]
        self.holder = None
        self.prio = 0
        self.burst = 0


class Arbiter:
    def __init__(self, name: str, epoch: int, active: bool = True, talkgroups: tuple[str, ...] = (),
                 lease_ms: int = 4000, renew_ms: int = 1000, beacon_ms: int = 10000, max_burst_ms: int = 65000,
                 takeover_ms: int = 1500, beat_ms: int = 500, now: int = 0) -> None:
        self.name = name
        self.epoch = epoch
        self.active = active
        self.lease_ms = lease_ms
        self.renew_ms = renew_ms
        self.beacon_ms = beacon_ms
        self.max_burst_ms = max_burst_ms
        self.takeover_ms = takeover_ms
        self.beat_ms = beat_ms
        self.tgs: dict[str, Talkgroup] = {}
        for tg in tuple(talkgroups) + (ALLCALL,):
            self._tg(tg)
        self.last_beat = now        # the peer's last beat (standby) / our last beat sent (primary)
        self.takeovers = 0

    def _tg(self, tg: str) -> Talkgroup:
        t = self.tgs.get(tg)
        if t is None:
            t = self.tgs[tg] = Talkgroup(tg)
        return t

    # ---- records -----------------------------------------------------------------------------
    def _rec(self, t: Talkgroup, kind: int, now: int, unit: str = "", prio: int = 0, burst: int = 0,
             reason: int = G.R_NONE) -> G.Record:
        t.seq += 1
        t.last_pub = now
        lease = 0
        if kind == G.GRANT:
            t.last_grant = now
            lease = max(0, t.lease_until - now)
        return G.Record(kind, t.tg, unit, prio, burst, self.epoch, t.seq, lease, reason)

    def _state(self, t: Talkgroup, now: int) -> G.Record:
        t.announce = False
        t.known = True
        if t.holder is None:
            return self._rec(t, G.IDLE, now)
        return self._rec(t, G.GRANT, now, t.holder, t.prio, t.burst)

    def _grant(self, t: Talkgroup, m: fm.FloorMsg, now: int) -> G.Record:
        if t.holder is not None and (t.holder, t.burst) != (m.unit, m.burst):
            t.free()
        t.holder, t.prio, t.burst, t.since = m.unit, m.prio, m.burst, now
        t.lease_until = now + self.lease_ms
        return self._state(t, now)

    def _idle(self, t: Talkgroup, now: int, reason: int) -> G.Record:
        t.free()
        t.known = True
        return self._rec(t, G.IDLE, now, reason=reason)

    # ---- the radios' messages ------------------------------------------------------------------
    def on_floor(self, m: fm.FloorMsg, now: int) -> list[G.Record]:
        if not self.active:
            return []
        if m.kind == fm.CLAIM:
            return self.on_request(m, now)
        if m.kind == fm.RELEASE:
            return self.on_release(m, now)
        return self.on_heartbeat(m, now)

    def on_request(self, m: fm.FloorMsg, now: int) -> list[G.Record]:
        t = self._tg(m.tg)
        if (m.unit, m.burst) in t.ended:
            return []       # a duplicate of a claim whose burst already ended
        if t.holder == m.unit and t.burst == m.burst:
            t.lease_until = now + self.lease_ms
            return [self._state(t, now)]      # a duplicate: say it again
        # Free floor, the holder itself (a new burst, e.g. an emergency re-claim), or a higher priority.
        if t.holder is None or t.holder == m.unit or m.prio > t.prio:
            return [self._grant(t, m, now)]
        why = G.R_DENIED if t.prio > m.prio else G.R_BUSY
        return [self._rec(t, G.REJECT, now, m.unit, t.prio, m.burst, why)]

    def on_release(self, m: fm.FloorMsg, now: int) -> list[G.Record]:
        t = self._tg(m.tg)
        if t.holder != m.unit or t.burst != m.burst:
            return []       # a pre-empted talker's late release, or a duplicate
        return [self._idle(t, now, G.R_TIMEOUT if m.reason == fm.REASON_TIMEOUT else G.R_RELEASED)]

    def on_heartbeat(self, m: fm.FloorMsg, now: int) -> list[G.Record]:
        t = self._tg(m.tg)
        if t.holder == m.unit and t.burst == m.burst:
            t.lease_until = now + self.lease_ms
            # Renew on (about) every heartbeat: heartbeats come every renew_ms with jitter, so a threshold of
            # half of it never skips one. The renewal is also the beacon late joiners learn the holder from.
            if now - t.last_grant >= self.renew_ms // 2:
                return [self._state(t, now)]
            return []
        if t.holder is None and not t.known and (m.unit, m.burst) not in t.ended:
            # We know nothing of this talkgroup (fresh start with nothing retained) and a radio is talking
            # under a grant from the arbiter before us: adopt it rather than cut it.
            return [self._grant(t, m, now)]
        if t.last_pub is None or now - t.last_pub >= self.renew_ms // 2:
            # A radio that thinks it talks but does not hold the floor: tell everyone the state again.
            return [self._state(t, now)]
        return []

    # ---- time --------------------------------------------------------------------------------
    def tick(self, now: int) -> list[G.Record]:
        if not self.active:
            if now - self.last_beat > self.takeover_ms:
                return self.take_over(now)
            return []
        out = []
        for tg in sorted(self.tgs):
            t = self.tgs[tg]
            if t.holder is not None and now >= t.lease_until:
                out.append(self._idle(t, now, G.R_EXPIRED))
            elif t.holder is not None and now - t.since >= self.max_burst_ms:
                out.append(self._idle(t, now, G.R_TIMEOUT))
            elif t.announce or (t.holder is None and (t.last_pub is None or now - t.last_pub >= self.beacon_ms)):
                out.append(self._state(t, now))
        return out

    def beat_due(self, now: int) -> bool:
        # The primary's "I am alive" on its own topic, every beat_ms (the standby watches it).
        if self.active and now - self.last_beat >= self.beat_ms:
            self.last_beat = now
            return True
        return False

    # ---- the other instance ----------------------------------------------------------------------
    def on_beat(self, name: str, epoch: int, now: int) -> None:
        if name == self.name:
            return
        if not self.active:
            self.last_beat = now
        elif epoch > self.epoch:
            self._demote(epoch, now)

    def on_record(self, r: G.Record, now: int) -> None:
        # A record seen on a grants topic (our own come back too). The standby mirrors the primary; a primary
        # that sees a newer epoch has been replaced and steps down; a primary that knows nothing about a
        # talkgroup yet learns the last state from an older epoch's record and re-announces it in its own.
        t = self._tg(r.tg)
        if r.epoch > self.epoch:
            if self.active:
                self._demote(r.epoch, now)
            self.epoch = r.epoch
        elif r.epoch < self.epoch and (self.active and t.known or not self.active):
            return
        elif r.epoch == self.epoch and self.active:
            return          # our own record
        if r.kind == G.REJECT:
            if not self.active:
                t.seq = r.seq
            return
        if r.kind == G.GRANT:
            if (t.holder, t.burst) != (r.unit, r.burst):
                t.free()
                t.since = now
            t.holder, t.prio, t.burst = r.unit, r.prio, r.burst
            t.lease_until = now + r.lease_ms
        else:
            t.free()
        if self.active:
            t.announce = True       # re-announce in our epoch
            t.known = True
        else:
            t.seq = r.seq
            t.known = True

    def _demote(self, epoch: int, now: int) -> None:
        self.active = False
        self.epoch = max(self.epoch, epoch)
        self.last_beat = now

    def take_over(self, now: int, epoch: int | None = None) -> list[G.Record]:
        """Become primary with a higher epoch, seq restarting, and re-announce every talkgroup: the same holder
        (never another one while its known lease runs), or idle."""
        self.active = True
        self.takeovers += 1
        self.epoch = max(self.epoch + 1, epoch or 0)
        self.last_beat = now - self.beat_ms     # beat at once
        for t in self.tgs.values():
            t.seq = 0
            t.announce = True
            if t.holder is not None:
                # A holder heartbeating through the gap renews at once; one that is gone still gets no more
                # than the lease it was last given (kept at least one renewal interval so a live one can renew).
                t.lease_until = max(t.lease_until, now + self.renew_ms * 3 // 2)
        return self.tick(now)
