"""The console's live core: one per server, in the event loop. Joins the broker connection (bus), the
registry (store, board), the browsers (hub) and the features (alarms, roll calls). ``app.state.console``."""
from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any

from htctl import registry
from ht.radio import topics as T

from .bus import Bus
from .fleet import FleetBoard
from .settings import Settings
from .store import Audit, Store, now_iso

log = logging.getLogger("htcc.console")

TICK_S = 0.2          # board staleness and pushes: a change reaches browsers within ~0.2 s of arriving


class Console:
    def __init__(self, settings: Settings, app):
        self.settings = settings
        self.app = app
        self.store = Store(settings.registry)
        self.fleet = settings.fleet or registry.fleet_id(self.store.conn)
        self.hub = app.state.hub
        self.audit = Audit(self.store, on_row=lambda row: self.hub.broadcast({"t": "audit", "row": row},
                                                                             role="supervisor"))
        self.board = FleetBoard(self.store.conn, self.fleet, max_bytes=settings.max_message_bytes)
        # the fleet key (and the previous one during a rotation): control messages carry its tag (issue 11)
        fc = registry.fleet_config(self.store.conn)
        self.bus = Bus(settings.broker_host, settings.broker_port, self.fleet, settings.broker_user,
                       settings.broker_password, keepalive=settings.keepalive_s, client_id=settings.client_id,
                       key=bytes.fromhex(fc["audio.key"]),
                       accept=tuple(bytes.fromhex(k) for k in (fc.get("audio.key_old"),) if k))
        self.bad: collections.deque = collections.deque(maxlen=settings.bad_input_log)
        self.bad_count = 0
        self.features: list[Any] = []     # alarms, roll calls: objects with start()/stop()/tick()/hello()
        self._tasks: list[asyncio.Task] = []
        self.started_at = time.time()
        f = self.fleet
        self.bus.subscribe(T.units_sub(f, T.PRESENCE).decode(), self._on_presence, qos=1)
        # The heartbeats ride their own topic (radios do not take them: docs/POWER.md); the board judges
        # staleness from them, so a radio that stops beating turns offline here within 1.5 x its interval.
        self.bus.subscribe(T.units_sub(f, T.BEAT).decode(), self._on_presence, qos=1)
        self.bus.subscribe(T.units_sub(f, T.TELEMETRY).decode(), self._on_telemetry, qos=0)
        self.bus.add_state_listener(self._on_bus_state)
        self.bus.on_bad = self.bad_input
        from .alarms import Alarms
        from .rollcall import RollCalls
        self.alarms = Alarms(self)
        self.rollcalls = RollCalls(self)
        self.features += [self.alarms, self.rollcalls]

    # ---- life ----------------------------------------------------------------------------------------
    async def start(self) -> None:
        for feat in self.features:
            feat.start()
        await self.bus.start()
        self._tasks.append(asyncio.ensure_future(self._ticker()))
        self._tasks.append(asyncio.ensure_future(self._registry_refresher()))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for feat in self.features:
            feat.stop()
        await self.bus.stop()
        self.store.close()

    async def _ticker(self) -> None:
        while True:
            try:
                for u in self.board.tick():
                    self._tell_presence(u)
                rows = self.board.take_dirty()
                if rows:
                    self.hub.broadcast({"t": "units", "rows": rows})
                for feat in self.features:
                    feat.tick()
            except Exception:
                log.exception("console tick failed")
            await asyncio.sleep(TICK_S)

    async def _registry_refresher(self) -> None:
        while True:
            await asyncio.sleep(self.settings.registry_refresh_s)
            self.reload_registry()
            self.hub.drop_ended(self.store.session_alive)

    def reload_registry(self) -> None:
        try:
            self.board.reload()
            self.hub.broadcast({"t": "opds", "opds": self.board.opds})
        except Exception:
            log.exception("registry reload failed")

    # ---- inbound -------------------------------------------------------------------------------------
    def bad_input(self, topic: str, why: str) -> None:
        """A malformed, oversized or impossible message: logged, counted and shown; nothing else changes."""
        self.bad_count += 1
        e = {"at": now_iso(), "topic": topic, "why": why}
        self.bad.append(e)
        log.warning("bad input on %s: %s", topic, why)
        self.hub.broadcast({"t": "bad", "e": e, "count": self.bad_count})

    def _unit_of(self, topic: str) -> str | None:
        p = T.parse(topic)
        return p[3] if p is not None and p[1] == self.fleet else None

    def _on_presence(self, topic: str, payload: bytes, retained: bool) -> None:
        u = self._unit_of(topic)
        if u is None:
            return
        try:
            self.board.on_presence(u, payload, retained)
        except ValueError as e:
            self.bad_input(topic, str(e))
            return
        self._tell_presence(u)

    def _tell_presence(self, u: str) -> None:
        on = self.board.is_online(u)
        for feat in self.features:
            if hasattr(feat, "on_presence"):
                feat.on_presence(u, on)

    def _on_telemetry(self, topic: str, payload: bytes, retained: bool) -> None:
        u = self._unit_of(topic)
        if u is None:
            return
        try:
            self.board.on_telemetry(u, payload)
        except ValueError as e:
            self.bad_input(topic, str(e))

    def _on_bus_state(self, up: bool, reason: str) -> None:
        if not up:
            log.warning("broker connection: %s", reason)
        self.hub.broadcast({"t": "broker", "up": up, "reason": reason})

    # ---- for a new browser ---------------------------------------------------------------------------
    def hello(self, s) -> dict[str, Any]:
        d = {"t": "hello", "operator": s.operator, "role": s.role, "lang": s.lang, "fleet": self.fleet,
             "broker": {"up": self.bus.online, "reason": self.bus.reason}, "board": self.board.snapshot(),
             "bad": list(self.bad), "bad_count": self.bad_count, "now": now_iso()}
        for feat in self.features:
            d.update(feat.hello(s))
        return d
