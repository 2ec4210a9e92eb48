# The radio's power policy and battery truth (ht.radio.power): portable, runs under MicroPython too.
from ht.radio.power import PowerPolicy, Battery, pct_from_mv, CURVE, CPU_LOW, CPU_HIGH
from ht.modem.sleep import ModemSleep


class FakeHal:
    def __init__(self):
        self.mhz = []

    def cpu_mhz(self, mhz):
        self.mhz.append(mhz)


class Clock:
    def __init__(self):
        self.t = 1000

    def __call__(self):
        return self.t


def test_curve_is_monotonic_and_hits_its_points():
    for v, p in CURVE:
        assert pct_from_mv(v) == p
    last = 101
    for mv in range(4300, 2900, -10):
        p = pct_from_mv(mv)
        assert 0 <= p <= 100 and p <= last
        last = p
    assert pct_from_mv(None) is None
    # the plateau: 3.8 V is well under half, not the 55 % a straight 3.3-4.2 V line gives
    assert 40 <= pct_from_mv(3800) <= 45


def test_battery_low_critical_and_charging_flags_with_hysteresis():
    b = Battery()
    assert b.sample(3900) == [] and b.flag() == ""
    ev = []
    for _ in range(12):
        ev += b.sample(3670)
    assert ev == ["battery_low"] and b.flag() == "low"
    assert b.sample(3690) == []                      # 15-20 %: still low (no flapping)
    ev = []
    for _ in range(12):
        ev += b.sample(3450)
    assert "battery_critical" in ev and b.flag() == "critical"
    assert b.sample(3450, charging=True) == ["battery_ok"] and b.flag() == "charging"
    assert b.sample(0) == []                          # no reading: nothing changes


def test_one_glitch_moves_the_average_little():
    b = Battery()
    for _ in range(10):
        b.sample(3900)
    b.sample(3000)
    assert b.pct >= 40 and not b.low


def test_policy_cpu_and_modem_sleep_follow_the_mode():
    hal, clk = FakeHal(), Clock()
    levels = []
    s = ModemSleep(levels.append, "simcom", idle_ms=500, clock=clk)
    s.enabled = True
    p = PowerPolicy(hal, s, True, clock=clk)
    assert p.mode == "idle" and hal.mhz == [CPU_LOW] and s.allowed
    clk.t += 600
    p.update(clk.t, False, False, False)
    assert not s.awake and levels[-1] == 0            # quiet for idle_ms: DTR high, the module sleeps
    clk.t += 100
    p.update(clk.t, False, True, False)               # a burst starts playing
    assert p.mode == "listen" and hal.mhz[-1] == CPU_HIGH and s.awake and levels[-1] == 1 and not s.allowed
    clk.t += 5000
    p.update(clk.t, False, False, False)
    clk.t += 1000
    p.update(clk.t, True, False, False)
    assert p.mode == "talk"
    clk.t += 2000
    r = p.report(clk.t)
    assert r["listen"] == 5000 and r["talk"] == 2000 and r["idle"] == 1700
    assert r["modem_sleep"] == 100 and r["cpu_high"] == 7000


def test_policy_off_never_slows_or_sleeps():
    hal, clk = FakeHal(), Clock()
    s = ModemSleep(lambda v: None, "quectel", clock=clk)
    s.enabled = True
    p = PowerPolicy(hal, s, False, clock=clk)
    clk.t += 5000
    p.update(clk.t, False, False, False)
    assert hal.mhz == [CPU_HIGH] and s.awake and not s.allowed


def test_emergency_and_roll_call_wake_everything_for_the_hold():
    hal, clk = FakeHal(), Clock()
    levels = []
    s = ModemSleep(levels.append, "simcom", idle_ms=100, clock=clk)
    s.enabled = True
    p = PowerPolicy(hal, s, True, clock=clk)
    clk.t += 200
    p.update(clk.t, False, False, False)
    assert not s.awake
    p.wake_all(clk.t, 30000)
    assert p.mode == "alert" and s.awake and hal.mhz[-1] == CPU_HIGH
    clk.t += 29000
    p.update(clk.t, False, False, False)
    assert p.mode == "alert" and s.awake
    clk.t += 2000
    p.update(clk.t, False, False, False)
    assert p.mode == "idle"


def test_ri_from_a_sleeping_module_wakes_it_before_its_bytes():
    hal, clk = FakeHal(), Clock()
    ri = [False]
    hal.ri_pending = lambda: ri[0]
    levels = []
    s = ModemSleep(levels.append, "simcom", idle_ms=100, clock=clk)
    s.enabled = True
    p = PowerPolicy(hal, s, True, clock=clk)
    clk.t += 200
    p.update(clk.t, False, False, False)
    assert not s.awake
    ri[0] = True
    clk.t += 10
    p.update(clk.t, False, False, False)
    assert s.awake and levels[-1] == 1 and s.rx_wakes == 1


def test_switching_the_policy_at_run_time_applies_at_once():
    hal, clk = FakeHal(), Clock()
    s = ModemSleep(lambda v: None, "simcom", idle_ms=100, clock=clk)
    s.enabled = True
    p = PowerPolicy(hal, s, True, clock=clk)
    p.set_enabled(False, clk.t)
    assert hal.mhz[-1] == CPU_HIGH and not s.allowed and s.awake and p.mode == "idle"
    p.set_enabled(True, clk.t)
    assert hal.mhz[-1] == CPU_LOW and s.allowed
