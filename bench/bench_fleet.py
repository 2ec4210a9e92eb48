"""Fleet figures from the real firmware under MicroPython unix (docs/FLEET.md for definitions):
access and mouth-to-ear percentiles and collision resolution under the LTE link model (per-radio link
proxies, embedded broker), wire bytes per talk-minute and per idle hour counted at the broker side of each
radio's link (Mosquitto, the production broker), and the most radios one machine simulates in real time (<= 1 % late audio frames, one
talkgroup busy) under MicroPython and CPython, searched upward within a time budget."""
import tempfile
import time

from htctl.fleet import report, runner, scenario as S

UNITS = {"access_ms_p50": "ms", "access_ms_p95": "ms", "m2e_ms_p50": "ms", "m2e_ms_p95": "ms",
         "collision_resolve_ms_p95": "ms", "radios_realtime_mpy": "radios", "radios_realtime_cpython": "radios",
         "wire_bytes_per_talk_minute": "bytes", "wire_bytes_per_idle_hour": "bytes"}
GOALS = {"access_ms_p95": "<= 200 (MCPTT KPI 300)", "m2e_ms_p95": "<= 250 (MCPTT KPI 300)",
         "radios_realtime_mpy": ">= 200", "radios_realtime_cpython": ">= 200"}
TCP_IP = report.TCP_IP
CLIPS = ["Front_Center", "Front_Left", "Front_Right", "Rear_Center", "Rear_Left", "Rear_Right", "Side_Left",
         "Side_Right"]


def traffic_scenario(n_talks=14, gap_s=2.2, collide_every=3):
    radios = [{"unit": "cc", "cc": True}] + [{"unit": "r%d" % i} for i in range(1, 6)]
    ev = []
    t = 1.0
    for k in range(n_talks):
        u = radios[1 + k % 5]["unit"]
        ev.append({"t": t, "unit": u, "do": "talk", "clip": CLIPS[k % 8], "hold_s": 1.5})
        if k % collide_every == 1:      # a second radio presses within the claim round trip
            v = radios[1 + (k + 2) % 5]["unit"]
            ev.append({"t": t + 0.01 * (k % 4), "unit": v, "do": "talk", "clip": CLIPS[(k + 3) % 8], "hold_s": 1.5})
        t += gap_s
    return S.parse({"name": "bench-traffic", "duration_s": t + 1.0, "link": "lte", "radios": radios,
                    "events": ev})


def traffic(out):
    sc = traffic_scenario()
    res = runner.run(sc, out, mode="mpy", keepalive=10, telemetry_s=10, broker="mosquitto")
    s = report.summarize(res)
    talk_bytes = talk_min = 0.0
    for u, st in res["stats"].items():
        ln = res["links"].get(u)
        n = st["voice"]["tx_frames"]
        if ln and n:
            talk_bytes += ln["bytes"]["up_voice"] + TCP_IP * ln["packets"]["up_voice"]
            talk_min += n * sc.frame_ms / 60000.0
    return s, talk_bytes / talk_min if talk_min else None


def idle(out, window_s=22.0):
    # Idle radios at the shortest allowed intervals (keepalive 10 s, telemetry 10 s) for window_s, then
    # scaled to the production defaults (60 s each): PINGREQ/PINGRESP and telemetry are all an idle radio
    # sends and receives, and both scale with their interval.
    sc = S.parse({"name": "bench-idle", "duration_s": window_s, "link": "lte",
                  "radios": [{"unit": "cc", "cc": True}, {"unit": "i1"}, {"unit": "i2"}, {"unit": "i3"}]})
    res = runner.run(sc, out, mode="mpy", keepalive=10, telemetry_s=10, broker="mosquitto")
    per = []
    for u in ("i1", "i2", "i3"):
        a, b = res["links_at_start"][u], res["links"][u]
        n = sum(b["bytes"][k] - a["bytes"][k] + TCP_IP * (b["packets"][k] - a["packets"][k]) for k in b["bytes"])
        per.append(n)
    per_s = sum(per) / len(per) / window_s
    return per_s * 3600 * (10.0 / 60.0)


def realtime_scenario(n):
    # One talkgroup busy the whole time: r1 talks, everyone else listens and decodes.
    return S.parse({"name": "bench-rt", "duration_s": 10, "link": "clean",
                    "radios": [{"unit": "r%d" % i} for i in range(1, n + 1)],
                    "events": [{"t": 0.5, "unit": "r1", "do": "talk", "clip": "all", "hold_s": 9.0}]})


def _realtime_ok(mode, n, per_process):
    with tempfile.TemporaryDirectory() as d:
        res = runner.run(realtime_scenario(n), d, mode=mode, proxy=False, per_process=per_process,
                         warmup_s=40, broker="mosquitto")
    frames = sum(st.get("frames", 0) for st in res["stats"].values())
    late = sum(st.get("late_frames", 0) for st in res["stats"].values())
    return len(res["stats"]) == n and frames > 0 and late <= 0.01 * frames and not res["not_ready"]


def realtime(mode, budget_s, start=8, per_process=8):
    # Double while it keeps up, then one bisection step between the last good and the first bad count,
    # as far as the time budget allows (a run takes ~15-40 s).
    best, bad, n, t_end = 0, None, start, time.monotonic() + budget_s
    while time.monotonic() < t_end and n <= 512:
        if _realtime_ok(mode, n, per_process):
            best = n
        else:
            bad = n
            break
        n *= 2
    if bad and best and bad - best > 4 and time.monotonic() < t_end:
        mid = (best + bad) // 2
        if _realtime_ok(mode, mid, per_process):
            best = mid
    return best


def run():
    out = {}
    with tempfile.TemporaryDirectory() as d:
        s, talk = traffic(d)
    for k in ("access_ms_p50", "access_ms_p95", "m2e_ms_p50", "m2e_ms_p95", "collision_resolve_ms_p95"):
        out[k] = round(s[k], 1) if s[k] is not None else None
    out["collisions_resolved"] = s["collisions_resolved"]
    out["collisions"] = len(s["collisions"])
    out["wire_bytes_per_talk_minute"] = round(talk) if talk else None
    with tempfile.TemporaryDirectory() as d:
        out["wire_bytes_per_idle_hour"] = round(idle(d))
    out["radios_realtime_mpy"] = realtime("mpy", 110)
    out["radios_realtime_cpython"] = realtime("cpython", 80)
    return out


if __name__ == "__main__":
    print(run())
