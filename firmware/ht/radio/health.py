# What presence and telemetry report about the radio itself: battery, signal, the data plan's state and
# the voice counters. Reads the HAL, the modem link and the plan; decides nothing.
from ht.modem import dataplan as DP
from ht.radio.power import pct_from_mv

_PLAN = {DP.OK: "ok", DP.EXPIRING_SOON: "ok", DP.LOW: "low", DP.EXHAUSTED: "exhausted",
         DP.EXPIRED: "exhausted"}


class Health:
    # link: ht.modem.link.Link or None (no modem: desktop); plan: ht.modem.dataplan.DataPlan or None.
    def __init__(self, hal, link, plan, audio):
        self.hal = hal
        self.link = link
        self.plan = plan
        self.audio = audio

    def battery_mv(self):
        try:
            return self.hal.battery_mv()
        except Exception:
            return None

    def battery_pct(self):
        # the 18650 discharge curve (ht.radio.power); the radio itself keeps a smoothed Battery
        return pct_from_mv(self.battery_mv())

    def charging(self):
        # True/False where the board wires the charger's status pin (hal.charging()), None elsewhere
        fn = getattr(self.hal, "charging", None)
        try:
            return fn() if fn is not None else None
        except Exception:
            return None

    def signal_dbm(self):
        if self.link is None:
            return None
        s = self.link.signal
        v = s.get("rsrp", s.get("rssi"))
        return v if v is not None and -150 <= v <= 0 else None

    def plan_state(self):
        if self.plan is None:
            return "unknown"
        today = None
        t = self.link.info.get("time") if self.link is not None else None
        if t and len(t) > 2 and t[2]:
            today = tuple(t[2][:3])
        return _PLAN.get(self.plan.state(today)[0], "unknown")

    def telemetry(self):
        a = self.audio
        g = a.guard
        d = {"txf": a.frames_tx, "rxf": a.frames_played, "vrej": g.spoofed + g.replayed + sum(g.rejected)}
        if self.plan is not None:
            d["tx"] = self.plan.tx
            d["rx"] = self.plan.rx
        return d
