"""What a fleet run produced: the transcript, a WAV per radio of what it heard, and the figures.

``summarize(res)`` -> dict of figures (bursts, collisions, access / mouth-to-ear percentiles, loss, data
per radio, roll call, emergencies, faults and recovery); ``text(summary)`` the plain-English report with
Bahasa Indonesia lines where it speaks to field staff; ``write(res, out)`` writes transcript.jsonl,
transcript.txt, <unit>_heard.wav and summary.json.

Definitions (docs/FLEET.md):
- access: a PTT press -> the talk-permit cue on the same radio (presses answered by busy/denied or that
  answered a roll call are counted apart).
- mouth-to-ear: the first microphone read of a burst (minus one frame: the samples of a frame entered the
  microphone during the frame before it was read) -> the first frame of that burst leaving a listener's
  speaker. All processes stamp events with the host's CLOCK_REALTIME, so talker and listener share a clock.
- collision: a floor request the arbiter refused (the floor's "lost" event, naming the holder); resolved when exactly one of the
  racers got the permit; resolve time = the later press -> the moment both racers had their cue.
- wire bytes: MQTT bytes counted by the radio's link proxy in front of the broker, plus 40 bytes of TCP/IPv4
  header per MQTT packet (one packet per segment, as a radio sends them).
"""
import json
import pathlib

import numpy as np

from htsim import speech
from htsim.fleet import narrate

from ht.radio.guard import unit_num

TCP_IP = 40


def pct(xs, q):
    return float(np.percentile(xs, q)) if len(xs) else None


def _by_unit(events):
    d = {}
    for t, u, k, f in events:
        d.setdefault(u, []).append((t, k, f))
    return d


def access_times(events):
    """[(unit, press_t, ms)] for presses that got the permit; and counts of the other outcomes."""
    out, busy, answers = [], 0, 0
    for u, evs in _by_unit(events).items():
        press = None
        for t, k, f in evs:
            if k == "ptt" and f.get("down"):
                press = t
            elif k == "rollcall_answered" and press is not None and t - press < 200:
                answers += 1
                press = None
            elif k == "cue" and press is not None:
                if f["name"] == "permit":
                    out.append((u, press, t - press))
                    press = None
                elif f["name"] in ("busy", "denied", "no_signal"):
                    busy += 1
                    press = None
            elif k == "ptt" and not f.get("down"):
                press = None
    return out, busy, answers


def mouth_to_ear(events, frame_ms):
    """[(talker, listener, ms)] per burst and listener."""
    uids = {}
    out = []
    per = _by_unit(events)
    for u in per:
        uids[unit_num(u)] = u
    starts = []   # (talker, mic_t, end_t)
    for u, evs in per.items():
        tx = None
        for t, k, f in evs:
            if k == "tx_start":
                tx = t
            elif k == "mic_start" and tx is not None:
                end = next((t2 for t2, k2, _ in evs if k2 == "tx_stop" and t2 >= t), t + 70000)
                starts.append((u, t, end))
                tx = None
    for talker, mic_t, end in starts:
        src = unit_num(talker)
        for u, evs in per.items():
            if u == talker:
                continue
            for t, k, f in evs:
                if k == "rx_start" and f.get("src") == src and mic_t <= t <= end + 2000:
                    out.append((talker, u, t - mic_t + frame_ms))
                    break
    return out


def collisions(events):
    per = _by_unit(events)
    res = []
    for u, evs in per.items():
        for t, k, f in evs:
            if k != "lost":
                continue
            winner = f["args"][2]          # ("lost", tg, busy|denied, holder)
            lp = max((t2 for t2, k2, f2 in evs if k2 == "ptt" and f2.get("down") and t2 <= t), default=None)
            wev = per.get(winner, [])
            wp = max((t2 for t2, k2, f2 in wev if k2 == "ptt" and f2.get("down") and t2 <= t + 1000), default=None)
            wpermit = min((t2 for t2, k2, f2 in wev if k2 == "cue" and f2["name"] == "permit"
                           and wp is not None and t2 >= wp), default=None)
            lcue = min((t2 for t2, k2, f2 in evs if k2 == "cue" and f2["name"] in ("busy", "denied") and t2 >= t - 5),
                       default=None)
            resolved = wpermit is not None and lcue is not None and lp is not None
            ms = (max(wpermit, lcue) - max(lp, wp if wp is not None else lp)) if resolved else None
            res.append({"loser": u, "winner": winner, "t": t, "resolved": resolved, "ms": ms})
    return res


def recovery(events, scenario):
    """For each fault: which radios went offline and how long until they were ONLINE again."""
    out = []
    per = _by_unit(events)
    for t, u, k, f in events:
        if k != "fault":
            continue
        name = f["fault"]
        units = scenario.units if name == "broker_restart" else [u]
        if name in ("link_up", "sim_insert", "reg_home"):
            continue
        rec = {}
        for x in units:
            evs = per.get(x, [])
            went = next((t2 for t2, k2, f2 in evs if k2 == "mqtt" and f2["state"] == "offline" and t2 >= t), None)
            back = None
            if went is not None:
                back = next((t2 for t2, k2, f2 in evs if k2 == "mqtt" and f2["state"] == "online" and t2 > went), None)
            rec[x] = {"offline_at": went, "online_after_ms": (back - t) if back is not None else None}
        out.append({"fault": name, "t": t, "unit": u, "radios": rec})
    return out


def stuck_floors(events):
    """Radios that still show a talker at the end of the run (a floor left stuck)."""
    out = []
    for u, evs in _by_unit(events).items():
        talker = None
        for t, k, f in evs:
            if k == "talker":
                talker = f["unit"]
            elif k == "free":
                talker = None
        if talker is not None:
            out.append((u, talker))
    return out


def summarize(res):
    sc = res["scenario"]
    ev = res["events"]
    fm = res["frame_ms"]
    acc, busy, answers = access_times(ev)
    m2e = mouth_to_ear(ev, fm)
    col = collisions(ev)
    stats = res["stats"]
    bursts = [(t, u) for t, u, k, f in ev if k == "tx_start"]
    radios = {}
    for r in sc.radios:
        u = r["unit"]
        s = stats.get(u, {})
        v = s.get("voice", {})
        others = sum(stats.get(x, {}).get("voice", {}).get("tx_frames", 0) for x in sc.units if x != u)
        ln = res["links"].get(u)
        wire = None
        if ln:
            b, p = ln["bytes"], ln["packets"]
            wire = {"up": b["up_voice"] + b["up_other"] + TCP_IP * (p["up_voice"] + p["up_other"]),
                    "down": b["down_voice"] + b["down_other"] + TCP_IP * (p["down_voice"] + p["down_other"]),
                    "mqtt_up": b["up_voice"] + b["up_other"], "mqtt_down": b["down_voice"] + b["down_other"],
                    "dropped_up": ln["dropped"], "connections": ln["connections"]}
        radios[u] = {"name": r.get("name", u), "tx_frames": v.get("tx_frames", 0), "heard_frames": v.get("accepted", 0),
                     "others_sent": others, "played": v.get("played", 0),
                     "heard_loss": (1 - v.get("accepted", 0) / others) if others else None,
                     "spoofed": v.get("spoofed", 0), "replayed": v.get("replayed", 0),
                     "late_frames": s.get("late_frames", 0), "frames": s.get("frames", 0),
                     "online_at_end": s.get("online"), "wire": wire, "sms": res["sms"].get(u, [])}
    rc = [f for t, u, k, f in ev if k == "rollcall_report"]
    frames = sum(r["frames"] for r in radios.values())
    late = sum(r["late_frames"] for r in radios.values())
    return {
        "scenario": sc.name, "radios": len(sc.radios), "mode": res["mode"], "broker": res["broker"],
        "link": sc.link, "bursts": len(bursts),
        "access_ms": [a[2] for a in acc], "access_ms_p50": pct([a[2] for a in acc], 50),
        "access_ms_p95": pct([a[2] for a in acc], 95), "busy_or_denied": busy, "rollcall_presses": answers,
        "m2e_ms": [m[2] for m in m2e], "m2e_ms_p50": pct([m[2] for m in m2e], 50),
        "m2e_ms_p95": pct([m[2] for m in m2e], 95),
        "collisions": col, "collisions_resolved": sum(1 for c in col if c["resolved"]),
        "collision_resolve_ms_p95": pct([c["ms"] for c in col if c["ms"] is not None], 95),
        "emergencies": [(t, u) for t, u, k, f in ev if k == "emergency"],
        "emergency_acked": [(t, u) for t, u, k, f in ev if k == "emergency_acked"],
        "rollcall": rc[-1] if rc else None, "faults": recovery(ev, sc), "stuck": stuck_floors(ev),
        "late_frames": late, "frames": frames, "late_pct": 100.0 * late / frames if frames else 0.0,
        "per_radio": radios, "not_ready": res["not_ready"], "procs": res["procs"],
    }


def _ms(v):
    return "-" if v is None else "%.0f ms" % v


def _modes(procs):
    n = {}
    for p in procs:
        n[p["mode"]] = n.get(p["mode"], 0) + len(p["units"])
    names = {"mpy": "MicroPython unix", "cpython": "CPython"}
    return ", ".join("%d on %s" % (k, names[m]) for m, k in sorted(n.items(), reverse=True))


def text(s):
    L = []
    L.append("Fleet simulation '%s': %d radios (%s), broker %s, link %s (loss %.0f %%)" % (
        s["scenario"], s["radios"], _modes(s["procs"]), s["broker"], s["link"]["preset"], 100 * s["link"]["loss"]))
    L.append("  talk bursts: %d; busy/denied presses: %d" % (s["bursts"], s["busy_or_denied"]))
    L.append("  access (PTT -> talk permit): p50 %s, p95 %s over %d presses" % (
        _ms(s["access_ms_p50"]), _ms(s["access_ms_p95"]), len(s["access_ms"])))
    L.append("  mouth-to-ear: p50 %s, p95 %s over %d burst/listener pairs" % (
        _ms(s["m2e_ms_p50"]), _ms(s["m2e_ms_p95"]), len(s["m2e_ms"])))
    L.append("    (p50: half of them were at least this fast; p95: 19 in 20 were — the slow tail a user notices)")
    n = len(s["collisions"])
    L.append("  collisions: %d, resolved %d (one talker each), p95 %s" % (
        n, s["collisions_resolved"], _ms(s["collision_resolve_ms_p95"])))
    for c in s["collisions"]:
        L.append("    %s and %s pressed together: %s got the channel, %s heard busy (Sibuk)" % (
            c["winner"], c["loser"], c["winner"], c["loser"]))
    for t, u in s["emergencies"]:
        acked = [x for x in s["emergency_acked"] if x[1] == u]
        L.append("  EMERGENCY from %s at %.1f s%s / DARURAT dari %s%s" % (
            u, t / 1000, ", acknowledged by the Command Center" if acked else ", NOT acknowledged",
            u, ", sudah diterima Command Center" if acked else ", belum diterima"))
    rc = s["rollcall"]
    if rc:
        L.append("  roll call %s: answered %s; missed %s; offline %s" % (
            rc.get("id"), ", ".join(rc.get("answered", [])) or "none", ", ".join(rc.get("missed", [])) or "none",
            ", ".join(rc.get("offline", [])) or "none"))
        L.append("    Absen %s: hadir %s; tidak menjawab %s; tidak aktif %s" % (
            rc.get("id"), ", ".join(rc.get("answered", [])) or "-", ", ".join(rc.get("missed", [])) or "-",
            ", ".join(rc.get("offline", [])) or "-"))
    for f in s["faults"]:
        parts = []
        for u, r in f["radios"].items():
            if r["offline_at"] is None:
                parts.append("%s stayed online" % u)
            elif r["online_after_ms"] is None:
                parts.append("%s NOT back online" % u)
            else:
                parts.append("%s online again after %.1f s" % (u, r["online_after_ms"] / 1000))
        L.append("  fault %s at %.1f s: %s" % (f["fault"], f["t"] / 1000, "; ".join(parts)))
    L.append("  floor at the end: %s" % ("free on every radio" if not s["stuck"] else
                                       "STUCK on " + ", ".join("%s (shows %s)" % x for x in s["stuck"])))
    L.append("  real time: %d of %d audio frames late (%.2f %%)" % (s["late_frames"], s["frames"], s["late_pct"]))
    L.append("  per radio: sent frames / heard of others' (loss) / data up+down incl. TCP/IP / online at end")
    for u, r in s["per_radio"].items():
        w = r["wire"]
        loss = "-" if r["heard_loss"] is None else "%.1f %%" % (100 * r["heard_loss"])
        L.append("    %-8s %5d / %5d of %5d (%s) / %s / %s%s" % (
            u, r["tx_frames"], r["heard_frames"], r["others_sent"], loss,
            "%.1f+%.1f KB" % (w["up"] / 1000, w["down"] / 1000) if w else "-",
            "yes" if r["online_at_end"] else "no (reconnecting)",
            ("; SMS: " + ", ".join(n for n, _ in r["sms"])) if r["sms"] else ""))
    if s["not_ready"]:
        L.append("  not online when the scenario started: " + ", ".join(s["not_ready"]))
    bad = [p for p in s["procs"] if p["rc"] not in (0, None)]
    for p in bad:
        L.append("  process %d (%s) exited with %s: see proc%d.stderr" % (p["proc"], p["mode"], p["rc"], p["proc"]))
    return "\n".join(L)


def write(res, out, s=None):
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    s = s or summarize(res)
    with (out / "transcript.jsonl").open("w") as f:
        for t, u, k, d in res["events"]:
            f.write(json.dumps({"t_ms": t, "unit": u, "kind": k, **d}) + "\n")
    with (out / "transcript.txt").open("w") as f:   # sentences; every field is in transcript.jsonl
        n = narrate.Narrator(end_ms=res["scenario"].duration_s * 1000)
        for t, u, k, d in res["events"]:
            line = n.line(t, u, k, d)
            if line:
                f.write(line + "\n")
    for u, pcm in res["heard"].items():
        speech.write_wav(out / ("%s_heard.wav" % u), pcm)
    js = {k: v for k, v in s.items()}
    (out / "summary.json").write_text(json.dumps(js, indent=1, default=str))
    return s
