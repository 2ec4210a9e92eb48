"""Floor-control latency in the logic model (host_tools/htctl/floorsim.py). The same figures from the real
firmware through a broker: bench/bench_fleet.py (access_ms_*, collision_resolve_ms_p95).

Latency model (floorsim.LTELink): every radio has an uplink and a downlink, each with a fixed base drawn
uniformly in 40-60 ms one way, plus per-message exponential jitter (mean 8 ms, capped at 60 ms); links are FIFO,
different senders reorder freely. The broker itself is taken as instantaneous; radios poll every 10 ms.

- floor_access_ms_p50/p95: PTT press on a free talkgroup -> talk-permit cue (one broker round trip). "Press" is
  the debounced edge: the real radio adds its 30 ms glitch filter (ht.radio.ptt.Debounce) on top.
- collision_resolve_ms_p95: two radios press 0-40 ms apart -> both have decided (one permit, one busy),
  measured from the first press. collision_agreement_pct: runs where all radios named the same single talker.
- preempt_ms_p95: emergency press while another radio talks -> the old talker has stopped.
- split_heal_ms_p95: the same two-press collision under a broker that keeps only per-publisher order (bridge,
  cluster; floorsim order="per_publisher") -> at most one talker and every radio agrees (docs/FLOOR.md 8).
- cluster_disagreements: radios that applied records out of the arbiter's order in those runs (goal 0).
- fold_access_ms_p95: the same access figure for the old broker-order fold, run on the reference model kept only
  in host_tools/htsim/foldref (never in the firmware): what the arbiter's extra hop costs.
- arbiter_failover_s: primary arbiter killed mid-burst -> first record of the standby's new epoch published
  (goal <= 3 s); the holder keeps talking throughout.
The end-to-end access figure (modem emulator + Mosquitto) is the fleet bench's `access_ms_*`.
"""
from htsim.floorsim import FloorSim
from htsim.foldref.foldsim import FloorSim as FoldSim

UNITS = {"floor_access_ms_p50": "ms", "floor_access_ms_p95": "ms", "collision_resolve_ms_p50": "ms",
         "collision_resolve_ms_p95": "ms", "collision_agreement_pct": "%", "preempt_ms_p95": "ms",
         "split_heal_ms_p95": "ms", "cluster_disagreements": "radios", "fold_access_ms_p95": "ms",
         "arbiter_failover_s": "s"}
GOALS = {"floor_access_ms_p95": "<= 200 (MCPTT KPI 300)", "collision_agreement_pct": "100",
         "cluster_disagreements": "0", "arbiter_failover_s": "<= 3"}

RUNS = 400


def pct(xs, p):
    xs = sorted(xs)
    return float(xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))])


def _access(seed, sim_class=FloorSim):
    sim = sim_class(n=4, seed=seed)
    sim.press(seed % 4, at=50 + seed % 10)
    sim.run_until(1500)
    r = sim.radios[seed % 4]
    t_press = sim.first(r, "press", lambda d: True, 0)
    t_ok = sim.first(r, "cue", lambda d: d == "permit", 0)
    return t_ok - t_press


def _collision(seed):
    sim = FloorSim(n=4, seed=seed)
    a, b = seed % 4, (seed + 1 + seed % 3) % 4
    t0 = 100
    sim.press(a, at=t0)
    sim.press(b, at=t0 + seed % 41)
    sim.run_until(2000)
    done = []
    for r in (sim.radios[a], sim.radios[b]):
        done.append(sim.first(r, "cue", lambda d: d in ("permit", "busy", "denied"), 0))
    agreed = len(sim.talkers()) == 1 and sim.settled_holder() is not None and not sim.violations
    return max(done) - t0, agreed


def _preempt(seed):
    sim = FloorSim(n=3, seed=seed)
    sim.press(0, at=50)
    sim.run_until(1000)
    sim.emergency(1, at=1000)
    sim.run_until(2500)
    r0 = sim.radios[0]
    t_stop = sim.first(r0, "cue", lambda d: d == "preempted", 1000)
    return t_stop - 1000


def _split_heal(seed):
    sim = FloorSim(n=4, seed=seed, order="per_publisher")
    t0 = 100
    sim.press(0, at=t0)
    sim.press(1, at=t0 + seed % 21)
    sim.run_until(t0 + 30)
    while sim.now < t0 + 10000:
        decided = all(sim.radios[i].floor.mine is None for i in (0, 1))
        if decided and sim.agreed():
            return sim.now - t0, sim.disagreements()
        sim.run_for(10)
    raise RuntimeError("seed %d never settled" % seed)


def _failover(seed):
    sim = FloorSim(n=3, seed=seed, standby=True)
    sim.press(0, at=100)
    sim.run_until(1200)
    sim.kill_arbiter(0, at=1200 + (seed * 97) % 1000)
    sim.run_until(8000)
    first = min(t for t, r in sim.records if r.epoch > 1000)
    assert sim.radios[0].floor.talking and not sim.violations
    return (first - sim.arb_killed_at) / 1000.0


def run():
    access = [_access(s) for s in range(RUNS)]
    coll = [_collision(s) for s in range(RUNS)]
    pre = [_preempt(s) for s in range(RUNS // 4)]
    times = [c[0] for c in coll]
    heal = [_split_heal(s) for s in range(RUNS // 2)]
    return {
        "floor_access_ms_p50": pct(access, 50),
        "floor_access_ms_p95": pct(access, 95),
        "collision_resolve_ms_p50": pct(times, 50),
        "collision_resolve_ms_p95": pct(times, 95),
        "collision_agreement_pct": 100.0 * sum(1 for c in coll if c[1]) / len(coll),
        "preempt_ms_p95": pct(pre, 95),
        "split_heal_ms_p95": pct([h[0] for h in heal], 95),
        "cluster_disagreements": sum(h[1] for h in heal),
        "fold_access_ms_p95": pct([_access(s, FoldSim) for s in range(RUNS)], 95),
        "arbiter_failover_s": pct([_failover(s) for s in range(RUNS // 8)], 95),
    }


if __name__ == "__main__":
    print(run())
