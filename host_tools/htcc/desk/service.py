"""The desk's voice service: the engine (talk and listen) and the recorder on one MQTT connection.

    desk = DeskService("kota", key, ["1", "2"], recordings="/var/lib/htcc/recordings", directory=Directory(reg))
    await desk.start(client=shared_client)      # the console's connection (it calls desk.on_message), or
    await desk.start(host="127.0.0.1", port=1883, user="cc", password=pw)   # a connection of its own

The recorder sees every voice frame of the fleet whether or not anyone listens; a hook tells the console about
each saved burst (``on_recording``), e.g. an emergency's hot-mic audio, playable as soon as the burst ends.
"""
from __future__ import annotations

import asyncio
import logging
import os
import pathlib
import time
from collections.abc import Callable
from typing import Any

from hal import netstream
from ht.mqtt.robust import RobustClient
from ht.radio import msgtag
from htcc.desk.engine import DeskEngine, voice_sub_all
from htcc.desk.recorder import Recorder

log = logging.getLogger("htcc.desk")


def next_epoch(path: pathlib.Path) -> int:
    """The desk's sender epoch (docs/FRAME.md), raised at every start like a radio's boot epoch: radios refuse a
    sender's frames from an epoch older than the last they heard, so a restarted desk must never go back.
    Kept in ``path``; if it cannot be kept, minutes since 2020 (still rising from start to start)."""
    floor = max(1, int(time.time() - 1577836800) // 60) & 0xFFFFFF
    try:
        last = int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        last = 0
    epoch = max(last + 1, floor) & 0xFFFFFF
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(str(epoch))
        os.replace(tmp, path)
    except OSError as e:
        log.warning("desk: cannot keep the sender epoch in %s (%s); using the clock's", path, e)
    return epoch


class DeskService:
    def __init__(self, fleet: str, key: bytes | None, talkgroups: list[str] | tuple[str, ...],
                 recordings: str | os.PathLike[str], directory: Callable[[str], dict] | None = None,
                 unit: str = "cc", frame_ms: int = 20, recorder_kw: dict[str, Any] | None = None,
                 engine_kw: dict[str, Any] | None = None) -> None:
        self.fleet = fleet
        # Own connection (tests, tools): control messages are tagged and opened here; on the console's Bus the
        # Bus does it with the same fleet key (htcc.console.bus).
        self.tagger = msgtag.Tagger(key) if key else None
        kw = dict(engine_kw or {})
        kw.setdefault("epoch", next_epoch(pathlib.Path(recordings).parent / "desk-epoch"))
        self.engine = DeskEngine(fleet, key, talkgroups, publish=self._publish, unit=unit, directory=directory,
                                 frame_ms=frame_ms, **kw)
        self.recorder = Recorder(recordings, fleet, key, directory=directory, **(recorder_kw or {}))
        self.client: Any = None
        self.bus: Any = None
        self.own_client = False
        self.tasks: list[asyncio.Task] = []

    # ---- the connection -----------------------------------------------------------------------------
    def subscriptions(self) -> list[tuple[bytes, int]]:
        subs = dict(self.engine.subscriptions())
        subs[voice_sub_all(self.fleet)] = 0      # the recorder: every talkgroup
        return list(subs.items())

    def attach_bus(self, bus: Any) -> None:
        """Share the console's one MQTT connection (htcc.console.bus.Bus): subscribe now, before it starts."""
        self.bus = bus
        for t, q in self.subscriptions():
            bus.subscribe(t.decode(), self.on_message, qos=q)

    async def start(self, client: Any = None, host: str = "127.0.0.1", port: int = 1883, user: str = "cc",
                    password: str | None = None, keepalive: int = 10) -> None:
        if self.bus is not None:
            self.engine.start()
            self.tasks = [asyncio.create_task(self._housekeeping())]
            return
        if client is None:
            client = RobustClient(netstream.opener(host, port), "desk-" + user, user=user, password=password,
                                  keepalive=keepalive, on_message=self._on_own_message)
            self.own_client = True
        self.client = client
        for t, q in self.subscriptions():
            await client.subscribe(t, q)
        if self.own_client:
            client.start()
        self.engine.start()
        self.tasks = [asyncio.create_task(self._housekeeping())]

    async def wait_online(self, timeout_ms: int = 10000) -> None:
        await self.client.wait_online(timeout_ms)

    def on_message(self, topic: bytes | str, payload: Any, retained: bool = False) -> None:
        """Every message of the console's connection may come here; what is not voice or floor is ignored."""
        try:
            self.engine.on_message(topic, payload, retained)
        except Exception:
            log.exception("desk: engine failed on a message")
        try:
            self.recorder.on_message(topic, payload, retained)
        except Exception:
            log.exception("recorder: failed on a message")

    def _on_own_message(self, topic: bytes | str, payload: Any, retained: bool = False) -> None:
        if self.tagger is not None and msgtag.needs_tag(topic):
            body = self.tagger.open(topic, bytes(payload))
            if body is None:
                log.warning("desk: dropped %r: its tag was not made with the fleet key", topic)
                return
            payload = body
        self.on_message(topic, payload, retained)

    async def _publish(self, topic: bytes, payload: bytes, qos: int, retain: bool) -> Any:
        if self.bus is not None:
            return await self.bus.publish(topic, payload, qos, retain)
        if self.client is None:
            raise OSError("desk: no MQTT connection")
        if self.tagger is not None and msgtag.needs_tag(topic):
            payload = self.tagger.seal(topic, payload)
        return await self.client.publish(topic, payload, qos, retain)

    async def _housekeeping(self) -> None:
        n = 0
        while True:
            self.recorder.tick()
            if n % 36000 == 0:          # at start, then hourly
                try:
                    self.recorder.purge()
                except Exception:
                    log.exception("recorder: retention purge failed")
            n += 1
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.engine.stop()
        self.recorder.close_all()
        if self.own_client and self.client is not None:
            await self.client.stop()
