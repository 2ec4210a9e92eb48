# The modem's sleep between exchanges (docs/POWER.md). With AT+CSCLK=1 (SIMCom A76xx/SIM7600) or
# AT+QSCLK=1 (Quectel EC200U/EG91) the module runs on its slow clock whenever the DTR line is high and its
# UART is idle: a few mA instead of ~20, still registered, still paged (idle DRX), still receiving data.
# Asleep it does not hear its UART: the host pulls DTR low and waits for the UART to come up before it
# sends (wake_ms); when the network delivers data the module wakes by itself, pulses RI and prints the URC,
# and the host must then hold DTR low while it reads, or the module falls asleep again mid-read.
#
# SleepUART wraps the AT engine's UART (the duck type of ht/modem/uart.py), so the engine, the sockets and
# every dialect's commands stay as they are: a write wakes the module first, any byte read keeps it awake.
# ModemSleep decides when to let it sleep: the power policy (ht.radio.power) says whether sleep is allowed
# (never while talking or listening), and the module must have been quiet for idle_ms; the radio's control
# tick calls tick() (ht.radio.power.PowerPolicy.update).
# The slow-clock command is volatile (a reboot clears it): it is sent again each time data comes up.
from ht.compat import ticks_ms, ticks_diff, ticks_add, asleep_ms

CMDS = {"simcom": "AT+CSCLK=1", "quectel": "AT+QSCLK=1"}


class ModemSleep:
    # dtr: fn(asserted) from the HAL (asserted = DTR low on the line = module awake), or None (the board
    # has no DTR wire: the module never sleeps). family: "simcom" / "quectel".
    def __init__(self, dtr, family, wake_ms=50, idle_ms=500, clock=ticks_ms):
        self.dtr = dtr
        self.cmd = CMDS.get(family)
        self.wake_ms = wake_ms
        self.idle_ms = idle_ms
        self.clock = clock
        self.allowed = False          # the power policy's say (ht.radio.power)
        self.enabled = False          # the slow-clock command accepted since the module last came up
        self.awake = True
        self.last = clock()           # last UART activity either way
        self.since = self.last        # when the current awake/asleep period began
        self.ready = self.last        # the UART hears us from then on (wake_ms after DTR went low)
        self.asleep_ms = 0            # time spent asleep (telemetry, the energy log)
        self.sleeps = 0
        self.wakes = 0                # host-initiated wakes (a write found the module asleep)
        self.rx_wakes = 0             # module-initiated wakes (bytes came while asleep: RI / URC)
        self._enabling = False
        if dtr is not None:
            dtr(1)

    @property
    def capable(self):
        return self.dtr is not None and self.cmd is not None

    def _awake(self, now):
        if not self.awake:
            self.asleep_ms += ticks_diff(now, self.since)
            self.since = now
            self.awake = True
            self.ready = ticks_add(now, self.wake_ms)
            self.dtr(1)
            return True
        return False

    async def wake(self):
        # before a write: DTR low, then give the UART time to come up (also after a wake by the module:
        # its URC came out, but our DTR edge was just now)
        now = self.clock()
        self.last = now
        if self._awake(now):
            self.wakes += 1
        wait = ticks_diff(self.ready, now)
        if wait > 0:
            await asleep_ms(wait)
            self.last = self.clock()

    def on_rx(self):
        # bytes from the module: it woke itself (RI + URC) or is answering; keep it up while the host reads
        now = self.clock()
        self.last = now
        if self._awake(now):
            self.rx_wakes += 1

    def hold(self):
        # awake now and for as long as sleep is not allowed (the policy left "idle")
        now = self.clock()
        self.last = now
        self._awake(now)

    def touch(self):
        self.last = self.clock()

    def lost(self):
        # the module went away (reboot, power cycle, data down): the slow clock must be set again
        self.enabled = False
        if self.dtr is not None:
            self._awake(self.clock())

    def tick(self, now=None):
        # -> True when it put the module to sleep now
        if now is None:
            now = self.clock()
        if (self.awake and self.allowed and self.enabled and self.capable
                and ticks_diff(now, self.last) >= self.idle_ms):
            self.awake = False
            self.since = now
            self.sleeps += 1
            self.dtr(0)
            return True
        return False

    def asleep_total(self, now=None):
        if now is None:
            now = self.clock()
        return self.asleep_ms + (0 if self.awake else ticks_diff(now, self.since))

    async def enable(self, at):
        # the slow clock, once per module boot (volatile); harmless if refused (the module never sleeps)
        if not self.capable or self.enabled or self._enabling:
            return self.enabled
        self._enabling = True
        try:
            await at.cmd(self.cmd)
            self.enabled = True
        except Exception as e:          # ModemError / timeout: try again next time data comes up
            print("modem: sleep not enabled:", repr(e))
        finally:
            self._enabling = False
        return self.enabled


class SleepUART:
    # The AT engine's UART with the module's sleep in between: read/write/close as ht/modem/uart.py.
    def __init__(self, uart, sleep):
        self.u = uart
        self.sleep = sleep

    async def read(self, n):
        data = await self.u.read(n)
        if data:
            self.sleep.on_rx()
        return data

    async def write(self, buf):
        await self.sleep.wake()
        await self.u.write(buf)
        self.sleep.touch()

    def close(self):
        self.u.close()

    @property
    def closed(self):
        return getattr(self.u, "closed", False)
