"""ModemEmulator: the public API. Owns a background thread with an asyncio loop that runs the modem, its
UART (TCP port and optional pty), the control port and the AT sockets.

All public methods are thread-safe: they hop into the loop thread and wait for the result.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import os
import random
import threading
from typing import Any

from . import control, dialects, faults, power, scenario
from .cmd_msg import DEFAULT_USSD
from .modem import Modem
from .sim import SimCard
from .sockets import LinkModel
from .uart import Uart

DEFAULT_IMEI = "861234567890127"    # 15 digits with a valid Luhn digit (htctl.registry.norm_imei accepts it)


class ModemEmulator:
    def __init__(self, dialect: str = "A7670", sim: SimCard | None = None, imei: str | int = DEFAULT_IMEI,
                 operator: str = "TELKOMSEL", plmn: str | int = "51010", rsrp_dbm: float = -95, rsrq_db: float = -10,
                 sinr_db: float = 12, time_scale: float = 1.0, baud: int = 115200, powered: bool = False,
                 link: LinkModel | None = None, ussd_replies: dict[str, str] | None = None, seed: int = 1,
                 urc_interleave: bool = False, peer_on_loss: str = "reset", host: str = "127.0.0.1") -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        if not (str(imei).isdigit() and len(str(imei)) == 15):
            raise ValueError("imei must be 15 digits")
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the emulator serves on loopback only")
        self.dialect = dialects.get(dialect)
        self.sim = sim if sim is not None else SimCard()
        self.imei = str(imei)
        replies = dict(DEFAULT_USSD)
        replies.update(ussd_replies or {})
        self._modem = Modem(self.dialect, self.sim, str(imei), operator, str(plmn), rsrp_dbm, rsrq_db, sinr_db,
                            time_scale, link, replies, seed, urc_interleave, peer_on_loss)
        self.time_scale = float(time_scale)
        self._baud = baud
        self._powered = powered
        self._host = host
        self._loop = None
        self._thread = None
        self._uart = None
        self._ctl = None
        self._scenario_handles = []
        self.uart_port: int | None = None
        self.ctl_port: int | None = None
        self.pty_path: str | None = None

    # -- life ------------------------------------------------------------------------------------------
    def start(self) -> ModemEmulator:
        if self._thread is not None:
            return self
        ready = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="modem-emu-%s" % self.dialect.name,
                                        daemon=True)
        self._thread.start()
        ready.result(timeout=10)
        return self

    def _run(self, ready):
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._setup())
        except BaseException as e:      # report start-up failures to start() instead of dying silently
            ready.set_exception(e)
            loop.close()
            return
        ready.set_result(True)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._teardown())
            loop.close()

    async def _setup(self):
        loop = asyncio.get_running_loop()
        self._uart = Uart(self._modem.on_uart_rx, self._baud)
        self._modem.attach(loop, self._uart)
        self.uart_port = await self._uart.start_tcp(self._host)
        self._ctl = await control.serve(self, self._host)
        self.ctl_port = self._ctl.sockets[0].getsockname()[1]
        if self._powered:
            power.power_on(self._modem, "powered=True")

    async def _teardown(self):
        power.stop_all(self._modem)
        self._modem.power = "off"
        for h in self._scenario_handles:
            h.cancel()
        self._uart.close()
        self._ctl.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> ModemEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, fn, *args, **kw):
        if self._loop is None or self._thread is None:
            raise RuntimeError("emulator not started")
        if threading.current_thread() is self._thread:
            return fn(*args, **kw)
        fut = concurrent.futures.Future()

        def run():
            try:
                fut.set_result(fn(*args, **kw))
            except BaseException as e:
                fut.set_exception(e)
        self._loop.call_soon_threadsafe(run)
        return fut.result(timeout=10)

    # -- public API ------------------------------------------------------------------------------------
    def open_pty(self) -> str:
        """The UART on a pseudo-terminal (raw mode); returns its path, e.g. /dev/pts/7."""
        self.pty_path = self._call(self._uart.open_pty)
        return self.pty_path

    def set_pin(self, name: str, level: int | str) -> None:
        self._call(self._set_pin_now, name, level)

    def _set_pin_now(self, name, level):
        name = str(name).upper()
        if name not in ("PWRKEY", "RESET", "POWERON", "DTR", "FLIGHT"):
            raise ValueError("unknown pin %r (PWRKEY, RESET, POWERON, DTR, FLIGHT)" % name)
        power.set_pin(self._modem, name, level)

    def pulse_pin(self, name: str, ms: float) -> None:
        """Press a pin for exactly ``ms`` wall-clock milliseconds, timed in the emulator's own loop: the release
        is scheduled before the press's threshold check, so a busy test machine cannot stretch the pulse."""
        self._call(self._pulse_now, name, ms)

    def _pulse_now(self, name, ms):
        self._set_pin_now(name, 1)
        self._loop.call_later(ms / 1000.0, self._set_pin_now, name, 0)

    def fault(self, name: str, **kw: Any) -> None:
        self._call(self._fault_now, name, **kw)

    def _fault_now(self, name, **kw):
        faults.apply(self._modem, name, **kw)

    def run_scenario(self, src: str | os.PathLike[str] | list[Any]) -> int:
        """Schedule timed faults/pin changes from a JSON file path or a list of steps (validated first)."""
        steps = scenario.load(src)
        self._call(self._schedule, steps)
        return len(steps)

    def _schedule(self, steps):
        rng = random.Random(self._modem.seed)
        for at, kind, name, arg, rep in steps:
            self._scenario_at(at, kind, name, arg, rep, 1, rng)

    def _scenario_at(self, at, kind, name, arg, rep, n, rng):
        self._scenario_handles.append(self._loop.call_later(at * self.time_scale, self._scenario_step, kind,
                                                            name, arg, rep, n, rng))

    def _scenario_step(self, kind, name, arg, rep, n, rng):
        try:
            if kind == "fault":
                faults.apply(self._modem, name, **arg)
            else:
                self._set_pin_now(name, arg)
        except ValueError as e:
            self._modem.note("scenario: %s" % e)
        if rep is not None and (rep[2] is None or n < rep[2]):
            every, jitter, _ = rep
            self._scenario_at(every + rng.uniform(-jitter, jitter), kind, name, arg, rep, n + 1, rng)

    @property
    def state(self) -> dict[str, Any]:
        return self._call(self._state_now)

    def _state_now(self):
        return self._modem.snapshot()

    @property
    def now_s(self) -> float:
        """The emulator's own clock in emulated seconds, read inside its loop (so the loop is running and has
        handled what fell due before the read)."""
        return self._call(lambda: self._loop.time() / self.time_scale)

    @property
    def sms_log(self) -> list[tuple[str, str]]:
        return self._call(lambda: list(self._modem.sms_log))

    @property
    def at_log(self) -> list[str]:
        return self._call(lambda: list(self._modem.at.log))

    @property
    def events(self) -> list[tuple[float, str]]:
        """(emulated seconds, what happened) - the emulator's own log, for diagnosing a failing test."""
        return self._call(lambda: list(self._modem.events))

    def power_on(self) -> None:
        """Convenience: a PWRKEY pulse of the right length, as firmware would do (blocks for the pulse)."""
        import time
        self.set_pin("PWRKEY", 1)
        time.sleep(self.dialect.pwrkey_on_ms / 1000.0 + 0.05)
        self.set_pin("PWRKEY", 0)

    def emu_seconds(self) -> float:
        return self._call(self._modem.now)
