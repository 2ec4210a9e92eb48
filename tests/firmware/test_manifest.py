"""What ships where (firmware/manifests/): the radio build carries the pure core and the ESP32 HAL and no
desktop-only module; everything it imports is inside it; deploy ships exactly a manifest's files."""
import ast
import pathlib

import pytest

from htctl import deploy as D
from htctl import manifest
from htctl.errors import NotFoundError

ROOT = pathlib.Path(__file__).resolve().parents[2]
DESKTOP_ONLY = {"hal/sim.py", "hal/netstream.py"}
# Modules a MicroPython build for the ESP32 has built in (or frozen: asyncio).
ESP32_BUILTINS = {"micropython", "machine", "network", "sys", "gc", "time", "array", "struct", "json", "hashlib",
                  "binascii", "math", "random", "re", "os", "asyncio", "select", "socket", "ssl", "io", "errno"}


def test_radio_build_has_the_core_and_no_desktop_module():
    targets = {t for t, _ in manifest.files("radio")}
    assert not targets & DESKTOP_ONLY
    assert {"main.py", "hal/__init__.py", "hal/esp32.py", "ht/__init__.py", "ht/compat.py",
            "ht/voice/codecs.py", "ht/radio/app.py"} <= targets
    every_ht = {p.relative_to(ROOT / "firmware").as_posix() for p in (ROOT / "firmware" / "ht").rglob("*.py")}
    assert every_ht <= targets


def test_vdev_build_is_the_radio_build_plus_the_desktop_hal():
    radio = {t for t, _ in manifest.files("radio")}
    vdev = {t for t, _ in manifest.files("vdev")}
    assert vdev - radio == DESKTOP_ONLY


def _module_file(name):
    base = pathlib.PurePosixPath(*name.split("."))
    return {str(base) + ".py", str(base / "__init__.py")}


def test_every_import_of_the_radio_build_resolves_inside_it():
    shipped = {t for t, _ in manifest.files("radio")}
    missing = []
    for target, src in manifest.files("radio"):
        tree = ast.parse(src.read_text())
        for n in ast.walk(tree):
            names = []
            if isinstance(n, ast.Import):
                names = [a.name for a in n.names]
            elif isinstance(n, ast.ImportFrom) and n.module:
                names = [n.module] + ["%s.%s" % (n.module, a.name) for a in n.names]
            for name in names:
                if name.split(".")[0] in ESP32_BUILTINS:
                    continue
                if target == "hal/__init__.py" and name.startswith("hal.sim"):
                    continue   # create() picks hal.sim only where sys.platform is not "esp32"
                # `from ht.voice import codecs` names a module; `from ht.compat import const` a name in one
                if not (_module_file(name) & shipped or _module_file(name.rpartition(".")[0]) & shipped):
                    missing.append("%s: %s" % (target, name))
    assert not missing, missing


def test_deploy_builds_exactly_the_manifest(tmp_path):
    items, _ = D.build(None, target="radio", cache_dir=tmp_path)
    assert sorted(i.dest.lstrip("/") for i in items) == [t for t, _ in manifest.files("radio")]
    assert D.build_for({"platform": "esp32"}) == "radio"
    assert D.build_for({"platform": "linux"}) == "vdev"


def test_compiled_radio_build_has_no_desktop_module(tmp_path):
    items, stats = D.build("xtensawin", target="radio", cache_dir=tmp_path)
    dests = {i.dest for i in items}
    assert "/hal/esp32.mpy" in dests and "/main.py" in dests    # main.py stays source: pyexec runs it
    assert not {"/hal/sim.mpy", "/hal/netstream.mpy"} & dests
    assert stats["compiled"] == len(items) - 1


def test_an_unknown_build_is_refused_with_the_known_ones():
    with pytest.raises(NotFoundError) as e:
        manifest.files("phone")
    assert "radio" in e.value.hint
