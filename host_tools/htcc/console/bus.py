"""The console's ONE MQTT connection to the broker (the Command Center account), shared by everything in the
server: the readiness board, alarms, roll calls and the desk voice engine (``htcc.desk``).

It is the firmware's own client (``ht.mqtt.robust.RobustClient``: reconnects with backoff, resubscribes,
resends unacknowledged QoS 1) running in the server's asyncio loop — no thread, no second connection.

How another part of the server uses it (``bus = app.state.bus``)::

    def on_voice(topic: str, payload: bytes, retained: bool) -> None:   # runs in the loop; must not block
        ...
    bus.subscribe("ht/kota/tg/+/v/+", on_voice, qos=0)   # any MQTT filter; several callbacks may share one
    await bus.publish(T.voice("kota", "1", "cc"), frame, qos=0)          # topic: str or bytes
    bus.publish_nowait(topic, payload, qos=1)       # from a callback: queued, sent in order by the loop
    bus.fleet, bus.user                             # the topics' fleet id; the account (the desk's unit id)
    bus.online                                      # bool; bus.add_state_listener(fn(online: bool, reason))
    bus.client                                      # the RobustClient itself, for what the above lacks

A callback that raises is logged and counted (``bus.errors``); it never breaks the connection.

Tags (issue 11, ``ht.radio.msgtag``): with the fleet key, every control message the server publishes (floor,
grants, commands, acks, roll calls, alerts) goes out with the key's tag, and every one it receives is opened
here: callbacks see the payload without its tag. A control message with a bad tag is dropped and counted
(``bus.bad_tags``) -- except an emergency alert, which is still delivered (a life may depend on it) and logged
as unverified, as the radios do.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from hal import netstream
from ht.mqtt.client import ONLINE
from ht.mqtt.packet import topic_matches
from ht.mqtt.robust import RobustClient
from ht.radio import msgtag
from ht.radio.topics import EMERGENCY

log = logging.getLogger("htcc.console.bus")

Callback = Callable[[str, bytes, bool], None]


class Bus:
    def __init__(self, host: str, port: int, fleet: str, user: str, password: str | None,
                 keepalive: int = 30, client_id: str | None = None, max_packet: int = 16384,
                 key: bytes | None = None, accept: tuple[bytes, ...] = ()) -> None:
        self.fleet = fleet
        self.tagger = msgtag.Tagger(key, accept) if key else None
        self.bad_tags = 0
        self.on_bad: Callable[[str, str], None] | None = None     # fn(topic, why): the console shows it
        self.user = user
        self.host, self.port = host, port
        self._subs: list[tuple[str, Callback]] = []
        self._qos: dict[str, int] = {}       # filter -> the highest QoS asked for it
        self._state_listeners: list[Callable[[bool, str], None]] = []
        self._out: asyncio.Queue | None = None
        self._sender: asyncio.Task | None = None
        self.errors = 0
        self.received = 0
        self.client = RobustClient(netstream.opener(host, port), client_id or ("console-" + user), user=user,
                                   password=password, keepalive=keepalive, max_packet=max_packet,
                                   on_message=self._on_message, on_state=self._on_state, max_inflight=32)

    # ---- life ----------------------------------------------------------------------------------------
    async def start(self) -> None:
        self._out = asyncio.Queue()
        for filt in {f for f, _ in self._subs}:
            await self.client.subscribe(filt.encode(), self._qos.get(filt, 1))
        self.client.start()
        self._sender = asyncio.ensure_future(self._send_loop())

    async def stop(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
        await self.client.stop()

    @property
    def online(self) -> bool:
        return self.client.state == ONLINE

    @property
    def reason(self) -> str:
        return self.client.reason or ""

    def add_state_listener(self, fn: Callable[[bool, str], None]) -> None:
        self._state_listeners.append(fn)

    def _on_state(self, state: str, reason: str) -> None:
        up = state == ONLINE
        for fn in self._state_listeners:
            try:
                fn(up, reason or "")
            except Exception:
                self.errors += 1
                log.exception("bus state listener failed")

    # ---- subscribe -----------------------------------------------------------------------------------
    def subscribe(self, filt: str, callback: Callback, qos: int = 1) -> None:
        """Register ``callback`` for messages matching ``filt`` (sent to the broker now if connected)."""
        new = filt not in self._qos
        self._qos[filt] = max(qos, self._qos.get(filt, 0))
        self._subs.append((filt, callback))
        if new and self._out is not None:
            asyncio.ensure_future(self.client.subscribe(filt.encode(), self._qos[filt]))

    def _on_message(self, topic: bytes, payload: memoryview, retained: bool) -> None:
        self.received += 1
        t = bytes(topic).decode("utf-8", "replace")
        data = bytes(payload)
        if self.tagger is not None and msgtag.needs_tag(t):
            body = self.tagger.open(t, data)
            if body is None:
                self.bad_tags += 1
                if msgtag.kind_of(t) != EMERGENCY or len(data) <= msgtag.TAG_LEN:
                    log.warning("dropped %s: its tag was not made with the fleet key", t)
                    if self.on_bad is not None:
                        self.on_bad(t, "bad tag: not made with the fleet key (dropped)")
                    return
                log.warning("emergency alert on %s with a bad tag: shown as UNVERIFIED", t)
                if self.on_bad is not None:
                    self.on_bad(t, "bad tag on an emergency alert: shown, marked unverified")
                # an untagged alert (a radio without the key) is whole JSON; a wrongly tagged one ends in 8 bytes
                body = data if data.rstrip().endswith(b"}") else data[:-msgtag.TAG_LEN]
            data = body
        for filt, cb in self._subs:
            if topic_matches(filt, t):
                try:
                    cb(t, data, retained)
                except Exception:
                    self.errors += 1
                    log.exception("bus callback for %s failed on %s", filt, t)

    # ---- publish -------------------------------------------------------------------------------------
    async def publish(self, topic: str | bytes, payload: bytes, qos: int = 0, retain: bool = False) -> Any:
        """Publish now (raises OSError when the broker is unreachable and qos is 0)."""
        if isinstance(topic, str):
            topic = topic.encode()
        if self.tagger is not None and msgtag.needs_tag(topic):
            payload = self.tagger.seal(topic, payload)
        return await self.client.publish(topic, payload, qos, retain)

    def publish_nowait(self, topic: str | bytes, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Queue a publish from synchronous code (a callback); the sender sends in order."""
        if self._out is None:
            raise RuntimeError("bus not started")
        self._out.put_nowait((topic, payload, qos, retain))

    async def _send_loop(self) -> None:
        while True:
            topic, payload, qos, retain = await self._out.get()
            try:
                await self.publish(topic, payload, qos, retain)
            except OSError as e:
                self.errors += 1
                log.warning("publish to %s lost: %s", topic, e)
