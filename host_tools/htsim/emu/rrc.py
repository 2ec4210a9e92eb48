"""The modem's power states, as a battery sees them: the LTE RRC state derived from the module's own
socket traffic, and the module's sleep (AT+CSCLK / AT+QSCLK with the DTR line), integrated over time.

RRC (3GPP TS 36.331): any packet either way moves an idle module to RRC_CONNECTED (a promotion: random
access and connection set-up) and it stays there until the network's inactivity timer runs out after the
last packet (the "tail", ~10 s on most operators; 36.331 leaves it to the network). While connected the
module's receiver runs continuously (or in connected-mode DRX): tens to a hundred mA. In RRC_IDLE it wakes
only for paging (idle DRX, 1.28 s on most cells) and, with its slow clock enabled and DTR high, sleeps in
between (a few mA); with the slow clock off its CPU and UART stay up ("idle awake").

The model runs on the loop's clock (real seconds), not emulated time: the radio's timers that it answers
to (keepalive, presence, the RRC tail they are chosen against) are real time whatever ``time_scale`` is,
like the UART's baud rate and the PWRKEY thresholds.

Wake latency: after DTR goes low on a sleeping module its UART needs a moment (``WAKE_S``) before it hears
input; bytes sent sooner are lost (counted in ``dropped_rx`` and ``wake_lost``), which is why the firmware
waits after asserting DTR (ht/modem/sleep.py).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .modem import Modem

TAIL_S = 10.0          # RRC inactivity timer after the last packet (network parameter; 10 s typical)
SAMPLE_S = 0.02        # state sampling step
# UART ready after DTR low: the SIMCom (AT+CSCLK) and Quectel (AT+QSCLK) manuals tell the host to pull DTR
# low and wait a short while before sending (tens of ms; MODEMS.md "Sleep and wake": ~20-50 ms). The model
# takes 30 ms: a host that does not wait loses its first bytes; the firmware waits 50 (ht/modem/sleep.py).
WAKE_S = {"simcom": 0.03, "quectel": 0.03}
STATES = ("connected", "idle_awake", "idle_sleep", "off")


class PowerModel:
    def __init__(self, m: Modem, tail_s: float = TAIL_S) -> None:
        self.m = m
        self.tail_s = float(tail_s)
        self.seconds = dict.fromkeys(STATES, 0.0)
        self.promotions = 0           # idle -> connected transitions (each costs a set-up)
        self.last_traffic = None      # loop time of the last packet either way
        self.last_sample = None
        self.wake_at = None           # loop time DTR went low on a sleeping module
        self.wake_lost = 0            # host bytes lost because they came before the UART was ready
        self.wake_s = WAKE_S.get(m.d.family, 0.03)
        self.log = []                 # (loop time, state) at each change, last 2000
        self._state = None
        self._task = None

    def start(self) -> None:
        self.last_sample = self.m.loop.time()
        self._task = self.m.loop.create_task(self._run())

    async def _run(self) -> None:
        import asyncio
        while True:
            await asyncio.sleep(SAMPLE_S)
            self.sample()

    def rrc(self, now: float) -> str:
        if self.last_traffic is not None and now - self.last_traffic < self.tail_s:
            return "connected"
        return "idle"

    def state(self, now: float) -> str:
        m = self.m
        if m.power not in ("on", "booting", "hung"):
            return "off"
        if self.rrc(now) == "connected":
            return "connected"
        return "idle_sleep" if m.power == "on" and m.sleeping() else "idle_awake"

    def sample(self) -> None:
        now = self.m.loop.time()
        if self.last_sample is None:
            self.last_sample = now
        st = self.state(now)
        self.seconds[self._state or st] += now - self.last_sample
        self.last_sample = now
        if st != self._state:
            self._state = st
            self.log.append((round(now, 3), st))
            del self.log[:-2000]

    def traffic(self) -> None:
        """A packet went or came on any socket."""
        now = self.m.loop.time()
        self.sample()
        if self.rrc(now) == "idle":
            self.promotions += 1
        self.last_traffic = now
        self.sample()

    def dtr(self, old: int, new: int) -> None:
        """The DTR line changed (1 = high: the module may sleep)."""
        self.sample()
        if old == 1 and new == 0 and self.m.csclk == 1:
            self.wake_at = self.m.loop.time()

    def waking(self) -> bool:
        """The UART is still coming up after DTR went low."""
        if self.wake_at is None:
            return False
        if self.m.loop.time() - self.wake_at < self.wake_s:
            return True
        self.wake_at = None
        return False

    def snapshot(self) -> dict:
        if self.m.loop is not None:
            self.sample()
        now = self.m.loop.time() if self.m.loop is not None else 0.0
        return {"seconds": {k: round(v, 3) for k, v in self.seconds.items()}, "promotions": self.promotions,
                "rrc": self.rrc(now), "state": self._state, "tail_s": self.tail_s, "wake_lost": self.wake_lost,
                "waking": self.waking()}
