"""Runs a fleet scenario: broker + one LTE link proxy per radio + modem emulators for radios that have a
modem + the radios themselves (the real firmware, several per interpreter process, MicroPython unix by
default) + the scenario clock for faults. Returns everything the report needs.

    res = asyncio.run(Runner(scenario, out_dir).run())
    res["events"]   [(t_ms, unit, kind, fields)]  on the scenario clock (0 = start, shared wall clock)
    res["stats"]    {unit: radio stats}, res["links"] {unit: proxy byte counts}, res["sms"] {unit: [...]}

Which interpreter runs what (docs/FLEET.md): every radio runs under ``mode`` (mpy by default, cpython for
scale); ``modem_mode`` can put the radios with a modem under another interpreter (they share a process).
"""
from __future__ import annotations

import asyncio
import json
import os
import pathlib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from htsim import speech
from htsim.fleet import narrate, scenario as S
from htsim.fleet.proxy import LinkProxy
# broker_accounts, link_models and link_seed stay importable from here: tests and docs/FLEET.md use runner.*
from htsim.fleet.network import (ARBITERS, BrokerHandle, broker_accounts, link_models, link_seed,  # noqa: F401
                                 password)
from htsim import rig

from htctl.firmware import BOARDS_DIR, DATA_ROOT as ROOT
DRIVER = rig.program("radio")
BOARD = BOARDS_DIR / "LILYGO_T_A7670" / "board.json"
BOARDS = {"A7670": "LILYGO_T_A7670", "SIM7600": "LILYGO_T_SIM7600", "EC200U": "DIY_DEVKITC_EC200U"}
KEY = "kota-fleet-voice-key"
EMU_FAULTS = {"modem_hang": ("hang", {}), "sim_pulled": ("sim_remove", {}), "sim_insert": ("sim_insert", {}),
              "reg_lost": ("reg_lost", {"duration_s": 0}), "reg_home": ("reg_home", {}),
              "pdp_drop": ("pdp_drop", {}), "socket_close": ("socket_close", {})}


def clip_table() -> dict[str, np.ndarray]:
    return {name: pcm for name, pcm in speech.clips()}


class Runner:
    def __init__(self, sc: S.Scenario, out: str | os.PathLike[str], mode: str = "mpy", broker: Any = None,
                 link: str | dict[str, Any] | None = None, per_process: int = 8, modem_mode: str | None = None,
                 emu_scale: float = 0.05, keepalive: int = 10, log: Callable[[str], None] | None = None,
                 warmup_s: float = 90.0, proxy: bool = True, telemetry_s: int = 60) -> None:
        if mode not in ("mpy", "cpython"):
            raise S.ScenarioError("mode must be mpy or cpython")
        self.sc = sc
        self.out = pathlib.Path(out)
        # Working files (clips, per-process arguments with the simulated accounts' passwords, the start
        # signal, raw PCM, process logs) stay in a private folder that is removed afterwards: `out` gets only
        # what people read (summary.write: WAVs, transcript, summary), and no password is left on disk.
        self.work = None
        self.narrator = narrate.Narrator(end_ms=sc.duration_s * 1000)
        self.mode = mode
        self.modem_mode = modem_mode or mode
        self.broker_arg = broker
        self.link = S.parse_link(link) if link is not None else None
        self.per_process = max(1, per_process)
        self.emu_scale = emu_scale
        self.keepalive = keepalive
        self.telemetry_s = telemetry_s
        self.log = log or (lambda msg: None)
        self.warmup_s = warmup_s
        self.use_proxy = proxy
        self.events = []
        self.stats = {}
        self.ready = {}
        self.cpu = {}        # proc index -> {cpu_s, wall_s, radios} over the scenario (warm-up excluded)
        self.procs = []
        self.t0 = None
        self.proxies = {}
        self.emus = {}
        self.fault_log = []

    # ---- set-up ---------------------------------------------------------------------------------------
    def _link_for(self, r):
        return r.get("link") or self.link or self.sc.link

    async def _links(self, broker):
        for i, r in enumerate(self.sc.radios):
            if not self.use_proxy:
                continue
            spec = self._link_for(r)
            up, down, loss = link_models(spec, link_seed(spec, i))
            p = LinkProxy(broker.port, up, down, loss, target_host=broker.host)
            await p.start()
            self.proxies[r["unit"]] = p

    def _emulators(self):
        from htsim.emu import ModemEmulator, LinkModel
        for i, r in enumerate(self.sc.radios):
            if r["modem"]:
                emu = ModemEmulator(dialect=r["modem"], powered=True, time_scale=self.emu_scale,
                                    link=LinkModel(delay_ms=0, jitter_ms=0, loss=0.0, seed=i + 1), seed=i + 1)
                emu.start()
                self.emus[r["unit"]] = emu

    def _clips(self):
        used = {e.get("clip") for e in self.sc.events if e.get("clip")}
        table = clip_table()
        names = sorted(table)
        d = self.work / "clips"
        d.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name in used | {"all"}:
            pcm = np.concatenate([table[n] for n in names]) if name == "all" else table[name]
            p = d / (name + ".raw")
            p.write_bytes(np.asarray(pcm, dtype="<i2").tobytes())
            paths[name] = str(p)
        self.clip_pcm = {n: (np.concatenate([table[x] for x in names]) if n == "all" else table[n]) for n in paths}
        return paths

    def _script(self):
        talkers = sorted(self.sc.units)
        out = []
        k = 0
        for e in self.sc.events:
            t = int(e["t"] * 1000)
            do, u = e["do"], e.get("unit")
            if do == "fault":
                continue
            p = {x: e[x] for x in ("clip", "target", "id", "deadline_s", "units") if x in e}
            if do == "talk":
                p.setdefault("clip", "all")
                out.append([t, u, "talk", p])
                out.append([t + int(e["hold_s"] * 1000), u, "release", {}])
            elif do == "emergency":
                out.append([t, u, "emergency", p])
                out.append([t + int(e["hold_s"] * 1000), u, "emergency_release", {}])
            elif do == "answer":
                out.append([t, u, "press", {}])
                out.append([t + 300, u, "release", {}])
            else:
                out.append([t, u, do, p])
            k += 1
        out.sort(key=lambda x: x[0])
        del talkers
        return out

    def _groups(self):
        plain = [r for r in self.sc.radios if not r["modem"]]
        modem = [r for r in self.sc.radios if r["modem"]]
        groups = []
        for i in range(0, len(plain), self.per_process):
            groups.append((self.mode, plain[i:i + self.per_process]))
        if modem:
            groups.append((self.modem_mode, modem))
        return groups

    def _radio_args(self, r, broker):
        p = self.proxies.get(r["unit"])
        spec = {"unit": r["unit"], "prio": r["priority"], "tgs": r["talkgroups"], "cc": r["cc"],
                "host": "127.0.0.1" if p else broker.host, "port": p.port if p else broker.port,
                "password": password(r["unit"]), "modem": None}
        emu = self.emus.get(r["unit"])
        if emu is not None:
            spec["modem"] = {"uart": emu.uart_port, "ctl": emu.ctl_port, "scale": self.emu_scale}
            spec["board"] = str(BOARDS_DIR / BOARDS[r["modem"]] / "board.json")
        return spec

    async def _spawn(self, idx, mode, radios, broker, clips, script):
        units = {r["unit"] for r in radios}
        args = {"fleet": self.sc.fleet, "key": KEY, "board": str(BOARD), "out": str(self.work),
                "end": int(self.sc.duration_s * 1000), "frame_ms": self.sc.frame_ms, "keepalive": self.keepalive,
                "telemetry_s": self.telemetry_s, "warmup_ms": int(self.warmup_s * 1000),
                "radios": [self._radio_args(r, broker) for r in radios], "clips": clips,
                "script": [s for s in script if s[1] in units], "all_units": self.sc.units}
        path = self.work / ("proc%d.json" % idx)
        path.write_text(json.dumps(args))
        if mode == "mpy":
            heap = "%dM" % (8 + 3 * len(radios))
            cmd = rig.command([DRIVER, path], heap=heap)
            env = rig.env()
        else:
            cmd = [sys.executable, str(DRIVER), str(path)]
            env = rig.env(cpython=True)
        proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE, env=env, cwd=str(ROOT),
                                                    limit=1 << 20)
        self.procs.append((idx, mode, sorted(units), proc))
        return proc

    async def _read(self, idx, proc):
        errlog = (self.work / ("proc%d.stderr" % idx)).open("wb")

        async def err():
            while True:
                b = await proc.stderr.read(65536)
                if not b:
                    return
                errlog.write(b)
        et = asyncio.ensure_future(err())
        while True:
            line = await proc.stdout.readline()
            if not line:
                break
            s = line.decode(errors="replace").rstrip("\n")
            if s.startswith("EV "):
                try:
                    w, unit, kind, d = json.loads(s[3:])
                except ValueError:
                    continue
                self.events.append([w, unit, kind, d])
                if self.t0 is not None:
                    line = self.narrator.line(w - self.t0, unit, kind, d)
                    if line:
                        self.log(line)
            elif s.startswith("READY "):
                self.ready[idx] = json.loads(s[6:])
            elif s.startswith("DONE "):
                self.stats.update(json.loads(s[5:]))
            elif s.startswith("CPU "):
                self.cpu[idx] = json.loads(s[4:])
            else:
                errlog.write(line)
        await proc.wait()
        await et
        errlog.close()

    # ---- the run ------------------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        self.out.mkdir(parents=True, exist_ok=True)
        self.work = pathlib.Path(tempfile.mkdtemp(prefix="ht-fleet-"))   # mode 0700
        try:
            return await self._run()
        finally:
            failed = [i for i, _, _, p in self.procs if p.returncode not in (0, None)]
            for i in failed:   # what a person needs to see why: the failed processes' logs (no passwords)
                log = self.work / ("proc%d.stderr" % i)
                if log.exists():
                    shutil.copyfile(log, self.out / log.name)
            shutil.rmtree(self.work, ignore_errors=True)

    async def _run(self) -> dict[str, Any]:
        sc = self.sc
        users, rights = broker_accounts(sc)
        broker = self.broker = BrokerHandle(self.broker_arg, users, rights)
        readers = []
        self.arbiters = []
        try:
            await self._arbiters(broker)
            await self._links(broker)
            self._emulators()
            clips = self._clips()
            script = self._script()
            go = self.work / "go.json"
            if go.exists():
                go.unlink()
            groups = self._groups()
            self.log("fleet: %d radios in %d processes (%s), broker %s %s" % (
                len(sc.radios), len(groups), ", ".join(sorted({m for m, _ in groups})), broker.kind, broker.url))
            for i, (mode, radios) in enumerate(groups):
                proc = await self._spawn(i, mode, radios, broker, clips, script)
                readers.append(asyncio.ensure_future(self._read(i, proc)))
            deadline = time.monotonic() + self.warmup_s + 30
            while not all(i in self.ready or t.done() for i, t in enumerate(readers)):
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            not_ready = sorted(u for v in self.ready.values() for u in v)
            self.t0 = int(time.time() * 1000) + 500
            go.write_text(json.dumps({"t0": self.t0}))
            self.links_at_start = {u: p.stats() for u, p in self.proxies.items()}
            self.log("fleet: all processes ready%s; scenario starts" % (
                (" (not online yet: %s)" % ", ".join(not_ready)) if not_ready else ""))
            faults = asyncio.ensure_future(self._faults(broker))
            end = time.monotonic() + sc.duration_s + 60 + 2 * len(sc.radios) / self.per_process
            for t in readers:
                left = end - time.monotonic()
                try:
                    await asyncio.wait_for(asyncio.shield(t), max(1.0, left))
                except asyncio.TimeoutError:
                    break
            faults.cancel()
        finally:
            for _, _, _, p in self.procs:
                if p.returncode is None:
                    p.kill()
            for t in readers:
                try:
                    await asyncio.wait_for(t, 5)
                except (asyncio.TimeoutError, Exception):
                    pass
            for p in self.proxies.values():
                await p.stop()
            for a in self.arbiters:
                await a.stop()
            self.sms = {}
            for u, e in self.emus.items():
                self.sms[u] = list(e.sms_log)
                e.stop()
            broker.stop()
        return self.result(not_ready)

    async def _arbiters(self, broker):
        # The floor arbiters beside the broker, as in production (docs/FLOOR.md): a primary and a standby,
        # in-process tasks riding the firmware's MQTT client. They join the transcript as unit "arbiter".
        from htcc.arbiter.service import run_pair
        tgs = sorted({tg for r in self.sc.radios for tg in r["talkgroups"]})

        def ev(name):
            def on(kind, d):
                if kind != "record":
                    self.events.append([int(time.time() * 1000), name, "arbiter_" + kind, d])
            return on
        accounts = tuple((a, password(a)) for a in ARBITERS)
        self.arbiters = await run_pair(self.sc.fleet, broker.host, broker.port, tuple(tgs), accounts=accounts,
                                       key=KEY.encode())    # the fleet key: floor messages are tagged
        for a in self.arbiters:
            a.on_event = ev(a.name)

    async def _faults(self, broker):
        for e in self.sc.events:
            if e["do"] != "fault":
                continue
            d = self.t0 + e["t"] * 1000 - time.time() * 1000
            if d > 0:
                await asyncio.sleep(d / 1000)
            f, u = e["fault"], e.get("unit")
            self.fault_log.append([int(time.time() * 1000), u or "-", "fault", {"fault": f}])
            self.log(narrate.sentence(e["t"] * 1000, u or "-", "fault", {"fault": f}))
            if f == "broker_restart":
                await asyncio.get_running_loop().run_in_executor(None, broker.restart)
            elif f == "link_down":
                self.proxies[u].down()
            elif f == "link_up":
                self.proxies[u].up()
            else:
                name, kw = EMU_FAULTS[f]
                kw = dict(kw)
                if f == "reg_lost" and "duration_s" in e:
                    kw["duration_s"] = e["duration_s"]
                self.emus[u].fault(name, **kw)

    def result(self, not_ready: list[str]) -> dict[str, Any]:
        t0 = self.t0 or 0
        evs = sorted(self.events + self.fault_log, key=lambda x: x[0])
        events = [(w - t0, u, k, d) for w, u, k, d in evs]
        heard = {}
        for u in self.sc.units:
            p = self.work / ("%s.raw" % u)
            heard[u] = np.frombuffer(p.read_bytes(), dtype="<i2") if p.exists() else np.zeros(0, np.int16)
        procs = [{"proc": i, "mode": m, "units": us, "rc": p.returncode} for i, m, us, p in self.procs]
        return {"scenario": self.sc, "events": events, "stats": self.stats, "heard": heard,
                "links": {u: p.stats() for u, p in self.proxies.items()},
                "links_at_start": getattr(self, "links_at_start", {}),
                "sms": getattr(self, "sms", {}), "procs": procs,
                "not_ready": not_ready, "broker": self.broker.kind, "mode": self.mode, "cpu": self.cpu,
                "clips": getattr(self, "clip_pcm", {}), "out": str(self.out), "frame_ms": self.sc.frame_ms}


def run(sc: S.Scenario, out: str | os.PathLike[str], **kw: Any) -> dict[str, Any]:
    """Run scenario ``sc`` with its files in ``out``; keyword arguments as for :class:`Runner`."""
    return asyncio.run(Runner(sc, out, **kw).run())
