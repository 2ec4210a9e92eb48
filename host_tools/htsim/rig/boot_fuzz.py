# Runs firmware/main.py's boot logic (prepare(): board + config -> what to run) and builds the radio it
# would run (ht.radio.boot.build on hal/sim.py, no modem needed to construct) for every config file in a
# folder, without a last-known-good copy (the worst case). Prints one line per file and a RESULT line:
#   counts of "config", "defaults" (needs provisioning), "repl" (prepare gave up) and "exception".
# Usage: micropython boot_fuzz.py <folder> <main.py> <board.json>   (also runs on CPython)
import sys
import os
import json


def load_main(path):
    # main.py ends with main(): run everything above it, so prepare() is the radio's own code
    with open(path) as f:
        src = f.read()
    i = src.rfind("\nmain()")
    g = {"__name__": "boot_fuzz_main"}
    exec(src[:i], g)
    return g


def one(g, board_bytes, data):
    from ht import bootfiles as F
    from ht.radio import boot as radio_boot
    from ht.radio.presence import STAGES
    from hal.sim import HAL
    files = {F.BOARD: board_bytes, F.CONFIG: data}
    plan = g["prepare"](lambda name: files.get(name))
    if plan is None:
        return "repl"
    board, cfg, provision = plan
    radio, _sup = radio_boot.build(HAL(board), board, cfg, store=False, provision=provision)
    if radio.stage() not in STAGES:
        return "exception"
    return "defaults" if provision else "config"


def main(folder, main_path, board_path):
    g = load_main(main_path)
    with open(board_path, "rb") as f:
        board_bytes = f.read()
    counts = {"config": 0, "defaults": 0, "repl": 0, "exception": 0}
    names = sorted(os.listdir(folder))
    for name in names:
        with open(folder + "/" + name, "rb") as f:
            data = f.read()
        try:
            r = one(g, board_bytes, data)
        except BaseException as e:     # SystemExit / KeyboardInterrupt too: the boot must not end there
            r = "exception"
            print("EXC", name, repr(e))
        counts[r] += 1
        print("FILE", name, r)   # (status lines above it may carry any bytes)
    print("RESULT " + json.dumps(counts))


main(*sys.argv[1:4])
