# Keeps the modem at DATA_UP by itself. One loop walks the ladder BOOT -> INIT -> SIM -> REG ->
# DATA -> UP; URCs and probes push it back down to the lowest broken rung, so every fault is
# handled by the same code that brings the radio up. Why a ladder: field reports of PPP drops
# unnoticed for 13-45 min and modems stuck "in data state" come from recovery paths that differ
# from the boot path and are never exercised.
import asyncio
import random
from ht.modem import link as L
from ht.modem import parse as P
from ht.modem.at import ModemError
from ht.compat import ticks_ms, ticks_diff

BOOT, CYCLE, INIT, SIM, REG, DATA, UP = 0, 1, 2, 3, 4, 5, 6
_HANG_TIMEOUTS = 3            # consecutive AT timeouts that mean "modem hung"


class Supervisor:
    def __init__(self, modem, plan=None, rng=None, probe_ms=3000, signal_ms=15000,
                 check_ms=30000, reg_reset_ms=180000, backoff_max_ms=60000, on_time=None):
        self.m = modem
        self.link = modem.link
        self.plan = plan                 # ht.modem.dataplan.DataPlan or None
        self.rng = rng or random
        self.probe_ms = probe_ms         # AT liveness probe while up
        self.signal_ms = signal_ms
        self.check_ms = check_ms         # PDP query even without URCs
        self.reg_reset_ms = reg_reset_ms  # searching this long: radio off/on
        self.backoff_max_ms = backoff_max_ms
        self.on_time = on_time           # on_time(unix_utc, tz_quarters): set the RTC
        self.need = BOOT
        self.fails = 0
        self.cycles = 0                  # power cycles done (telemetry)
        self.kick = asyncio.Event()
        self.running = False
        self._task = None
        self._last = {}
        self._reg_since = None
        modem.on_event = self._event

    # ---- public
    def start(self):
        self.m.start()
        self.running = True
        self._task = asyncio.create_task(self.run())
        return self._task

    def stop(self):
        self.running = False
        if self._task:
            self._task.cancel()
        self.m.at.stop()

    def data_suspect(self):
        # MQTT calls this when a keepalive went unanswered: the data path is dead even if the
        # modem still claims PDP is up. Restart data now rather than wait for the next check.
        if self.need >= DATA:
            self.link.set(L.REGISTERED, L.R_DATA_DEAD)
            self._down(DATA, "suspect")

    async def open(self, host, port, timeout_ms=20000, tls=False):
        # a socket only while data is up: callers get OSError fast instead of queueing on a dead link.
        # tls: through the modem's TLS client (ht/modem/tls.py), never a plain socket instead
        if not self.link.data_up:
            raise OSError("data link down (%s)" % self.link.state)
        if tls:
            return await self.m.tls.open(host, port)
        return await self.m.net.open(host, port, timeout_ms)

    # ---- URC-driven downgrades (called from the AT reader: no awaiting here)
    def _event(self, kind, line):
        if kind == "boot" and self.need > INIT:
            self._down(INIT, "modem rebooted")
        elif kind == "sim_gone":
            # before the SIM step, "+CPIN: NOT READY" is boot noise: the SIM step asks for itself
            if self.need > SIM:
                self.link.set(L.NO_SIM)
                self._down(SIM, "sim gone")
            else:
                self.kick.set()
        elif kind == "sim_back" and self.need <= SIM:
            self.kick.set()
        elif kind == "reg":
            st = P.cereg_stat(line)
            if st in (P.REG_HOME, P.REG_ROAMING):
                if self.need > REG:
                    self.link.set(self.link.state, roaming=(st == P.REG_ROAMING))
                self.kick.set()
            elif st is not None and self.need > REG:
                self._reg_state(st)
                self._down(REG, "registration lost")
        elif kind == "pdp_gone" and self.need > DATA:
            self.link.set(L.REGISTERED, L.R_PDP)
            self._down(DATA, "pdp gone")

    def _down(self, level, why):
        if level <= DATA:
            self.m.net.drop_all(why)
        if level < self.need:
            self.need = level
        self.kick.set()

    def _reg_state(self, st):
        if st == P.REG_DENIED:
            self.link.set(L.DENIED)
        else:
            self.link.set(L.SEARCHING)

    # ---- the loop
    async def run(self):
        while self.running:
            self.kick.clear()   # kicks raised during a step stay set until its next wait
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except asyncio.TimeoutError:
                if self.m.at.timeouts >= _HANG_TIMEOUTS or self.need <= INIT:
                    self.link.set(L.BOOTING, L.R_HANG)
                    self.need = CYCLE
                    await self._backoff()
            except Exception as e:
                # ModemError, OSError, garbage: retry the same rung after a jittered backoff
                self._last["error"] = repr(e)
                if self.need == DATA:
                    self.link.set(L.REGISTERED, L.R_PDP)
                if self.fails >= 6 and self.need > INIT:
                    self.need = CYCLE    # the same rung failing for minutes: start the modem afresh
                await self._backoff()

    async def step(self):
        n = self.need
        if n == BOOT or n == CYCLE:
            await self._boot(n == CYCLE)
        elif n == INIT:
            await self.m.init()
            self.need = SIM
        elif n == SIM:
            await self._sim()
        elif n == REG:
            await self._reg()
        elif n == DATA:
            await self._data()
        else:
            await self._watch()

    async def _boot(self, cycle):
        m = self.m
        m.net.drop_all("modem restart")
        self.link.set(L.BOOTING, L.R_HANG if cycle else None)
        if cycle:
            self.cycles += 1
            await m.power_cycle()
        elif not await m.probe(2, 500):
            await m.power_on()
        if not await m.wait_ready():
            raise asyncio.TimeoutError()
        self.need = INIT

    async def _sim(self):
        m = self.m
        s = await m.cpin()
        if s == "SIM_PIN":
            why = await m.enter_pin()
            if why is None:
                await self._wait(1000)   # card answers READY after a moment
                return
            left = m.info.get("pin_left")
            reasons = {"wrong": L.R_PIN_WRONG, "last": L.R_PIN_LAST, "unknown": L.R_PIN_UNKNOWN}
            r = reasons.get(why)
            if r and "%d" in r[0]:
                r = (r[0] % (left or 0), r[1] % (left or 0))
            self.link.set(L.SIM_PIN, r)
            await self._wait(10000)
        elif s == "SIM_PUK":
            self.link.set(L.SIM_PUK)
            await self._wait(10000)
        elif s == "LOCKED":
            # PH-NET/PH-SIM/... personalisation: no PIN of ours clears it; say which, poll slowly
            self.link.set(L.SIM_LOCKED, m.sim_lock[1] if m.sim_lock else None)
            await self._wait(10000)
        elif s == "NO_SIM":
            self.link.set(L.NO_SIM)
            await self._wait(3000)       # +CPIN URCs kick us sooner on insertion
        elif s == "BUSY":
            await self._wait(1000)
        else:
            self.link.set(L.SIM_READY)
            await m.identity()
            await m.set_apn()
            self._reg_since = ticks_ms()
            self.need = REG

    async def _reg(self):
        m = self.m
        st = await m.reg_stat()
        if st in (P.REG_HOME, P.REG_ROAMING):
            await m.operator()
            await self._signal()
            self.link.set(L.REGISTERED, roaming=(st == P.REG_ROAMING))
            self.need = DATA
            return
        self._reg_state(st)
        if self._reg_since is None:
            self._reg_since = ticks_ms()
        if ticks_diff(ticks_ms(), self._reg_since) > self.reg_reset_ms * m.scale:
            # stuck searching: a radio off/on makes the modem rescan (CFUN=4 keeps the SIM up)
            self._reg_since = ticks_ms()
            await m.at.cmd("AT+CFUN=4", timeout_ms=10000)
            await m.at.cmd("AT+CFUN=1", timeout_ms=10000)
        await self._wait(2000)

    async def _data(self):
        m = self.m
        await m.net.down()
        ip = await m.net.up(m.apn)
        if not ip:
            raise OSError("no IP address")
        m.info["ip"] = ip
        self.fails = 0
        self.need = UP
        self.link.set(L.DATA_UP)
        try:
            t = await m.clock()
            if t and self.on_time:
                self.on_time(t[0], t[1])
        except ModemError:
            pass

    async def _watch(self):
        # Wait for a URC kick or the probe interval, then probe cheaply; periodic signal and PDP.
        await self._wait(self.probe_ms)
        if self.need != UP:
            return
        m = self.m
        if not await m.probe(_HANG_TIMEOUTS, 1000):
            raise asyncio.TimeoutError()
        if self._due("signal", self.signal_ms):
            bars, sig = await m.signal()
            self.link.set_bars(bars, sig)
        if self._due("check", self.check_ms):
            st = await m.reg_stat()
            if await m.cpin() != "READY":
                self.link.set(L.NO_SIM)
                self._down(SIM, "sim gone (poll)")
            elif st not in (P.REG_HOME, P.REG_ROAMING):
                self._reg_state(st)
                self._down(REG, "registration lost (poll)")
            elif not await m.net.check():
                self.link.set(L.REGISTERED, L.R_PDP)
                self._down(DATA, "pdp gone (poll)")
            elif self.plan is not None:
                c = await m.data_counter()
                if c:
                    self.plan.modem_counters(c[0], c[1])
        if self.plan is not None:
            self.plan.maybe_save(ticks_ms())

    # ---- timing helpers
    def _due(self, key, every_ms):
        now = ticks_ms()
        t = self._last.get(key)
        if t is None or ticks_diff(now, t) >= every_ms * self.m.scale:
            self._last[key] = now
            return True
        return False

    async def _wait(self, ms):
        try:
            await asyncio.wait_for(self.kick.wait(), ms * self.m.scale / 1000)
        except asyncio.TimeoutError:
            pass

    async def _signal(self):
        try:
            bars, sig = await self.m.signal()
            self.link.set_bars(bars, sig)
        except ModemError:
            pass

    async def _backoff(self):
        # exponential with full jitter: a fleet that lost the cell together must not retry in step
        self.fails += 1
        base = min(1000 << min(self.fails, 6), self.backoff_max_ms)
        ms = base // 2 + self.rng.getrandbits(16) * (base // 2) // 65536
        self._last["backoff_ms"] = ms
        await self._wait(ms)
