"""How much voice one Mosquitto on one core can fan out (docs/SCALE.md): one talker publishes voice-sized
(170 B payload, 195 B on the wire) QoS 0 messages as fast as TCP lets it to N listeners on the talkgroup's
voice filter (N = 10, 50, 100, loopback), and the listeners count what they receive (htsim.fanout).

Mosquitto is pinned to CPU 0 and the harness to the others. On a shared machine the broker does not get all of
its core, so two figures per N:
- broker_fanout_msgs_per_s_<N>: messages/s delivered, summed over the listeners (wall clock).
- broker_fanout_msgs_per_cpu_s_<N>: messages delivered per CPU-second Mosquitto used in the window — the
  ceiling of one fully used core, independent of what else the machine ran.
broker_fanout_msgs_per_s / _per_cpu_s are the N=100 figures; voice_listeners_per_broker_core divides the
per-CPU figure by 25 (a talker sends 25 frames/s at 40 ms frames, every listener receives 25/s).
Each N runs 1 s warm-up + 4 s counted; everything stops by itself.
"""
import os

from htctl.mosquitto import Mosquitto
from htsim.fanout import fanout

SIZES = (10, 50, 100)
FRAMES_PER_S = 25            # 40 ms voice frames

UNITS = {"broker_fanout_msgs_per_s": "msg/s", "broker_fanout_msgs_per_cpu_s": "msg/cpu-s",
         "voice_listeners_per_broker_core": "listeners", "broker_fanout_cpu_share": "%"}
UNITS.update({"broker_fanout_msgs_per_s_%d" % n: "msg/s" for n in SIZES})
UNITS.update({"broker_fanout_msgs_per_cpu_s_%d" % n: "msg/cpu-s" for n in SIZES})
GOALS = {"voice_listeners_per_broker_core": ">= 500 (a city's radios all listening to one talker)"}


def _pin(broker_pid):
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    old = set(cpus)
    os.sched_setaffinity(broker_pid, {cpus[0]})
    os.sched_setaffinity(0, set(cpus[1:]))
    return old


def run():
    out = {}
    with Mosquitto() as m:
        old = _pin(m.proc.pid)
        try:
            for n in SIZES:
                r = fanout([m.port], n, seconds=4.0, warmup=1.0, broker_pid=m.proc.pid)
                out["broker_fanout_msgs_per_s_%d" % n] = round(r["delivered_per_s"])
                out["broker_fanout_msgs_per_cpu_s_%d" % n] = round(r["delivered_per_broker_cpu_s"])
                if n == SIZES[-1]:
                    out["broker_fanout_cpu_share"] = round(100.0 * r["broker_cpu_s"] / r["seconds"], 1)
        finally:
            if old:
                os.sched_setaffinity(0, old)
    out["broker_fanout_msgs_per_s"] = out["broker_fanout_msgs_per_s_%d" % SIZES[-1]]
    out["broker_fanout_msgs_per_cpu_s"] = out["broker_fanout_msgs_per_cpu_s_%d" % SIZES[-1]]
    out["voice_listeners_per_broker_core"] = out["broker_fanout_msgs_per_cpu_s"] // FRAMES_PER_S
    return out
