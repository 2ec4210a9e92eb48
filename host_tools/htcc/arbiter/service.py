"""The floor arbiter as a service: the pure core (htcc.arbiter.core) on the firmware's own MQTT client.

    svc = ArbiterService("kota", "127.0.0.1", 1883, name="arb-a", talkgroups=("1", "2"), user="arb", password=pw)
    await svc.run()          # until svc.stop()

It reads every floor message (ht/<fleet>/tg/+/f/+), every grants topic (its own records come back; a standby
follows the primary's) and the other instance's beat (ht/<fleet>/arb/+); it publishes records (QoS 1; GRANT and
IDLE retained) and, as primary, a beat every 0.5 s. Run two: ``standby=True`` on the second (docs/FLOOR.md 6).
"""
import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from hal import netstream
from ht.mqtt.client import ONLINE
from ht.mqtt.robust import RobustClient
from ht.radio import floormsg as fm
from ht.radio import grant as G
from ht.radio.msgtag import Tagger
from ht.radio import topics as T
from htcc.arbiter.core import Arbiter

_EPOCH_BASE = 1_600_000_000   # epochs are seconds since 2020-09: a restarted arbiter always numbers higher


def clock_epoch() -> int:
    return int(time.time()) - _EPOCH_BASE


def monotonic_ms() -> int:
    return int(time.monotonic() * 1000)


class ArbiterService:
    def __init__(self, fleet: str, host: str, port: int, name: str = "arb-a", standby: bool = False,
                 talkgroups: tuple[str, ...] = (), user: str | None = None, password: str | None = None,
                 keepalive: int = 10, tick_ms: int = 20, settle_ms: int = 300,
                 on_event: Callable[[str, dict[str, Any]], None] | None = None, key: bytes | None = None,
                 accept: tuple[bytes, ...] = (), **core_kw: Any) -> None:
        # key: the fleet key (registry audio.key): radios' floor messages must carry its tag (ht.radio.msgtag)
        # and the records go out tagged; accept: older keys still taken during a rotation. None: no tags
        # (a fleet without a key, and tests of the floor alone).
        self.fleet = fleet
        self.name = name
        self.tick_ms = tick_ms
        self.settle_ms = settle_ms
        self.on_event = on_event
        now = monotonic_ms()
        self.core = Arbiter(name, 0 if standby else clock_epoch(), active=not standby,
                            talkgroups=tuple(str(t) for t in talkgroups), now=now, **core_kw)
        self.client = RobustClient(netstream.opener(host, port), "arbiter-" + name, user=user or name,
                                   password=password, keepalive=keepalive, on_message=self._on_message)
        self.beat_topic = T.arbiter(fleet, name)
        self._out: list[tuple[bytes, bytes, bool]] = []
        self._wake = asyncio.Event()
        self._running = False
        self.published = 0
        self.tagger = Tagger(key, accept) if key else None
        self.bad_tags = 0

    # ---- inbound (runs in the client's reader: never awaits) --------------------------------------
    def _on_message(self, topic: bytes, payload: memoryview, retained: bool) -> None:
        p = T.parse(topic)
        if p is None or p[1] != self.fleet:
            return
        now = monotonic_ms()
        if self.tagger is not None and p[0] in (T.FLOOR, T.GRANTS):
            body = self.tagger.open(topic, payload)
            if body is None:
                self.bad_tags += 1
                self._event("bad_msg", {"topic": bytes(topic).decode(), "why": "bad tag"})
                return
            payload = memoryview(body)
        try:
            if p[0] == T.FLOOR:
                self._queue(self.core.on_floor(fm.parse(bytes(payload), p[3]), now))
            elif p[0] == T.GRANTS:
                was = self.core.active
                self.core.on_record(G.parse(bytes(payload)), now)
                if was and not self.core.active:
                    self._event("demoted", {"epoch": self.core.epoch})
            elif p[0] == T.ARBITER and payload:
                d = json.loads(bytes(payload))
                self.core.on_beat(d["n"], int(d["e"]), now)
        except (ValueError, KeyError, TypeError) as e:
            self._event("bad_msg", {"topic": bytes(topic).decode(), "why": str(e)})

    def _queue(self, recs: list[G.Record]) -> None:
        for r in recs:
            topic = T.grants(self.fleet, r.tg)
            rec = G.pack(r)
            if self.tagger is not None:
                rec = self.tagger.seal(topic, rec)
            self._out.append((topic, rec, r.kind != G.REJECT))
            self._event("record", {"kind": G.KIND_NAMES[r.kind], "tg": r.tg, "unit": r.unit, "epoch": r.epoch,
                                   "seq": r.seq, "reason": G.REASON_NAMES[r.reason]})
        if recs:
            self._wake.set()

    def _event(self, kind: str, fields: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(kind, fields)

    # ---- life --------------------------------------------------------------------------------------
    async def run(self) -> None:
        c = self.client
        for t in (T.floor_sub(self.fleet), T.grants_sub(self.fleet), T.arbiters_sub(self.fleet)):
            await c.subscribe(t, 1)
        c.start()
        self._running = True
        # Wait for the broker, but not past a stop(): an arbiter stopped before it ever connected (its broker
        # gone, or still starting on a loaded machine) must end, not wait for ONLINE forever.
        while not await c.wait_online(500):
            if not self._running:
                return
        # Let the retained records arrive before deciding anything: a restarted primary re-announces the
        # holder they name instead of declaring an idle floor under a live talker.
        await asyncio.sleep(self.settle_ms / 1000)
        self._event("started", {"role": "primary" if self.core.active else "standby", "epoch": self.core.epoch})
        sender = asyncio.ensure_future(self._send())
        try:
            while self._running:
                now = monotonic_ms()
                was = self.core.active
                self._queue(self.core.tick(now))
                if self.core.active and not was:
                    self._event("takeover", {"epoch": self.core.epoch})
                if self.core.beat_due(now):
                    beat = json.dumps({"n": self.name, "e": self.core.epoch}).encode()
                    self._out.append((self.beat_topic, beat, False))
                    self._wake.set()
                await asyncio.sleep(self.tick_ms / 1000)
        finally:
            sender.cancel()

    async def _send(self) -> None:
        while True:
            if not self._out:
                self._wake.clear()
                await self._wake.wait()
                continue
            topic, payload, retain = self._out.pop(0)
            if self.client.state != ONLINE:
                continue        # offline: the state is re-announced by the next renewal or beacon
            try:
                await self.client.publish(topic, payload, 1, retain)
                self.published += 1
            except OSError:
                pass

    async def stop(self) -> None:
        self._running = False
        await self.client.stop()


async def run_pair(fleet: str, host: str, port: int, talkgroups: tuple[str, ...] = (),
                   accounts: tuple[tuple[str, str | None], ...] = (("arb-a", None), ("arb-b", None)),
                   **kw: Any) -> list[ArbiterService]:
    """Start a primary and a standby as tasks in this loop; -> the services (stop them with .stop())."""
    svcs = []
    for i, (user, pw) in enumerate(accounts):
        s = ArbiterService(fleet, host, port, name=user, standby=i > 0, talkgroups=talkgroups, user=user,
                           password=pw, **kw)
        s.task = asyncio.ensure_future(s.run())
        svcs.append(s)
    return svcs
