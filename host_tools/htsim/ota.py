"""Updates over the air in the simulation (docs/OTA.md): MicroPython radios, each booted through the real
bootstrap from its own flash folder, on Mosquitto behind per-radio LTE link proxies (loss on the update's
chunks, cuts on demand, a trace of voice and update packets); a radio that exits is started again, as an
ESP32 resets; with ``arbiter=True`` the talkgroup's floor arbiters (a primary and a standby) run beside the
broker, so a press gets the floor and the radio talks. The rollout itself is ``htctl.rollout`` over paho, as
``htctl fleet update`` runs it.
"""
from __future__ import annotations

import asyncio
import json
import os
import pathlib
import random
import time
from typing import Any

from htctl import release as REL
from htctl.firmware import BOARDS_DIR
from htctl.mosquitto import Mosquitto, fleet_rights
from htsim import linksim, rig
from htsim.fleet.proxy import LinkProxy

RESTART, CRASH = 3, 4


class Radio:
    def __init__(self, unit: str, root: pathlib.Path, proxy: LinkProxy, args: dict[str, Any]) -> None:
        self.unit = unit
        self.root = root
        self.proxy = proxy
        self.args = args
        self.events: list[tuple[float, str, dict[str, Any]]] = []
        self.boots = 0
        self.proc: asyncio.subprocess.Process | None = None

    def status(self) -> str | None:
        s = [d["status"] for _, k, d in self.events if k == "ota"]
        return s[-1] if s else None

    def seen(self, kind: str) -> list[tuple[float, dict[str, Any]]]:
        return [(t, d) for t, k, d in self.events if k == kind]


class OtaSim:
    """``async with OtaSim(tmp, units, key_hex) as sim``: a broker, a proxy and a MicroPython process per radio."""

    def __init__(self, tmp: os.PathLike[str], units: list[str], key_hex: str, fleet: str = "kota",
                 loss: float = 0.0, base_ms: float = 40.0, seed: int = 1, press_at: dict[str, int] | None = None,
                 reboot_ms: int = 1500, board: str = "LILYGO_T_A7670", arbiter: bool = False) -> None:
        self.tmp = pathlib.Path(tmp)
        self.units = units
        self.fleet = fleet
        self.key_hex = key_hex
        self.loss = loss
        self.base_ms = base_ms
        self.seed = seed
        self.press_at = press_at or {}
        self.reboot_ms = reboot_ms
        self.board = str(pathlib.Path(BOARDS_DIR) / board / "board.json")
        self.radios: dict[str, Radio] = {}
        self.arbiter = arbiter
        # the fleet voice key: radios sign voice and control messages with it (no key, no voice: issue 11)
        self.voice_key = random.Random(seed).randbytes(32)
        self.arbiters: list[Any] = []
        self.tasks: list[asyncio.Task] = []
        self.running = True

    async def __aenter__(self) -> OtaSim:
        users = {u: "pw-" + u for u in self.units}
        users["cc"] = "pw-cc"
        arbs = (("arb-a", "pw-arb-a"), ("arb-b", "pw-arb-b"))
        users.update(arbs)
        self.broker = Mosquitto(users=users, acl=fleet_rights(self.fleet, {u: ["1"] for u in self.units}))
        self.host, self.port = self.broker.start()
        if self.arbiter:
            from htcc.arbiter.service import run_pair
            self.arbiters = await run_pair(self.fleet, self.host, self.port, ("1",), accounts=arbs,
                                          key=self.voice_key)
        for i, u in enumerate(self.units):
            def leg(k, i=i):
                return lambda: linksim.LTEDelay(seed=self.seed * 1000 + i * 10 + k, base_ms=self.base_ms, legs=1)
            loss = linksim.Bernoulli(self.loss, seed=self.seed + i) if self.loss else None
            px = LinkProxy(self.port, leg(1), leg(2), down_loss=loss, trace=True)
            await px.start()
            root = self.tmp / u / "ota"
            root.parent.mkdir(parents=True, exist_ok=True)
            args = {"unit": u, "fleet": self.fleet, "root": str(root), "host": "127.0.0.1", "port": px.port,
                    "password": "pw-" + u, "key": self.key_hex, "vkey": self.voice_key.hex(),
                    "board": self.board, "reboot_ms": self.reboot_ms,
                    "press_at": self.press_at.get(u)}
            (self.tmp / u / "args.json").write_text(json.dumps(args))
            r = self.radios[u] = Radio(u, root, px, args)
            self.tasks.append(asyncio.create_task(self._life(r)))
        return self

    async def _life(self, r: Radio) -> None:
        # Boot, run until the program exits, boot again: the radio's life across resets.
        cwd = self.tmp / r.unit
        while self.running:
            r.boots += 1
            r.proc = await asyncio.create_subprocess_exec(
                *rig.command([rig.program("ota_radio"), cwd / "args.json"]), cwd=str(cwd),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=rig.env())
            assert r.proc.stdout is not None
            async for line in r.proc.stdout:
                if line.startswith(b"EV "):
                    _, kind, d = json.loads(line[3:])
                    r.events.append((time.monotonic(), kind, d))
            await r.proc.wait()
            if r.proc.returncode not in (RESTART, CRASH):
                return
            await asyncio.sleep(0.2)

    async def wait(self, cond: Any, timeout: float) -> bool:
        t = time.monotonic()
        while time.monotonic() - t < timeout:
            if cond():
                return True
            await asyncio.sleep(0.2)
        return cond()

    async def online(self, timeout: float = 60) -> bool:
        return await self.wait(lambda: all(any(k == "mqtt" and d.get("state") == "online" for _, k, d in r.events)
                                           for r in self.radios.values()), timeout)

    async def __aexit__(self, *exc: Any) -> None:
        self.running = False
        for r in self.radios.values():
            if r.proc is not None and r.proc.returncode is None:
                r.proc.kill()
        for t in self.tasks:
            try:
                await asyncio.wait_for(t, 5)
            except (asyncio.TimeoutError, Exception):
                t.cancel()
        for r in self.radios.values():
            await r.proxy.stop()
        for a in self.arbiters:
            await a.stop()
        self.broker.stop()


def build_release(folder: os.PathLike[str], key: os.PathLike[str], version: str, crash: bool = False,
                  firmware_copy: os.PathLike[str] | None = None) -> REL.Release:
    """A release for the simulated radios (x64 .mpy of the desktop build). ``crash``: its app module raises
    at import, built from ``firmware_copy`` (a copy of firmware/ the caller may change)."""
    kw: dict[str, Any] = {}
    if crash:
        assert firmware_copy is not None
        app = pathlib.Path(firmware_copy) / "ht" / "radio" / "app.py"
        app.write_text(app.read_text() + '\nraise RuntimeError("a release that dies at boot")\n')
        kw["firmware_dir"] = firmware_copy
    REL.build(folder, key, version, arch=rig_arch(), boards=[], manifest="vdev", **kw)
    return REL.Release(folder)


def rig_arch() -> str:
    """The .mpy architecture of the MicroPython unix interpreter the simulation runs."""
    import subprocess
    p = subprocess.run(rig.command(["-c", "from ht.compat import mpy_arch; print(mpy_arch())"]),
                       capture_output=True, text=True, env=rig.env(), timeout=30)
    return p.stdout.strip() or "x64"
