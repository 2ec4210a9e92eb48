"""Simultaneous PTT presses through a real broker (or a cluster): the statistic behind floor control's promise.

N light stand-in radios (paho-mqtt, MQTT 3.1.1), client i connected to node i (mod nodes). In each round all
of them publish a QoS 1 floor CLAIM (ht.radio.floormsg, on their own ht/<f>/tg/<tg>/f/<unit>) at the same
instant (a barrier), and every one of them, subscribed to ht/<f>/tg/<tg>/f/+, records the order in which the
claims arrive. Under the old rule (docs/FLOOR.md §3, "first claim wins") a round's winner for a subscriber is
the first claim in its order; a round is a *disagreement* when two subscribers name different winners.

    r = simultaneous_presses([p1, p2, p3], rounds=300, user="ht", password="...")
    r["disagreements"], r["rounds"], r["orders"][k][i]   # round k: the units client i received, in order

For other floor rules (the arbiter's numbered grants) use PressRig directly: extra subscriptions, an
on_message hook per client, and press(burst) which returns each client's claim order for that round.
A client given several node ports moves to the next one when its connection drops (a node stopped).
"""
from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Sequence

import paho.mqtt.client as mqtt

from ht.radio import floormsg as fm
from ht.radio import topics

HOST = "127.0.0.1"
FLEET = "press"
TG = "1"
Hook = Callable[["PressClient", str, bytes], None]   # (client, topic, payload), on paho's network thread


class PressClient:
    """One stand-in radio. ports: every node it may use; it starts on ports[first] and, when the connection
    drops, tries the next port (round robin, at most `max_connects` connections over its life)."""

    def __init__(self, unit: str, ports: Sequence[int], first: int = 0, host: str = HOST,
                 user: str | None = None, password: str | None = None, fleet: str = FLEET, tg: str = TG,
                 subs: Sequence[str] = (), on_message: Hook | None = None, max_connects: int = 20) -> None:
        self.unit = unit
        self.ports = list(ports)
        self.first = first
        self.host = host
        self.auth = (user, password)
        self.fleet, self.tg = fleet, tg
        self.subs = [topics.talkgroup_sub(fleet, tg, topics.FLOOR).decode()] + list(subs)
        self.topic = topics.floor(fleet, tg, unit).decode()
        self.on_message = on_message
        self.max_connects = max_connects
        self.port: int | None = None          # the node port of the live connection
        self.connects = 0                     # connections made (1 + failovers)
        self.ready = threading.Event()        # connected and subscribed
        self.claims: dict[int, list[str]] = {}  # burst -> units whose claim arrived, in arrival order
        self.lock = threading.Lock()
        self._c: mqtt.Client | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._supervise, name="press-" + unit, daemon=True)

    def start(self, timeout: float = 30.0) -> PressClient:
        self._thread.start()
        if not self.ready.wait(timeout):
            raise OSError("%s: no connection to any of ports %s" % (self.unit, self.ports))
        return self

    def stop(self) -> None:
        self._stopping = True
        c = self._c
        if c is not None:
            c.disconnect()
        self._thread.join(10)

    def claim(self, burst: int, prio: int = fm.PRIO_NORMAL, epoch: int = 0) -> None:
        """Publish a floor CLAIM (QoS 1, not retained) for `burst`, as a radio pressing PTT would."""
        msg = fm.FloorMsg(fm.CLAIM, self.unit, prio, epoch, burst, self.tg, int(time.monotonic() * 1000))
        self.publish(self.topic, fm.pack(msg))

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        c = self._c
        if c is None:
            raise OSError("%s is not connected" % self.unit)
        c.publish(topic, payload, qos=qos, retain=retain)

    def order(self, burst: int) -> list[str]:
        with self.lock:
            return list(self.claims.get(burst, ()))

    # -- connection, on our own thread: one paho client per connection, the next port after a drop ----------

    def _supervise(self) -> None:
        k = self.first
        for _ in range(self.max_connects):
            if self._stopping:
                return
            port = self.ports[k % len(self.ports)]
            k += 1
            lost = threading.Event()
            c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="%s-%s" % (self.unit, secrets.token_hex(3)),
                            protocol=mqtt.MQTTv311, clean_session=True, reconnect_on_failure=False)
            if self.auth[0] is not None:
                c.username_pw_set(*self.auth)
            c.on_connect = self._connected
            c.on_subscribe = lambda *_a: self.ready.set()
            c.on_message = self._message
            c.on_disconnect = lambda *_a: lost.set()
            try:
                c.connect(self.host, port, keepalive=30)
            except OSError:
                time.sleep(0.2)
                continue
            self._c, self.port = c, port
            self.connects += 1
            c.loop_start()
            lost.wait()
            self.ready.clear()
            c.loop_stop()
            if not self._stopping:
                time.sleep(0.1)

    def _connected(self, c, _userdata, _flags, reason, _props) -> None:
        if reason.is_failure:
            return
        c.subscribe([(s, 1) for s in self.subs])

    def _message(self, _c, _userdata, msg) -> None:
        parsed = topics.parse(msg.topic)
        if parsed and parsed[0] == topics.FLOOR and parsed[2] == self.tg:
            try:
                m = fm.parse(msg.payload, parsed[3])
            except ValueError:
                m = None
            if m is not None and m.kind == fm.CLAIM:
                with self.lock:
                    seen = self.claims.setdefault(m.burst, [])
                    if m.unit not in seen:      # a QoS 1 duplicate (DUP) is the same claim
                        seen.append(m.unit)
        if self.on_message is not None:
            self.on_message(self, msg.topic, msg.payload)


class PressRig:
    """clients stand-in radios u0..u{n-1}; client i starts on ports[i % len(ports)] and fails over along the
    list. press(burst) -> each client's order of that round's claims."""

    def __init__(self, ports: Sequence[int], clients: int = 3, **client_kw) -> None:
        self.ports = list(ports)
        self.clients = [PressClient("u%d" % i, self.ports, first=i % len(self.ports), **client_kw)
                        for i in range(clients)]

    def start(self, timeout: float = 30.0) -> PressRig:
        try:
            for c in self.clients:
                c.start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for c in self.clients:
            c.stop()

    def wait_ready(self, timeout: float = 30.0) -> bool:
        end = time.monotonic() + timeout
        return all(c.ready.wait(max(0.0, end - time.monotonic())) for c in self.clients)

    def press(self, burst: int, timeout: float = 10.0, pressers: Sequence[PressClient] | None = None
              ) -> list[list[str]]:
        """Every presser claims at the same instant; -> per client, the units of this burst's claims in the
        order they arrived (complete unless `timeout` passed first)."""
        pressers = list(self.clients if pressers is None else pressers)
        go = threading.Barrier(len(pressers))

        def press(c: PressClient) -> None:
            go.wait()
            c.claim(burst)

        threads = [threading.Thread(target=press, args=(c,)) for c in pressers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        want = len(pressers)
        end = time.monotonic() + timeout
        while time.monotonic() < end and not all(len(c.order(burst)) >= want for c in self.clients):
            time.sleep(0.002)
        return [c.order(burst) for c in self.clients]

    def __enter__(self) -> PressRig:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def winners(orders: Sequence[Sequence[str]]) -> list[str | None]:
    """The old rule: each subscriber's winner is the first claim it received (None: it received none)."""
    return [o[0] if o else None for o in orders]


def disagrees(orders: Sequence[Sequence[str]]) -> bool:
    """True when two subscribers name different winners for the same round."""
    return len(set(winners(orders))) > 1


def simultaneous_presses(nodes_ports: Sequence[int], rounds: int, clients: int = 3, host: str = HOST,
                         user: str | None = None, password: str | None = None, timeout: float = 10.0
                         ) -> dict:
    """`rounds` simultaneous presses by `clients` stand-in radios spread over the nodes' MQTT ports.

    -> {"rounds": n, "disagreements": rounds whose first claims differ between subscribers,
        "incomplete": rounds in which some subscriber missed a claim within `timeout`,
        "orders": [round][client] -> units in arrival order}
    """
    base = secrets.randbelow(1 << 30)
    orders = []
    with PressRig(nodes_ports, clients, host=host, user=user, password=password) as rig:
        for k in range(rounds):
            orders.append(rig.press(base + k, timeout))
    return {"rounds": rounds,
            "disagreements": sum(1 for o in orders if disagrees(o)),
            "incomplete": sum(1 for o in orders if any(len(x) < clients for x in o)),
            "orders": orders}
