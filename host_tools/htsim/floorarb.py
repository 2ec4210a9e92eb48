"""The floor arbiter under simultaneous presses through a real broker or cluster (issue 9, docs/FLOOR.md).

Light stand-in radios (htsim.floorpress.PressRig, client i on node i) follow the arbiter's records on the
talkgroup's grants topic with the radio's own rule: ht.radio.grant.parse, and a record is applied only when its
(epoch, seq) is newer than the last applied (Record.newer). Each round all of them claim at the same instant;
every client must end up applying the same GRANT; the holder releases and every client must apply the IDLE.

    arbs = ArbiterThread(fleet, user, password).start([("arb-a", port0, False), ("arb-b", port1, True)])
    rig, fol = follow_rig(ports, user=..., password=...)          # PressRig + one Follower per client
    r = arbiter_rounds(rig, fol, 300)                            # {"disagreements": 0, ...}
    arbs.kill("arb-a")                                           # the primary dies; the standby takes over
"""
from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ht.radio import floormsg as fm
from ht.radio import grant as G
from ht.radio import topics
from htcc.arbiter.service import ArbiterService
from htsim.floorpress import FLEET, TG, PressClient, PressRig


class Follower:
    """One client's view of the floor: the records it applied, in the order it applied them."""

    def __init__(self, unit: str) -> None:
        self.unit = unit
        self.applied: list[G.Record] = []
        self.at: list[float] = []             # monotonic time each record was applied
        self.holder: str | None = None
        self.burst = 0
        self.last: tuple[int, int] | None = None
        self.stale = 0                        # records ignored as not newer (duplicates, retained copies)
        self.lock = threading.Lock()

    def apply(self, payload: bytes) -> None:
        r = G.parse(payload)
        with self.lock:
            if self.last is not None and not r.newer(*self.last):
                self.stale += 1
                return
            self.last = (r.epoch, r.seq)
            self.applied.append(r)
            self.at.append(time.monotonic())
            if r.kind == G.GRANT:
                self.holder, self.burst = r.unit, r.burst
            elif r.kind == G.IDLE:
                self.holder, self.burst = None, 0

    def records(self) -> list[G.Record]:
        with self.lock:
            return list(self.applied)


def follow_rig(ports: Sequence[int], clients: int = 3, fleet: str = FLEET, tg: str = TG,
               **kw: Any) -> tuple[PressRig, dict[str, Follower]]:
    """A PressRig whose clients also subscribe to the grants topic and apply the records they receive."""
    followers = {"u%d" % i: Follower("u%d" % i) for i in range(clients)}
    gtopic = topics.grants(fleet, tg).decode()

    def on_message(c: PressClient, topic: str, payload: bytes) -> None:
        if topic == gtopic:
            followers[c.unit].apply(payload)

    rig = PressRig(ports, clients, fleet=fleet, tg=tg, subs=[gtopic], on_message=on_message, **kw)
    return rig, followers


def send(c: PressClient, kind: int, burst: int) -> None:
    """A radio's floor message (CLAIM, RELEASE or HEARTBEAT) for `burst`, normal priority."""
    msg = fm.FloorMsg(kind, c.unit, fm.PRIO_NORMAL, 0, burst, c.tg, int(time.monotonic() * 1000))
    c.publish(c.topic, fm.pack(msg))


def wait_for(cond: Callable[[], bool], seconds: float, step: float = 0.002) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def press_all(rig: PressRig, burst: int) -> None:
    """Every client claims `burst` at the same instant (a barrier)."""
    go = threading.Barrier(len(rig.clients))

    def press(c: PressClient) -> None:
        go.wait()
        send(c, fm.CLAIM, burst)

    threads = [threading.Thread(target=press, args=(c,)) for c in rig.clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def arbiter_rounds(rig: PressRig, followers: dict[str, Follower], rounds: int, timeout: float = 10.0,
                   base: int | None = None) -> dict[str, Any]:
    """`rounds` simultaneous presses; -> {"rounds", "disagreements": rounds whose clients named different
    holders, "incomplete": rounds where some client did not apply the GRANT or the IDLE within `timeout`,
    "holders": [round] -> holder per client}."""
    base = secrets.randbelow(1 << 30) if base is None else base
    fols = list(followers.values())
    out: dict[str, Any] = {"rounds": rounds, "disagreements": 0, "incomplete": 0, "holders": []}
    for k in range(rounds):
        burst = base + k
        press_all(rig, burst)
        granted = wait_for(lambda: all(f.burst == burst and f.holder for f in fols), timeout)  # noqa: B023
        holders = [f.holder for f in fols]
        out["holders"].append(holders)
        if len(set(holders)) > 1:
            out["disagreements"] += 1
        holder = next((c for c in rig.clients if c.unit == holders[0]), None)
        if holder is not None:
            send(holder, fm.RELEASE, burst)
        idled = wait_for(lambda: all(f.holder is None for f in fols), timeout)
        if not (granted and idled):
            out["incomplete"] += 1
    return out


class Heartbeat:
    """A talking radio's HEARTBEAT for `burst` every `every` s on its own thread (lost while offline)."""

    def __init__(self, c: PressClient, burst: int, every: float = 1.0) -> None:
        self.c, self.burst, self.every = c, burst, every
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, name="hb-" + c.unit, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                send(self.c, fm.HEARTBEAT, self.burst)
            except (OSError, RuntimeError):
                pass

    def stop(self) -> None:
        self._stop.set()
        self._t.join(5)


def failover(arbs: ArbiterThread, rig: PressRig, followers: dict[str, Follower], primary: str = "arb-a",
             timeout: float = 15.0) -> dict[str, Any]:
    """The primary dies while u0 holds the floor (heartbeating every second) and the other clients keep pressing;
    -> {"holder", "burst": the holder's, "epoch0", "failover_s": primary stopped -> every client applied a record of the new epoch,
    "lease_gap_s": the longest time u0 went without a GRANT for itself, "new_grants": GRANT units applied in
    the new epoch (all clients), "took_over": the standby announced within `timeout`}."""
    fols = list(followers.values())
    talker, others = rig.clients[0], rig.clients[1:]
    burst = secrets.randbelow(1 << 30)
    send(talker, fm.CLAIM, burst)
    if not wait_for(lambda: all(f.holder == talker.unit and f.burst == burst for f in fols), timeout):
        raise OSError("%s was not granted the floor" % talker.unit)
    hb = Heartbeat(talker, burst)
    epoch0 = fols[0].last[0] if fols[0].last else 0
    time.sleep(1.2)                      # at least one renewal in the old epoch
    t0 = arbs.kill(primary)
    k = 0
    took_over = False
    end = time.monotonic() + timeout
    while time.monotonic() < end:        # competing presses through the gap, every 0.3 s
        for c in others:
            send(c, fm.CLAIM, burst + 1 + k)
        k += 1
        if all(f.last and f.last[0] > epoch0 for f in fols):
            took_over = True
            break
        time.sleep(0.3)
    time.sleep(1.5)                      # renewals in the new epoch, more presses refused
    for c in others:
        send(c, fm.CLAIM, burst + 1 + k)
    time.sleep(0.5)
    hb.stop()
    firsts = []
    for f in fols:
        with f.lock:
            firsts.append(next((t for r, t in zip(f.applied, f.at) if r.epoch > epoch0), None))
    mine = [t for r, t in zip(followers[talker.unit].records(), followers[talker.unit].at)
            if r.kind == G.GRANT and r.unit == talker.unit and r.burst == burst]
    send(talker, fm.RELEASE, burst)
    idle = wait_for(lambda: all(f.holder is None for f in fols), timeout)
    return {"holder": talker.unit, "burst": burst, "epoch0": epoch0, "took_over": took_over and None not in firsts,
            "failover_s": max(t for t in firsts if t is not None) - t0 if None not in firsts else None,
            "lease_gap_s": max((b - a for a, b in zip(mine, mine[1:])), default=0.0),
            "new_grants": sorted({r.unit for f in fols for r in f.records()
                                  if r.epoch > epoch0 and r.kind == G.GRANT}),
            "released": idle}


# ---- what every client's applied records must satisfy -------------------------------------------------------

def in_order(recs: Sequence[G.Record]) -> bool:
    keys = [(r.epoch, r.seq) for r in recs]
    return all(b > a for a, b in zip(keys, keys[1:]))


def gapless(recs: Sequence[G.Record]) -> bool:
    """Within an epoch seq goes up by one (a client subscribed before the first record sees every one)."""
    return all(b.seq == a.seq + 1 for a, b in zip(recs, recs[1:]) if a.epoch == b.epoch)


def conflicts(followers: dict[str, Follower]) -> list[tuple[int, int]]:
    """(epoch, seq) that two clients applied with different content (kind, unit, burst): a double grant."""
    seen: dict[tuple[int, int], tuple[int, str, int]] = {}
    bad = []
    for f in followers.values():
        for r in f.records():
            key, val = (r.epoch, r.seq), (r.kind, r.unit, r.burst)
            if seen.setdefault(key, val) != val:
                bad.append(key)
    return bad


def second_grants(recs: Sequence[G.Record]) -> list[G.Record]:
    """GRANTs to another holder applied while a holder was known (no IDLE between) and not a pre-emption by
    a higher priority: each is a second talker granted under a running lease."""
    bad = []
    holder: G.Record | None = None
    for r in recs:
        if r.kind == G.GRANT:
            if holder is not None and r.unit != holder.unit and r.prio <= holder.prio:
                bad.append(r)
            holder = r
        elif r.kind == G.IDLE:
            holder = None
    return bad


# ---- arbiters on their own event loop --------------------------------------------------------------------

class ArbiterThread:
    """ArbiterServices (htcc.arbiter) on one asyncio loop in a daemon thread, each on its own broker port."""

    def __init__(self, fleet: str = FLEET, user: str | None = None, password: str | None = None,
                 host: str = "127.0.0.1", talkgroups: tuple[str, ...] = (TG,), **svc_kw: Any) -> None:
        self.fleet, self.user, self.password, self.host = fleet, user, password, host
        self.talkgroups = talkgroups
        self.svc_kw = svc_kw
        self.services: dict[str, ArbiterService] = {}
        self._runs: list[Any] = []
        self.events: list[tuple[float, str, str, dict[str, Any]]] = []
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="arbiters", daemon=True)

    def start(self, specs: Sequence[tuple[str, int, bool]], timeout: float = 30.0) -> ArbiterThread:
        """specs: (name, port, standby). Returns when every service has started (settled, role decided)."""
        self._thread.start()
        for name, port, standby in specs:
            def ev(kind: str, fields: dict[str, Any], name: str = name) -> None:
                self.events.append((time.monotonic(), name, kind, fields))
            s = ArbiterService(self.fleet, self.host, port, name=name, standby=standby,
                               talkgroups=self.talkgroups, user=self.user, password=self.password,
                               on_event=ev, **self.svc_kw)
            self.services[name] = s
            self._runs.append(asyncio.run_coroutine_threadsafe(s.run(), self.loop))
        names = set(self.services)
        if not wait_for(lambda: names <= {e[1] for e in self.events if e[2] == "started"}, timeout, 0.02):
            self.stop()
            raise OSError("arbiters did not start: %s" % self.events)
        return self

    def kill(self, name: str, timeout: float = 10.0) -> float:
        """Stop one arbiter (its connection closes; nothing else tells the other). -> monotonic time."""
        t = time.monotonic()
        asyncio.run_coroutine_threadsafe(self.services[name].stop(), self.loop).result(timeout)
        return t

    def first(self, kind: str, name: str | None = None) -> float | None:
        return next((e[0] for e in list(self.events) if e[2] == kind and name in (None, e[1])), None)

    def stop(self) -> None:
        for s in self.services.values():
            if s._running:
                try:
                    asyncio.run_coroutine_threadsafe(s.stop(), self.loop).result(10)
                except Exception:       # noqa: BLE001 - best effort at teardown
                    pass
        for f in self._runs:
            try:
                f.result(10)
            except Exception:       # noqa: BLE001 - a run that failed has nothing left to stop
                pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
