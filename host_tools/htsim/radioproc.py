"""Real radios in a process of their own, driven from asyncio: the fleet's radio program (htsim/rig/radio.py)
under MicroPython unix (or CPython), its events read live, stopped when the driver has seen enough.

    rp = RadioProcess(workdir, "kota", key, [{"unit": "b", "tgs": ["1"], "host": h, "port": p, "password": pw}])
    await rp.start(); await rp.ready(60); rp.go()
    await rp.until(lambda: rp.when("b", "rx_start"), 30)
    stats = await rp.finish()       # writes stop.json, waits for DONE; rp.heard("b") = its speaker's PCM

Used by the console's desk tests and the desk benchmarks (htcc.desk); times in events are wall ms
(CLOCK_REALTIME), the clock every process on the host shares.
"""
from __future__ import annotations

import asyncio
import json
import os
import pathlib
import time
from collections.abc import Callable
from typing import Any

from htctl.firmware import DATA_ROOT
from htsim import rig

BOARD = "boards/LILYGO_T_A7670/board.json"


class RadioProcess:
    def __init__(self, work: str | os.PathLike[str], fleet: str, key: bytes | None, radios: list[dict[str, Any]],
                 clips: dict[str, str] | None = None, script: list | tuple = (), end_ms: int = 600000,
                 mode: str = "mpy", frame_ms: int = 20, keepalive: int = 10, nice: int | None = -10) -> None:
        self.work = pathlib.Path(work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.args = {"fleet": fleet, "key_hex": key.hex() if key else None, "board": BOARD, "out": str(self.work),
                     "end": end_ms, "frame_ms": frame_ms, "keepalive": keepalive, "radios": radios,
                     "clips": clips or {}, "script": [list(s) for s in script],
                     "all_units": [r["unit"] for r in radios]}
        self.mode = mode
        self.nice = nice
        self.niced = False
        self.events: list[tuple[int, str, str, dict[str, Any]]] = []
        self.not_ready: list[str] | None = None
        self.done: dict[str, Any] | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None
        self.stderr = b""

    async def start(self) -> None:
        for f in ("go.json", "stop.json"):
            (self.work / f).unlink(missing_ok=True)
        args = self.work / "radio-args.json"
        args.write_text(json.dumps(self.args))
        prog = rig.program("radio")
        if self.mode == "cpython":
            import sys
            argv = [sys.executable, str(prog), str(args)]
            env = rig.env(cpython=True)
        else:
            argv = rig.command([prog, args], heap="16M")
            env = rig.env()
        self.proc = await asyncio.create_subprocess_exec(*argv, cwd=str(DATA_ROOT), env=env,
                                                         stdout=asyncio.subprocess.PIPE,
                                                         stderr=asyncio.subprocess.PIPE)
        self.niced = self._own_cpu()
        self._reader = asyncio.ensure_future(self._read())
        self._err = asyncio.ensure_future(self.proc.stderr.read())

    def _own_cpu(self) -> bool:
        """A radio has a CPU of its own; on a shared test host (CI runs stress-ng beside the tests) its process
        gets a higher scheduling priority when the host allows it, so its 20 ms audio clock is not starved by
        a browser and the load. False when not allowed (the run goes on at the normal priority)."""
        if self.nice is None or self.proc is None:
            return False
        try:
            os.setpriority(os.PRIO_PROCESS, self.proc.pid, self.nice)
            return True
        except (OSError, AttributeError):
            return False

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                return
            s = line.decode(errors="replace").rstrip("\n")
            if s.startswith("EV "):
                try:
                    w, u, k, d = json.loads(s[3:])
                    self.events.append((w, u, k, d))
                except ValueError:
                    pass
            elif s.startswith("READY "):
                self.not_ready = json.loads(s[6:])
            elif s.startswith("DONE "):
                self.done = json.loads(s[5:])

    async def until(self, cond: Callable[[], Any], timeout: float, what: str = "") -> Any:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            v = cond()
            if v:
                return v
            if self._reader is not None and self._reader.done() and self.done is None:
                raise RuntimeError("radio process ended early (%s): %s" % (what, await self.error_text()))
            await asyncio.sleep(0.02)
        v = cond()
        if not v:
            raise TimeoutError("radio process: timed out waiting for %s" % (what or "a condition"))
        return v

    async def ready(self, timeout: float = 90) -> list[str]:
        await self.until(lambda: self.not_ready is not None, timeout, "READY")
        return self.not_ready or []

    def go(self) -> int:
        t0 = int(time.time() * 1000)
        (self.work / "go.json").write_text(json.dumps({"t0": t0}))
        return t0

    def when(self, unit: str, kind: str, pred: Callable[[dict], bool] | None = None, after: int | None = None
             ) -> int | None:
        for w, u, k, d in list(self.events):
            if u == unit and k == kind and (after is None or w >= after) and (pred is None or pred(d)):
                return w
        return None

    def all(self, unit: str, kind: str) -> list[tuple[int, dict[str, Any]]]:
        return [(w, d) for w, u, k, d in list(self.events) if u == unit and k == kind]

    async def finish(self, timeout: float = 60) -> dict[str, Any]:
        (self.work / "stop.json").write_text("{}")
        try:
            await self.until(lambda: self.done is not None, timeout, "DONE")
        finally:
            await self.close()
        return self.done or {}

    def heard(self, unit: str) -> bytes:
        p = self.work / ("%s.raw" % unit)
        return p.read_bytes() if p.exists() else b""

    async def error_text(self) -> str:
        try:
            err = await asyncio.wait_for(self._err, 2)
        except (asyncio.TimeoutError, Exception):
            err = b""
        return err.decode(errors="replace")[-3000:]

    async def close(self) -> None:
        p = self.proc
        if p is not None and p.returncode is None:
            try:
                await asyncio.wait_for(p.wait(), 10)
            except asyncio.TimeoutError:
                p.kill()
                await p.wait()
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 5)
            except (asyncio.TimeoutError, Exception):
                pass
