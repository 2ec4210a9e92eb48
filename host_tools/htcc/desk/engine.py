"""The desk's voice: the Command Center talking and listening as a unit of the fleet (issue 10, item 2).

It is built from the radio's own parts, not copies: per talkgroup a ``ht.radio.floor.Floor`` and a
``ht.radio.ptt.PTT`` at Command Center priority (claims go to the talkgroup's arbiter, docs/FLOOR.md; its
verdicts come back as permit / busy / denied cues exactly as on a radio), one ``ht.voice.transceiver.Transmitter``
(the firmware's codec and signed frames), and per talkgroup and talker a ``Receiver`` (the radio's jitter
buffer and concealment) behind the radio's ``VoiceGuard`` (tag, spoofing, replays).

    eng = DeskEngine("kota", key, ["1", "2"], publish=client.publish, on_event=..., on_audio=...)
    for topic, qos in eng.subscriptions(): await client.subscribe(topic, qos)
    client.on_message -> eng.on_message(topic, payload, retained)
    eng.start()                              # the floor tick, the playout clock, the sender
    eng.press("1", owner); eng.mic(owner, pcm16le_8k); eng.release(owner)

Talk is paced by the microphone: the browser's samples are encoded and sent as soon as a whole frame is in
(no clock of our own on the send side, so nothing waits for a tick). Listening is paced by the playout clock
(one pull per frame period), as on the radio's speaker. ``on_audio(tg, pcm_bytes, talker)`` gets each period
of audible sound per talkgroup; ``on_event(kind, fields)`` gets cues, states, talkers.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from array import array
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from ht.compat import ticks_ms, ticks_diff
from ht.radio import floormsg as fm
from ht.radio import grant as G
from ht.radio import topics as T
from ht.radio.floor import Floor, Outbox
from ht.radio.guard import OK, SourceIds, VoiceGuard, tg_num, unit_num
from ht.radio.ptt import PTT, Debounce
from ht.voice import codecs
from ht.voice import transceiver as voice
from ht.voice.frame import F_EMERG

log = logging.getLogger("htcc.desk")

Publish = Callable[[bytes, bytes, int, bool], Awaitable[Any]]
CUES = {"permit": "permit", "busy": "busy", "denied": "denied", "roger": "roger", "preempted": "preempted",
        "no_service": "no_service", "no_signal": "no_service", "timeout_warning": "timeout_warning",
        "timeout_cut": "timeout_cut"}
_IDLE_RX_S = 5.0       # a talker's receiver is dropped after this long without a frame


def voice_sub_all(fleet: str) -> bytes:
    """Every unit's voice on every talkgroup of the fleet: ht/<fleet>/tg/+/v/+ (the console's rights)."""
    return T.grants_sub(fleet)[:-len(T.GRANTS)] + T.VOICE.encode() + b"/+"


class Listener:
    """One talker heard on one talkgroup: the radio's receiver (jitter buffer, concealment)."""

    def __init__(self, tg: str, unit: str, uid: int, frame_ms: int) -> None:
        self.tg = tg
        self.unit = unit
        self.uid = uid
        self.rx = voice.Receiver(None, frame_ms)    # frames reach it already checked by the guard
        self.pcm = array("h", bytes(2 * frame_ms * 8))
        self.last = time.monotonic()
        self.on = False
        self.emergency = False
        self.frames = 0


class DeskEngine:
    def __init__(self, fleet: str, key: bytes | None, talkgroups: list[str] | tuple[str, ...],
                 publish: Publish | None = None, unit: str = "cc", directory: Callable[[str], dict] | None = None,
                 frame_ms: int = 20, pt: int = codecs.PT_ADPCM, talk_timeout_ms: int = 60000,
                 on_event: Callable[[str, dict[str, Any]], None] | None = None,
                 on_audio: Callable[[str, bytes, dict[str, Any]], None] | None = None,
                 rng: random.Random | None = None, epoch: int = 0) -> None:
        # epoch: this desk's sender epoch (htcc.desk.service.next_epoch): frames carry it (docs/FRAME.md)
        rng = rng or random.Random()
        self.fleet = fleet
        self.unit = unit
        self.uid = unit_num(unit)
        self.publish = publish
        self.directory = directory or (lambda u: {})
        self.frame_ms = frame_ms
        self.n = frame_ms * 8
        self.on_event = on_event or (lambda k, d: None)
        self.on_audio = on_audio or (lambda tg, pcm, info: None)
        tgs = [str(t) for t in talkgroups if str(t) != T.ALL_TG] + [T.ALL_TG]
        self.talkgroups = list(dict.fromkeys(tgs))
        self.boxes: dict[str, Outbox] = {}
        self.floors: dict[str, Floor] = {}
        self.ptts: dict[str, PTT] = {}
        self.floor_topic: dict[str, bytes] = {}
        self.voice_topic: dict[str, bytes] = {}
        for tg in self.talkgroups:
            box = Outbox()
            fl = Floor(tg, unit, box, burst_seed=rng.getrandbits(16))
            self.boxes[tg] = box
            self.floors[tg] = fl
            self.ptts[tg] = PTT(fl, box, fm.PRIO_COMMAND, talk_timeout_ms, min(10000, talk_timeout_ms // 2),
                                debounce=Debounce(active_low=False))
            self.floor_topic[tg] = T.floor(fleet, tg, unit)
            self.voice_topic[tg] = T.voice(fleet, tg, unit)
        self.tx = voice.Transmitter(0, self.uid, pt, frame_ms, key, rng.getrandbits(16), epoch=epoch)
        self.tx_pcm = array("h", bytes(2 * self.n))
        self.guard = VoiceGuard(key)
        self.ids = SourceIds()
        self.listeners: dict[tuple[str, int], Listener] = {}
        self.mix = np.zeros(self.n, dtype=np.int32)
        self.owner: Any = None          # the operator session pressing (one transmitter: one talker at a time)
        self.pressed: str | None = None
        self.talking = False
        self.tx_tg: str | None = None
        self.fifo = bytearray()
        self.queue: asyncio.Queue | None = None
        self.tasks: list[asyncio.Task] = []
        self.running = False
        self.counts = {"tx_frames": 0, "tx_bursts": 0, "rx_frames": 0, "rx_rejected": 0, "pub_errors": 0,
                       "mic_dropped": 0, "late_ticks": 0}
        self.t_first_mic: float | None = None   # monotonic time of the first sample of the burst (the bench)

    # ---- wiring ------------------------------------------------------------------------------------
    def subscriptions(self) -> list[tuple[bytes, int]]:
        return [(T.grants_sub(self.fleet), 1), (voice_sub_all(self.fleet), 0)]

    def start(self) -> None:
        self.running = True
        self.queue = asyncio.Queue()
        self.tasks = [asyncio.create_task(self._ticker()), asyncio.create_task(self._playout()),
                      asyncio.create_task(self._sender())]

    async def stop(self) -> None:
        if self.owner is not None:
            self.release(self.owner)
            await asyncio.sleep(0.05)
        self.running = False
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks = []

    # ---- inbound (the MQTT reader: never awaits) ----------------------------------------------------
    def on_message(self, topic: bytes | str, payload: bytes | memoryview, retained: bool = False) -> None:
        p = T.parse(topic)
        if p is None or p[1] != self.fleet:
            return
        kind, _, tg, unit = p
        now = ticks_ms()
        if kind == T.VOICE:
            if tg in self.ptts and unit != self.unit:
                self._on_voice(tg, unit, bytes(payload))
        elif kind == T.GRANTS and tg in self.ptts:
            try:
                r = G.parse(payload)
            except ValueError as e:
                self.on_event("bad_msg", {"topic": bytes(topic).decode() if not isinstance(topic, str) else topic,
                                          "why": str(e)})
                return
            if r.tg != tg:
                return
            self.ptts[tg].on_floor(r, now)
            self._flush(now)

    def _on_voice(self, tg: str, unit: str, payload: bytes) -> None:
        uid = self.ids.get(unit)
        if self.guard.check(payload, uid, tg_num(tg)) != OK:
            self.counts["rx_rejected"] += 1
            return
        key = (tg, uid)
        li = self.listeners.get(key)
        if li is None:
            li = self.listeners[key] = Listener(tg, unit, uid, self.frame_ms)
        li.last = time.monotonic()
        li.frames += 1
        if self.guard.frame.flags & F_EMERG:
            li.emergency = True
        li.rx.push_frame(self.guard.frame, payload, ticks_ms())
        self.counts["rx_frames"] += 1

    # ---- talk --------------------------------------------------------------------------------------
    def press(self, tg: str, owner: Any) -> str | None:
        """PTT down for `owner` on talkgroup `tg`: None, or why not (unknown talkgroup, desk in use)."""
        tg = str(tg)
        if tg not in self.ptts:
            return "unknown_talkgroup"
        if self.owner is not None and self.owner != owner:
            return "desk_in_use"
        self.owner = owner
        self.pressed = tg
        self.t_first_mic = None
        now = ticks_ms()
        self.ptts[tg].press(now)
        self._flush(now)
        return None

    def release(self, owner: Any) -> None:
        if owner != self.owner or self.pressed is None:
            return
        now = ticks_ms()
        self.ptts[self.pressed].release(now)
        self.pressed = None
        self._flush(now)
        if not self.talking:
            self.owner = None

    def mic(self, owner: Any, pcm: bytes) -> None:
        """Microphone samples (PCM16LE, 8 kHz, mono) from the owner's browser; dropped unless it holds the floor."""
        if owner != self.owner or not self.talking:
            self.counts["mic_dropped"] += len(pcm) // 2
            return
        if self.t_first_mic is None:
            self.t_first_mic = time.monotonic()
        self.fifo += pcm[: len(pcm) & ~1]
        self._pump(False)

    def _pump(self, last: bool) -> None:
        nb = 2 * self.n
        fifo = self.fifo
        while len(fifo) >= nb or (last and self.talking):
            chunk = bytes(fifo[:nb])
            del fifo[:nb]
            if len(chunk) < nb:
                chunk += bytes(nb - len(chunk))
            end = last and len(fifo) == 0
            self.tx_pcm[:] = array("h", chunk)
            pkt = self.tx.encode(self.tx_pcm, end)
            self._enqueue(self.voice_topic[self.tx_tg], bytes(pkt), 0, False)
            self.counts["tx_frames"] += 1
            if end:
                self.talking = False

    def _start_tx(self, tg: str) -> None:
        self.tx.talkgroup = tg_num(tg)
        self.tx.begin(emergency=False)
        self.tx_tg = tg
        self.talking = True
        self.fifo.clear()          # what was said before the permit is not sent (as on a radio)
        self.counts["tx_bursts"] += 1

    def _end_tx(self) -> None:
        if self.talking:
            self._pump(True)
        self.talking = False
        self.fifo.clear()
        if self.pressed is None:
            self.owner = None

    # ---- floor bookkeeping ---------------------------------------------------------------------------
    def _flush(self, now: int) -> None:
        for tg, box in self.boxes.items():
            if not (box.pubs or box.cues or box.events):
                continue
            owner = self.owner        # who pressed: a release's events clear it, its roger cue is still theirs
            pubs, cues, evs = box.drain()
            for kind, _key, payload, qos, retain in pubs:
                if kind == "floor":
                    self._enqueue(self.floor_topic[tg], payload, qos, retain)
            for ev in evs:
                self._event(tg, ev)
            for c in cues:
                name = CUES.get(c)
                if name:
                    self.on_event("talk.cue", {"tg": tg, "cue": name, "owner": owner})

    def _event(self, tg: str, ev: tuple) -> None:
        k = ev[0]
        if k == "tx_start":
            self._start_tx(tg)
            self.on_event("talk.on", {"tg": tg, "owner": self.owner})
        elif k == "tx_stop":
            owner = self.owner
            self._end_tx()
            self.on_event("talk.off", {"tg": tg, "owner": owner})
        elif k == "talker":
            self.on_event("listen.talker", self.talker_info(tg, ev[2], ev[3]))
        elif k == "free":
            self.on_event("listen.free", {"tg": tg, "why": ev[2]})
        elif k == "state":
            self.on_event("talk.state", {"tg": tg, "state": ev[1], "owner": self.owner})
        elif k == "service":
            self.on_event("floor.service", {"tg": tg, "up": bool(ev[2])})

    def talker_info(self, tg: str, unit: str, prio: int = 0) -> dict[str, Any]:
        d = self.directory(unit) if unit else {}
        return {"tg": tg, "unit": unit, "holder": d.get("holder"), "opd": d.get("opd"), "prio": prio,
                "emergency": prio >= fm.PRIO_EMERGENCY, "desk": unit == self.unit}

    def floor_state(self) -> list[dict[str, Any]]:
        out = []
        for tg in self.talkgroups:
            fl = self.floors[tg]
            t = fl.talker()
            out.append({"tg": tg, "talker": self.talker_info(tg, t, fl.hprio) if t else None,
                        "service": fl.service, "state": self.ptts[tg].state})
        return out

    def _enqueue(self, topic: bytes, payload: bytes, qos: int, retain: bool) -> None:
        if self.queue is not None:
            self.queue.put_nowait((topic, payload, qos, retain))

    # ---- tasks ---------------------------------------------------------------------------------------
    async def _sender(self) -> None:
        q = self.queue
        while self.running:
            topic, payload, qos, retain = await q.get()
            if self.publish is None:
                continue
            try:
                await self.publish(topic, payload, qos, retain)
            except OSError as e:
                self.counts["pub_errors"] += 1
                if self.counts["pub_errors"] in (1, 10, 100) or self.counts["pub_errors"] % 1000 == 0:
                    log.warning("desk: publish failed (%s); broker unreachable? (%d so far)", e,
                                self.counts["pub_errors"])

    async def _ticker(self) -> None:
        while self.running:
            now = ticks_ms()
            for p in self.ptts.values():
                p.tick(now)
            self._flush(now)
            await asyncio.sleep(0.01)

    async def _playout(self) -> None:
        period = self.frame_ms
        due = ticks_ms()
        while self.running:
            try:
                self._play(ticks_ms())
            except Exception:      # one bad period must not silence the desk
                log.exception("desk: playout failed")
            due += period
            d = ticks_diff(due, ticks_ms())
            if d < -5 * period:
                self.counts["late_ticks"] += 1
                due = ticks_ms()
                d = 0
            await asyncio.sleep(max(0, d) / 1000)

    def _play(self, now: int) -> None:
        if not self.listeners:
            return
        by_tg: dict[str, list[Listener]] = {}
        mono = time.monotonic()
        for key, li in list(self.listeners.items()):
            kind = li.rx.pull(now, li.pcm)
            if kind == voice.SILENCE:
                if li.on:
                    li.on = False
                    self.on_event("listen.end", {"tg": li.tg, "unit": li.unit})
                if mono - li.last > _IDLE_RX_S:
                    del self.listeners[key]
                continue
            if not li.on:
                li.on = True
                info = self.talker_info(li.tg, li.unit, fm.PRIO_EMERGENCY if li.emergency else 0)
                self.on_event("listen.start", info)
            by_tg.setdefault(li.tg, []).append(li)
        for tg, lis in by_tg.items():
            if len(lis) == 1:
                pcm = lis[0].pcm.tobytes()
            else:
                m = self.mix
                m[:] = 0
                for li in lis:
                    m += np.frombuffer(li.pcm, dtype=np.int16)
                pcm = np.clip(m, -32768, 32767).astype("<i2").tobytes()
            self.on_audio(tg, pcm, {"units": [li.unit for li in lis]})

    def stats(self) -> dict[str, Any]:
        s = dict(self.counts)
        s.update({"guard": self.guard.stats(), "listeners": len(self.listeners), "talking": self.talking})
        return s
