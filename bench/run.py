"""`make bench`: run every bench/bench_*.py, merge their metrics into bench/results.json, print a table.

Each bench module has `run() -> dict` (metric name -> number) and may define `UNITS` (metric -> text) and
`GOALS` (metric -> text). Ratios are measured side by side in this one run; nothing here is a pass/fail test.
Usage: python bench/run.py [name ...]   (names without the bench_ prefix, default: all)
"""
import importlib
import json
import pathlib
import sys
import time
import traceback

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
# The code under test is installed in the venv; benchmarks also reuse the tests' fixtures (brokers, emulators)
# and the portable AT vectors (tests/core/modem).
for p in (ROOT / "tests", ROOT / "tests" / "core" / "modem", HERE):
    sys.path.insert(0, str(p))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    names = argv or sorted(p.stem[6:] for p in HERE.glob("bench_*.py"))
    out = HERE / "results.json"
    results = json.loads(out.read_text()) if (argv and out.exists()) else {}
    rows = []
    failed = []
    for name in names:
        mod = importlib.import_module("bench_" + name)
        t0 = time.time()
        print("== %s" % name, flush=True)
        try:
            metrics = mod.run()
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        units = getattr(mod, "UNITS", {})
        goals = getattr(mod, "GOALS", {})
        for k, v in metrics.items():
            results[k] = v
            rows.append((k, v, units.get(k, ""), goals.get(k, "")))
        print("   (%.1f s)" % (time.time() - t0), flush=True)
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    w = max([len(r[0]) for r in rows] + [6])
    print()
    print("%-*s  %12s  %-10s  %s" % (w, "metric", "value", "unit", "goal"))
    print("-" * (w + 40))
    for k, v, u, g in rows:
        val = ("%.3f" % v) if isinstance(v, float) else str(v)
        print("%-*s  %12s  %-10s  %s" % (w, k, val, u, g))
    print("\nwritten to %s" % out.relative_to(ROOT))
    if failed:
        print("benchmarks that failed: %s" % ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
