"""`python -m htsim.fleetdemo` (what `make demo` should run): the Command Center and three department
heads, each the real firmware under MicroPython unix, on the embedded broker over simulated LTE links,
run scenarios/demo.json — a normal exchange, a collision, an emergency and a roll call (absen) — in under
a minute, and the summary is printed in plain English (Bahasa Indonesia where it speaks to field staff).
The audio-path summary line of the voice demo (htsim.voicedemo) follows, so both figures stay in one place.
"""
import argparse
import sys

from htctl.firmware import SCENARIOS_DIR


def main(argv=None, out=None):
    from htsim import audiopath
    from htsim.fleet import runner, scenario as S, summary as report
    p = argparse.ArgumentParser(prog="python -m htsim.fleetdemo", description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default=str(SCENARIOS_DIR / "demo.json"))
    p.add_argument("--mode", choices=("mpy", "cpython"), default="mpy")
    p.add_argument("--out", default="out/demo")
    a = p.parse_args(argv)
    out = out or sys.stdout
    sc = S.load(a.scenario)
    print("Fleet demo: %s (%d radios, %.0f s scripted). Progress:" % (sc.name, len(sc.radios), sc.duration_s),
          file=out, flush=True)
    res = runner.run(sc, a.out, mode=a.mode, log=lambda m: print(m, file=out, flush=True))
    s = report.write(res, a.out)
    print(report.text(s), file=out)
    print("  wrote %s/: transcript.txt (what happened, in sentences), transcript.jsonl, summary.json and "
          "<unit>_heard.wav (what each radio played)" % a.out, file=out)
    ap = audiopath.run("loss5", seed=1)
    print("Audio path alone (link loss5, 8 speech bursts): PESQ-NB %s, receiver played %d frames, lost %d" % (
        "%.2f" % ap["pesq"] if ap["pesq"] is not None else "n/a", ap["rx"]["played"], ap["rx"]["lost"]), file=out)
    print("  (PESQ scores speech the way a listening panel would, 1 = bad to 4.5 = perfect; about 3 or more is "
          "clear phone speech)", file=out)
    bad = [p for p in res["procs"] if p["rc"] not in (0, None)]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
