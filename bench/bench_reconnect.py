"""A fleet coming back after a broker restart (issue 11 item 8): 100 radios' MQTT clients -- the firmware's own
RobustClient (ht.mqtt.robust) and MQTTClient on CPython asyncio, one per radio, as lightweight stand-ins for 100
MicroPython processes -- against a real Mosquitto that is stopped and started again on the same port.

Reported side by side in one run, with the firmware's backoff jitter ("equal jitter": half the wait plus a random
half) and without it (every client waits exactly the same):
  fleet_reconnect_s          broker listening again -> the last of the 100 clients ONLINE (subscriptions back)
  fleet_connects_peak_per_s  most TCP connection attempts in any 1 s window once the broker listens again, until
                             the whole fleet is back (the thundering herd jitter is there to flatten)
  fleet_connects_peak_100ms  the same over 100 ms windows (how synchronised the attempts are)
  fleet_connects_peak_per_s_down  the same while the broker is down (refused attempts: cheap, but each one is a
                             TCP SYN over the radio's metered link)
A run that does not get every client back within the deadline reports the clients still offline, not a crash.
"""
import asyncio
import time

from hal import netstream
from ht.mqtt.client import ONLINE
from ht.mqtt.robust import RobustClient
from htctl.mosquitto import Mosquitto

N = 100
DOWN_S = 6.0             # broker down this long: the clients climb the backoff ladder 0.5, 1, 2, 4 s
DEADLINE_S = 120.0
KEEPALIVE_S = 60         # the radio's default (broker.keepalive)

UNITS = {}
GOALS = {}
for _v in ("jitter", "nojitter"):
    UNITS["fleet_reconnect_s_" + _v] = "s"
    UNITS["fleet_connects_peak_per_s_" + _v] = "conn/s"
    UNITS["fleet_connects_peak_100ms_" + _v] = "conn/0.1s"
    UNITS["fleet_reconnect_offline_" + _v] = "clients"
    UNITS["fleet_connects_peak_per_s_down_" + _v] = "conn/s"
UNITS["fleet_reconnect_s"] = "s"
GOALS["fleet_reconnect_s"] = "a few backoff steps; with jitter (the firmware's default)"
GOALS["fleet_connects_peak_100ms_jitter"] = "well below the no-jitter figure (%d: all at once)" % N


class _Same:
    # an rng whose every draw is the same: each client waits exactly as long as every other (no jitter)
    def getrandbits(self, n):
        return 1 << (n - 1)


def _peak(times, window):
    times = sorted(times)
    best = 0
    j = 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


async def _episode(broker, jitter):
    host, port = broker.host, broker.port
    attempts = []
    online = {}

    async def opener():
        attempts.append(time.monotonic())
        return await netstream.open_tcp(host, port)

    clients = []
    for i in range(N):
        def on_state(state, reason, i=i):
            if state == ONLINE:
                online[i] = time.monotonic()
            else:
                online.pop(i, None)
        c = RobustClient(opener, "r%03d" % i, keepalive=KEEPALIVE_S, on_state=on_state,
                         rng=None if jitter else _Same())
        await c.subscribe("ht/kota/tg/1/g", 1)
        clients.append(c)
    for c in clients:
        c.start()
    t_end = time.monotonic() + DEADLINE_S
    while len(online) < N and time.monotonic() < t_end:
        await asyncio.sleep(0.05)
    # The fleet is up. Stop the broker: every client loses its link at the same moment.
    await asyncio.to_thread(broker.stop)
    t_stop = time.monotonic()
    while online and time.monotonic() < t_stop + DEADLINE_S:
        await asyncio.sleep(0.01)
    del attempts[:]
    await asyncio.sleep(max(0.0, t_stop + DOWN_S - time.monotonic()))
    await asyncio.to_thread(broker.start)
    t_up = time.monotonic()
    t_end = t_up + DEADLINE_S
    while len(online) < N and time.monotonic() < t_end:
        await asyncio.sleep(0.01)
    back = list(online.values())
    missing = N - len(back)
    for c in clients:
        await c.stop()
    after = [t for t in attempts if t >= t_up]
    before = [t for t in attempts if t < t_up]
    return {"reconnect_s": max(0.0, max(back) - t_up) if back and not missing else DEADLINE_S,
            "peak_s": _peak(after, 1.0), "peak_100ms": _peak(after, 0.1), "peak_down": _peak(before, 1.0),
            "offline": missing, "attempts_after_restart": len(after)}


def run():
    out = {}
    with Mosquitto() as broker:
        for name, jitter in (("jitter", True), ("nojitter", False)):
            r = asyncio.run(_episode(broker, jitter))
            out["fleet_reconnect_s_" + name] = round(r["reconnect_s"], 2)
            out["fleet_connects_peak_per_s_" + name] = r["peak_s"]
            out["fleet_connects_peak_100ms_" + name] = r["peak_100ms"]
            out["fleet_reconnect_offline_" + name] = r["offline"]
            out["fleet_connects_peak_per_s_down_" + name] = r["peak_down"]
            print("   %-8s back in %.2f s; after the restart peak %d attempts/s, %d per 100 ms (%d attempts); "
                  "while down peak %d/s; %d offline" % (name, r["reconnect_s"], r["peak_s"], r["peak_100ms"],
                                                        r["attempts_after_restart"], r["peak_down"], r["offline"]),
                  flush=True)
            if broker.proc is None:
                broker.start()
    out["fleet_reconnect_s"] = out["fleet_reconnect_s_jitter"]
    return out


if __name__ == "__main__":
    print(run())
