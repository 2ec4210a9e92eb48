"""htctl deploy against a virtual device: full deploy to a fresh radio vs a one-module change (hash skip).

All runs in one process, side by side: cold (empty mpy-cross cache), full (fresh device, warm cache),
incremental (one module edited), no-op (nothing changed). Median of REPEAT runs each.
"""
import pathlib
import shutil
import statistics
import tempfile
import time
from htctl import deploy as D
from htsim.vdev import VirtualDevice

ROOT = pathlib.Path(__file__).resolve().parent.parent

BOARD = "LILYGO_T_A7670"
REPEAT = 3
UNITS = {"deploy_full_s": "s", "deploy_full_cold_s": "s", "deploy_incremental_s": "s", "deploy_noop_s": "s",
         "deploy_full_bytes": "bytes", "deploy_incremental_bytes": "bytes", "deploy_files": "files"}
GOALS = {"deploy_incremental_s": "< deploy_full_s (hash skip)"}


def _timed(port, fw, cache):
    t0 = time.perf_counter()
    r = D.deploy(port, board=BOARD, firmware_dir=fw, cache_dir=cache)
    return time.perf_counter() - t0, r


def run():
    full, cold, inc, noop = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        fw = tmp / "firmware"
        shutil.copytree(ROOT / "firmware", fw, ignore=shutil.ignore_patterns("__pycache__"))
        mod = fw / "ht" / "selftest" / "local.py"
        base = mod.read_text()
        for i in range(REPEAT):
            cache = tmp / ("cache%d" % i)
            with VirtualDevice(board=BOARD, flash_dir=tmp / ("cold%d" % i)) as dev:
                s, _ = _timed(dev.port, fw, cache)          # empty cache: compiles everything
                cold.append(s)
            with VirtualDevice(board=BOARD, flash_dir=tmp / ("flash%d" % i)) as dev:
                s, rf = _timed(dev.port, fw, cache)         # fresh device, warm cache
                full.append(s)
                mod.write_text(base + "\nBENCH_MARK = %d\n" % i)
                s, ri = _timed(dev.port, fw, cache)         # one module changed
                inc.append(s)
                if len(ri["copied"]) != 1:
                    raise RuntimeError("incremental deploy copied %s" % ri["copied"])
                s, rn = _timed(dev.port, fw, cache)         # nothing changed
                noop.append(s)
        mod.write_text(base)
    return {"deploy_full_s": round(statistics.median(full), 3),
            "deploy_full_cold_s": round(statistics.median(cold), 3),
            "deploy_incremental_s": round(statistics.median(inc), 3),
            "deploy_noop_s": round(statistics.median(noop), 3),
            "deploy_full_bytes": rf["bytes_copied"], "deploy_incremental_bytes": ri["bytes_copied"],
            "deploy_files": rf["files"]}
