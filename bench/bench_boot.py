"""No file can brick a radio (issue 11): firmware/main.py's boot logic under MicroPython unix on N fuzzed
config.json files (random bytes, erased 0xFF pages, truncations, non-UTF-8 bytes, deep nesting, wrong
types, oversized), with no last-known-good copy. A boot is bricked when it ends at the REPL or in an
exception instead of a radio built to run on the file or on factory defaults ("provision" stage).
Run by htsim/rig/boot_fuzz.py, which execs main.py's own prepare() and builds the radio it would run.
"""
import json
import pathlib
import random
import tempfile

from htsim import rig
from ht import config

ROOT = pathlib.Path(__file__).resolve().parent.parent
UNITS = {"config_fuzz_bricked": "boots", "config_fuzz_files": "files", "config_fuzz_on_file": "boots",
         "config_fuzz_provision": "boots"}
GOALS = {"config_fuzz_bricked": "0"}

GOOD = {"schema": 1, "unit": {"id": "u-07", "callsign": "Kilo 7", "priority": "normal"},
        "talkgroups": {"list": ["1", "2"], "scan": ["2"]}, "broker": {"url": "mqtt://127.0.0.1:1883",
        "user": "u-07", "password": "pw", "keepalive": 60}, "modem": {"apn": "internet", "sim_pin": "1234"},
        "audio": {"codec": "adpcm", "frame_ms": 40, "key": "00" * 16}, "ptt": {"talk_timeout_s": 60}}
_ODD = [None, True, -1, 2 ** 40, 1.5, "", "x" * 300, [], {}, [1, [2]], {"a": {}}, "\ud800", "é"]


def _wrong_types(rng):
    d = json.loads(json.dumps(GOOD))
    for _ in range(rng.randrange(1, 6)):
        sec = rng.choice(list(d))
        if isinstance(d[sec], dict) and d[sec] and rng.random() < 0.8:
            d[sec][rng.choice(list(d[sec]))] = rng.choice(_ODD)
        else:
            d[sec] = rng.choice(_ODD)
    return json.dumps(d).encode("utf-8", "surrogatepass")


def fuzz_files(n, seed=5):
    rng = random.Random(seed)
    good = json.dumps(GOOD).encode()
    out = []
    for i in range(n):
        k = i % 8
        if k == 0:
            b = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 2000)))
        elif k == 1:
            b = b"\xff" * rng.choice((1, 512, 4096)) if rng.random() < 0.5 else good[:rng.randrange(len(good))] + \
                b"\xff" * 256
        elif k == 2:
            b = good[:rng.randrange(len(good))]
        elif k == 3:
            b = bytearray(good)
            for _ in range(rng.randrange(1, 4)):
                b[rng.randrange(len(b))] = rng.choice((0x80, 0xc3, 0xfe, 0xff, 0xed))
            b = bytes(b)
        elif k == 4:
            d = rng.randrange(5, 20000)
            b = b'{"unit": {"id": ' + b"[" * d + b"]" * d + b"}}" if rng.random() < 0.5 else b"{" * d
        elif k == 5:
            b = _wrong_types(rng)
        elif k == 6:
            b = good[:-1] + b', "pad": "' + b"x" * rng.randrange(10000, 40000) + b'"}'
        else:
            b = bytearray(good)
            for _ in range(rng.randrange(1, 20)):
                b[rng.randrange(len(b))] = rng.getrandbits(8)
            b = bytes(b)
        out.append(b)
    return out


def run(n=400):
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        for i, b in enumerate(fuzz_files(n)):
            (folder / ("%04d.json" % i)).write_bytes(b)
        r = rig.run([rig.program("boot_fuzz"), folder, ROOT / "firmware" / "main.py",
                     ROOT / "boards" / "LILYGO_T_A7670" / "board.json"], timeout=900)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
    if not lines:
        raise RuntimeError("boot_fuzz failed: %s %s" % (r.stdout[-2000:], r.stderr[-2000:]))
    c = json.loads(lines[-1][7:])
    return {"config_fuzz_files": n, "config_fuzz_bricked": c["repl"] + c["exception"],
            "config_fuzz_on_file": c["config"], "config_fuzz_provision": c["defaults"]}


assert config.load(json.dumps(GOOD))[0].get("unit.id") == "u-07"

if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
