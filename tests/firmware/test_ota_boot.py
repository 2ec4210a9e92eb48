"""The real firmware/main.py under MicroPython unix, booting a release on trial that cannot even start
(docs/OTA.md): it must restart (the bootstrap counts the boot) instead of stopping at the REPL, and after
bootstrap.MAX_BOOTS such boots the previous version is chosen. On the ESP32 an uncaught exception in main.py
leaves the radio at the REPL until someone power-cycles it; here that is an exit with a traceback."""
import json
import pathlib
import shutil
import subprocess
import sys

import pytest

from htctl.firmware import BOARDS_DIR, FIRMWARE_DIR
from htsim import rig

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench"))
import bench_boot  # noqa: E402  (its known-good config)

pytestmark = pytest.mark.mpy


def _radio(tmp, breakage):
    # a provisioned radio whose ota/ says: release 9.9.9 staged over the factory code, on trial
    (tmp / "board.json").write_bytes((pathlib.Path(BOARDS_DIR) / "LILYGO_T_A7670" / "board.json").read_bytes())
    (tmp / "config.json").write_text(json.dumps(bench_boot.GOOD))
    rel = tmp / "ota" / "v" / "9.9.9"
    for pkg in ("ht", "hal"):
        shutil.copytree(FIRMWARE_DIR / pkg, rel / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    path, text = breakage
    f = rel / path
    f.write_text(f.read_text() + text)
    (tmp / "ota" / "next").write_text(json.dumps({"v": "9.9.9", "floor": "9.9.9"}))


def _boot(tmp, args):
    return subprocess.run(rig.command(args), cwd=str(tmp), env=rig.env(), capture_output=True, text=True,
                          errors="replace", timeout=120)


@pytest.mark.parametrize("breakage", [
    ("ht/radio/app.py", '\nraise RuntimeError("a release that dies at boot")\n'),
    ("ht/__init__.py", "\nimport no_such_module_in_this_release\n"),
    ("hal/__init__.py", "\ndef create(board, **kw):\n    raise OSError(19)\n"),
], ids=["app-raises", "ht-import-fails", "hal-raises"])
def test_a_release_on_trial_that_cannot_start_restarts_and_rolls_back(tmp_path, breakage):
    _radio(tmp_path, breakage)
    main = FIRMWARE_DIR / "main.py"
    boots = []
    for _ in range(3):                       # bootstrap.MAX_BOOTS
        r = _boot(tmp_path, [main])
        assert r.returncode == 0 and "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr
        assert "v9.9.9 on trial failed to start" in r.stdout, r.stdout
        boots.append((tmp_path / "ota" / "boots").read_text())
    assert boots == ["1", "2", "3"]
    # the next boot chooses the factory code again and remembers why (what presence then reports)
    r = _boot(tmp_path, ["-c", "import bootstrap; print('ACTIVE', bootstrap.boot()[1])"])
    assert "ACTIVE {'rb': '9.9.9'}" in r.stdout, r.stdout + r.stderr
    assert not (tmp_path / "ota" / "v" / "9.9.9").exists()
