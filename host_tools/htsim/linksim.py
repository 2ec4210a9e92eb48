"""Link models: what the cellular path does to voice packets (loss, delay, jitter, stalls).

Every model has one method, ``sample(send_ms) -> arrival_ms or None`` (None = dropped), is seeded, and
keeps counters (``sent``, ``dropped``, and ``log`` of (send, arrival) when ``record=True``). The audio
bench, the demo and the tests use them; the modem emulator's sockets can use the same objects to delay
and drop bytes.

Loss models decide *whether* a packet arrives, delay models *when*; ``Link(loss, delay)`` composes
them. Voice rides MQTT over TCP, so by default a Link delivers in order (``fifo=True``): a packet
delayed by an LTE stall holds back the ones behind it (head-of-line blocking), exactly what a TCP
receiver sees. Loss here stands for frames that never make it in time end to end (a radio that drops
stale frames from its modem queue, a broker that drops QoS 0 under load, UDP later).

LTE delay model parameters (``LTEDelay``), and why:

* ``base_ms`` 50 (40-60 drawn once per link): one way sender -> broker -> receiver over two LTE air
  interfaces plus a core/Internet hop. Field LTE round-trip times are typically 40-100 ms (two air
  legs, S/P-GW and a city-local broker); a one-way mouth-to-broker-to-ear network share of ~50 ms.
* scheduling: uplink scheduling-request periodicity up to 10 ms, plus ~4 ms from grant to
  transmission (3GPP TS 36.213 n+4 timing) -> uniform 0-10 ms + 4 ms.
* HARQ: each transport block fails with ``bler`` 0.1 (the usual LTE link-adaptation target) and is
  retransmitted 8 ms later (FDD HARQ round trip), up to 3 retransmissions, on each of the 2 air legs.
* core/Internet jitter: lognormal, median ``core_ms`` 3 ms, sigma 0.6 (heavy right tail).
* interruptions, two kinds, each a Poisson process; packets sent into one leave when it ends:
  - handovers: ``handover_per_min`` 2 (a radio in a car crossing city cells of ~0.5-1 km every
    30 s), each ``handover_ms`` 30-80 ms (intra-LTE X2 handover user-plane interruption is a few
    tens of ms);
  - long stalls: ``stall_per_min`` 1, each ``stall_ms`` 200-500 ms: radio-link failure and RRC
    re-establishment, or a TCP retransmission timeout (Linux's minimum RTO is 200 ms) after a
    segment the radio layers could not save. One a minute is on the pessimistic side for a
    handheld with fair coverage, which is what a bench should assume.
"""
from __future__ import annotations

import math
import random
from typing import Any


class _Counted:
    def __init__(self, seed: Any, record: bool) -> None:
        self.rng = random.Random(seed)
        self.sent = 0
        self.dropped = 0
        self.record = record
        self.log: list[tuple[float, float | None]] = []   # (sent, arrival or None) when record

    def _note(self, send_ms: float, arrival: float | None) -> float | None:
        self.sent += 1
        if arrival is None:
            self.dropped += 1
        if self.record:
            self.log.append((send_ms, arrival))
        return arrival


class Perfect(_Counted):
    """Every packet arrives after a fixed delay."""

    def __init__(self, delay_ms: float = 0.0, seed: Any = 0, record: bool = False) -> None:
        super().__init__(seed, record)
        self.delay_ms = delay_ms

    def sample(self, send_ms: float) -> float | None:
        return self._note(send_ms, send_ms + self.delay_ms)


class Bernoulli(_Counted):
    """Independent random loss with probability ``loss``."""

    def __init__(self, loss: float, seed: Any = 0, record: bool = False) -> None:
        super().__init__(seed, record)
        if not 0.0 <= loss < 1.0:
            raise ValueError("loss must be in [0, 1)")
        self.loss = loss

    def sample(self, send_ms: float) -> float | None:
        return self._note(send_ms, None if self.rng.random() < self.loss else send_ms)


class GilbertElliott(_Counted):
    """Bursty loss: a Good state (no loss) and a Bad state (every packet lost).

    ``loss`` is the long-run loss rate and ``mean_burst`` the mean number of consecutive losses:
    P(Bad->Good) = 1/mean_burst, P(Good->Bad) = loss/(1-loss) * P(Bad->Good).
    """

    def __init__(self, loss: float, mean_burst: float, seed: Any = 0, record: bool = False) -> None:
        super().__init__(seed, record)
        if not 0.0 <= loss < 1.0 or mean_burst < 1.0:
            raise ValueError("need 0 <= loss < 1 and mean_burst >= 1")
        self.r = 1.0 / mean_burst
        self.p = loss / (1.0 - loss) * self.r
        self.bad = False

    def sample(self, send_ms: float) -> float | None:
        u = self.rng.random()
        self.bad = (u >= self.r) if self.bad else (u < self.p)
        return self._note(send_ms, None if self.bad else send_ms)


class LTEDelay(_Counted):
    """One-way delay over LTE (sender uplink -> broker -> receiver downlink); see the module text."""

    def __init__(self, seed: Any = 0, base_ms: float | None = None, bler: float = 0.1, max_retx: int = 3,
                 core_ms: float = 3.0, core_sigma: float = 0.6, handover_per_min: float = 2.0,
                 handover_ms: tuple[float, float] = (30.0, 80.0), stall_per_min: float = 1.0,
                 stall_ms: tuple[float, float] = (200.0, 500.0), legs: int = 2, record: bool = False) -> None:
        super().__init__(seed, record)
        self.base_ms = self.rng.uniform(40.0, 60.0) if base_ms is None else base_ms
        self.bler = bler
        self.max_retx = max_retx
        self.core_mu = math.log(core_ms)
        self.core_sigma = core_sigma
        self.stall_rate = (handover_per_min + stall_per_min) / 60000.0
        self.long_share = stall_per_min / (handover_per_min + stall_per_min) if self.stall_rate else 0.0
        self.handover_ms = handover_ms
        self.stall_ms = stall_ms
        self.legs = legs
        self.stall_start = None
        self.stall_end = -1.0

    def _next_stall(self, after_ms):
        if self.stall_rate <= 0:
            self.stall_start = self.stall_end = math.inf
            return
        self.stall_start = after_ms + self.rng.expovariate(self.stall_rate)
        span = self.stall_ms if self.rng.random() < self.long_share else self.handover_ms
        self.stall_end = self.stall_start + self.rng.uniform(*span)

    def sample(self, send_ms: float) -> float | None:
        if self.stall_start is None:
            self._next_stall(send_ms)
        while send_ms >= self.stall_end:
            self._next_stall(self.stall_end)
        t = send_ms
        if t >= self.stall_start:
            t = self.stall_end  # held until the radio link is back
        d = self.base_ms - 10.0  # the scheduling share below averages ~10 ms per leg pair
        for _ in range(self.legs):
            d += self.rng.uniform(0.0, 10.0) / self.legs + 4.0 / self.legs
            retx = 0
            while retx < self.max_retx and self.rng.random() < self.bler:
                retx += 1
            d += 8.0 * retx
        d += self.rng.lognormvariate(self.core_mu, self.core_sigma)
        return self._note(send_ms, t + d)


class Link(_Counted):
    """A loss model and a delay model together; in order (TCP) unless ``fifo=False``."""

    def __init__(self, loss: Model | None = None, delay: Model | None = None, fifo: bool = True,
                 record: bool = False) -> None:
        super().__init__(0, record)
        self.loss = loss
        self.delay = delay
        self.fifo = fifo
        self.last = -math.inf

    def sample(self, send_ms: float) -> float | None:
        if self.loss is not None and self.loss.sample(send_ms) is None:
            # The delay model still runs so both models see every packet: a lost packet
            # must not shift the random draws of the next one (seeds stay comparable).
            if self.delay is not None:
                self.delay.sample(send_ms)
            return self._note(send_ms, None)
        t = self.delay.sample(send_ms) if self.delay is not None else send_ms
        if self.fifo:
            t = max(t, self.last)
            self.last = t
        return self._note(send_ms, t)


Model = Perfect | Bernoulli | GilbertElliott | LTEDelay | Link   # sample(send_ms) -> arrival ms, None = lost


def named(name: str, seed: int = 0, record: bool = False) -> Link:
    """The links the bench, demo and tests use, by name: clean, loss1, loss5, loss10, burst5, each with
    the LTE delay model (``*-nojitter`` variants without it)."""
    base, _, variant = name.partition("-")
    loss = {
        "clean": None,
        "loss1": Bernoulli(0.01, seed=seed + 1),
        "loss5": Bernoulli(0.05, seed=seed + 5),
        "loss10": Bernoulli(0.10, seed=seed + 10),
        "burst5": GilbertElliott(0.05, 3.0, seed=seed + 105),
    }
    if base not in loss:
        raise ValueError("unknown link %r (one of %s)" % (name, ", ".join(loss)))
    delay = None if variant == "nojitter" else LTEDelay(seed=seed + 1000)
    return Link(loss[base], delay, record=record)
