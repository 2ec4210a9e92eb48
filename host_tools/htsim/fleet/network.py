"""What the fleet rides: the broker (embedded, a Mosquitto started here, or a URL) with one account per unit,
and the LTE link models each radio's proxy applies between it and the broker.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from htsim import linksim
from htsim.fleet import scenario as S

LegFactory = Callable[[], linksim.LTEDelay]   # a fresh delay model per TCP connection of the leg


ARBITERS = ["arb-a", "arb-b"]   # the floor arbiters' accounts: a primary and a standby (docs/FLOOR.md)


def password(unit: str) -> str:
    # Demo/test accounts: one per unit, as the registry provisions them (docs/TOPICS.md).
    return "pw-" + unit


def broker_accounts(sc: S.Scenario) -> tuple[dict[str, str], dict[str, tuple[list[str], list[str]]]]:
    from htctl.mosquitto import fleet_rights
    users = {u: password(u) for u in list(sc.units) + ARBITERS}
    rights = fleet_rights(sc.fleet, {r["unit"]: r["talkgroups"] for r in sc.radios if not r["cc"]},
                          command_center=tuple(r["unit"] for r in sc.radios if r["cc"]))
    return users, rights


def link_models(spec: dict[str, Any], seed: int) -> tuple[LegFactory | None, LegFactory | None,
                                                          linksim.Bernoulli | None]:
    """(up factory, down factory, loss model) for a parsed link spec; each leg is half the LTE path."""
    if spec["preset"] == "clean" and not spec["base_ms"]:
        up = down = None
    else:
        def leg(k):
            def make():
                make.n += 1
                return linksim.LTEDelay(seed=seed * 1000 + k * 100 + make.n, base_ms=spec["base_ms"], legs=1,
                                        core_ms=2.0, stall_per_min=spec["stall_per_min"])
            make.n = 0
            return make
        up, down = leg(1), leg(2)
    loss = linksim.Bernoulli(spec["loss"], seed=seed + 5) if spec["loss"] else None
    return up, down, loss


def link_seed(spec: dict[str, Any], index: int) -> int:
    """The seed of the radio at `index`'s link models (tests rebuild the same loss draws with it)."""
    return spec["seed"] * 7919 + index


class BrokerHandle:
    """The broker the fleet rides: embedded (default, restartable), a Mosquitto object, or a URL."""

    def __init__(self, broker: Any, users: dict[str, str], rights: dict[str, tuple[list[str], list[str]]]) -> None:
        self.obj = None
        self.kind = "embedded"
        if broker is None:
            from htsim.embedded_broker import EmbeddedBroker
            self.obj = EmbeddedBroker(users=users, acl=rights)
            self.obj.start()
            self.host, self.port = self.obj.host, self.obj.port
            self.owned = True
        elif broker in ("mosquitto", "mosquitto-nagle"):
            # A real Mosquitto started here with the fleet's accounts and ACL: the embedded broker (amqtt)
            # breaks when dozens of clients connect at once ('dictionary changed size during iteration').
            # "mosquitto-nagle": the same with set_tcp_nodelay false (the bench's before/after for m2e).
            from htctl.mosquitto import Mosquitto
            self.obj = Mosquitto(users=users, acl=rights, nodelay=broker == "mosquitto")
            self.host, self.port = self.obj.start()
            self.kind = "mosquitto"
            self.owned = True
        elif isinstance(broker, str):
            rest = broker.split("://", 1)[-1]
            host, _, port = rest.partition(":")
            self.host, self.port = host or "127.0.0.1", int(port or 1883)
            self.kind = "url"
            self.owned = False
        else:
            self.obj = broker
            self.kind = type(broker).__name__.lower()
            self.host, self.port = broker.host, broker.port
            self.owned = False

    @property
    def url(self) -> str:
        return "mqtt://%s:%d" % (self.host, self.port)

    def restart(self) -> None:
        if self.obj is None:
            raise S.ScenarioError("broker_restart needs a broker the simulation controls",
                                  hint="use the embedded broker (no --broker) or a Mosquitto started by the test")
        if hasattr(self.obj, "restart"):
            self.obj.restart()
        else:
            self.obj.stop()
            self.obj.start()

    def stop(self) -> None:
        if self.owned and self.obj is not None:
            if hasattr(self.obj, "cleanup"):
                self.obj.cleanup()
            else:
                self.obj.stop()
