# The radio's power: what state it is in, what that lets it switch off, and what the battery says
# (docs/POWER.md). Pure: the HAL and the modem's sleep (ht.modem.sleep.ModemSleep) are handed in.
#
# Modes: "idle" (online, nobody talking to or through us), "listen" (a burst is playing), "talk" (we
# transmit), "alert" (an emergency or a roll call is in progress here or arrived from the fleet: everything
# stays awake for hold_ms, whatever else happens). In "idle" the CPU runs slow (hal.cpu_mhz(80)) and the
# modem may sleep between exchanges; every other mode runs the CPU at full speed and keeps the modem awake,
# so a frame never waits for a wake-up in the middle of a burst. The log keeps how long the radio spent in
# each mode, at each CPU speed and with the modem asleep: the battery bench integrates it, telemetry
# reports it.
from ht.compat import ticks_ms, ticks_diff, ticks_add

MODES = ("idle", "listen", "talk", "alert")
CPU_LOW = 80          # MHz in idle: the ESP32's lowest speed with the I2S/UART clocks unchanged
CPU_HIGH = 240        # MHz for talk/listen: the codec, denoiser and AT engine at full speed

# Resting voltage -> state of charge of one Li-ion 18650 cell (NMC/NCA, 25 degC, light load ~0.2 C): a
# typical curve of that chemistry, the shape of the 0.2 C discharge curves in the cell makers' data sheets
# (Panasonic NCR18650B, Samsung INR18650-30Q; docs/POWER.md says what was checked): a flat 3.6-3.9 V
# plateau, a steep knee below 3.5 V. Voltage under load sags (~0.1 V at 1 A), so the radio samples it while
# idle and never mid-transmission.
CURVE = ((4200, 100), (4150, 95), (4110, 90), (4020, 80), (3950, 70), (3880, 60), (3830, 50),
         (3790, 40), (3760, 30), (3720, 20), (3680, 15), (3640, 10), (3550, 5), (3400, 2), (3000, 0))
LOW_PCT = 15          # low-battery tone and presence flag
LOW_CLEAR_PCT = 20    # hysteresis: the flag clears above this (or when charging)
CRITICAL_PCT = 5      # shutdown warning: ~15-30 min of standby left at most
SHUTDOWN_MV = 3400    # below this the modem browns out on its next transmit burst (2 A peaks)


def pct_from_mv(mv):
    # piecewise linear on CURVE; None for no reading
    if mv is None:
        return None
    if mv >= CURVE[0][0]:
        return 100
    for i in range(1, len(CURVE)):
        v1, p1 = CURVE[i]
        if mv >= v1:
            v0, p0 = CURVE[i - 1]
            return p1 + (mv - v1) * (p0 - p1) // (v0 - v1)
    return 0


class Battery:
    # Smoothed state of charge with the flags presence and the cues need. sample() takes millivolts
    # read while idle (once a second); one outlier (an ADC glitch, a transmit sag caught anyway) moves the
    # average at most 40 mV.
    def __init__(self):
        self.mv = None
        self.pct = None
        self.low = False
        self.critical = False
        self.charging = None      # True/False where the board wires a charge-status pin, else None

    def sample(self, mv, charging=None):
        # -> list of events that just happened: "battery_low", "battery_critical", "battery_ok"
        self.charging = charging
        if mv is None or mv <= 0:
            return []
        if self.mv is None:
            self.mv = mv
        else:
            # half way towards the reading, at most 40 mV per sample: a cell moves a few mV a minute, a
            # glitch or a transmit sag is one sample
            d = (mv - self.mv) // 2
            self.mv += 40 if d > 40 else -40 if d < -40 else d
        self.pct = pct_from_mv(self.mv)
        ev = []
        if charging:
            if self.low or self.critical:
                ev.append("battery_ok")
            self.low = self.critical = False
            return ev
        if not self.low and self.pct <= LOW_PCT:
            self.low = True
            ev.append("battery_low")
        elif self.low and self.pct >= LOW_CLEAR_PCT:
            self.low = False
            ev.append("battery_ok")
        if not self.critical and (self.pct <= CRITICAL_PCT or self.mv <= SHUTDOWN_MV):
            self.critical = True
            ev.append("battery_critical")
        elif self.critical and self.pct > CRITICAL_PCT + 3:
            self.critical = False
        return ev

    def flag(self):
        # presence's battery flag: "" / "low" / "critical" / "charging"
        if self.charging:
            return "charging"
        return "critical" if self.critical else "low" if self.low else ""


class PowerPolicy:
    # hal: may have cpu_mhz(mhz) (hal/esp32.py: machine.freq); sleep: ModemSleep or None; enabled: the
    # config's power.save (False: CPU always fast, modem never sleeps: the "before" of the battery bench).
    def __init__(self, hal, sleep=None, enabled=True, clock=ticks_ms):
        self.hal = hal
        self.sleep = sleep
        self.enabled = enabled
        self.clock = clock
        now = clock()
        self.mode = None
        self.mhz = None
        self.since = now
        self.ms = {"idle": 0, "listen": 0, "talk": 0, "alert": 0, "cpu_low": 0, "cpu_high": 0}
        self.changes = 0
        self.log = []             # (ticks, mode) at each change, last 32 (diagnostics)
        self._alert_until = None
        self._cpu = getattr(hal, "cpu_mhz", None)
        self._ri = getattr(hal, "ri_pending", None)   # RI low: the module woke for a URC or data
        self.update(now, False, False, False)

    def set_enabled(self, on, now):
        # power.save switched at run time (the bench compares bursts with and without it on one radio)
        self.enabled = bool(on)
        self._account(now)
        self.mode = None
        self.update(now, False, False, False)

    def wake_all(self, now, hold_ms=30000):
        # an emergency or a roll call: everything up at once and kept up for hold_ms
        t = ticks_add(now, hold_ms)
        if self._alert_until is None or ticks_diff(t, self._alert_until) > 0:
            self._alert_until = t
        self.update(now, False, False, False)

    def _alert(self, now):
        if self._alert_until is None:
            return False
        if ticks_diff(self._alert_until, now) > 0:
            return True
        self._alert_until = None
        return False

    def update(self, now, talking, listening, alert):
        mode = "talk" if talking else "alert" if alert or self._alert(now) else "listen" if listening else "idle"
        if mode == self.mode:
            s = self.sleep
            if mode == "idle" and s is not None:
                if not s.awake and self._ri is not None and self._ri():
                    s.on_rx()           # RI before the URC's bytes: DTR low now, the read follows
                s.tick(now)             # asleep once its UART has been quiet for idle_ms
            return mode
        self._account(now)
        self.mode = mode
        self.changes += 1
        self.log.append((now, mode))
        if len(self.log) > 32:
            self.log.pop(0)
        saving = self.enabled and mode == "idle"
        mhz = CPU_LOW if saving else CPU_HIGH
        if mhz != self.mhz:
            self.mhz = mhz
            if self._cpu is not None:
                try:
                    self._cpu(mhz)
                except Exception as e:      # a HAL that cannot change speed: keep running as is
                    print("power: cpu speed not set:", repr(e))
                    self._cpu = None
        s = self.sleep
        if s is not None:
            s.allowed = saving
            if not saving:
                s.hold()            # DTR low now: the first frame of a burst must not wait for it
        return mode

    def _account(self, now):
        if self.mode is not None:
            d = ticks_diff(now, self.since)
            self.ms[self.mode] += d
            self.ms["cpu_low" if self.mhz == CPU_LOW else "cpu_high"] += d
        self.since = now

    def report(self, now=None):
        # ms per mode and CPU speed, and the modem's sleep, since boot
        if now is None:
            now = self.clock()
        self._account(now)
        d = dict(self.ms)
        s = self.sleep
        d["modem_sleep"] = s.asleep_total(now) if s is not None else 0
        return d
