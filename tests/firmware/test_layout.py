"""The layout's rules hold (docs/ARCHITECTURE.md, "Who may import what"): each firmware package imports only
the packages its rule names, nothing under ht/ touches hal or the hardware, and the technician's library
never depends on the simulators. Read from the code's own import statements (function bodies included)."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
HOST = ROOT / "host_tools"

BASE = {"ht.compat"}
# package -> the firmware packages it may import (besides itself and MicroPython's built-ins)
FIRMWARE_RULES = {
    "ht.compat": set(),
    "ht": set(),                      # ht/__init__.py: VERSION only
    "ht.config": BASE,
    "ht.board": BASE,
    "ht.bootfiles": BASE | {"ht.config", "ht.board"},
    "ht.voice": BASE,
    "ht.modem": BASE,
    "ht.mqtt": BASE,
    "ht.ota": BASE | {"ht.mqtt"},     # the radio side of updates over the air; storage is handed in
    "ht.radio": BASE | {"ht.config", "ht.board", "ht.voice", "ht.modem", "ht.mqtt", "ht.ota"},
    "ht.selftest": BASE | {"ht", "ht.config", "ht.board", "ht.voice", "ht.modem", "ht.mqtt", "ht.radio"},
    "hal": BASE | {"ht", "ht.board", "ht.config", "ht.voice", "ht.modem", "machine", "network"},
    "main": BASE | {"ht", "ht.board", "ht.config", "ht.bootfiles", "ht.radio", "hal", "bootstrap", "machine"},
    "bootstrap": set(),               # never updated over the air, so it leans on nothing that is; the reset
                                      # that counts a failed trial boot is main.py's, handed in
}
HARDWARE = {"machine", "network", "hal"}


def imports(path):
    """Every module name a file imports, at any depth."""
    out = set()
    for n in ast.walk(ast.parse(path.read_text())):
        if isinstance(n, ast.Import):
            out.update(a.name for a in n.names)
        elif isinstance(n, ast.ImportFrom) and n.module and not n.level:
            out.add(n.module)
            out.update("%s.%s" % (n.module, a.name) for a in n.names)
    return out


def firmware_package(name):
    """'ht.voice.codecs' -> 'ht.voice'; 'ht.compat' -> 'ht.compat'; 'hal.sim' -> 'hal'; other -> None."""
    parts = name.split(".")
    if parts[0] == "ht":
        if len(parts) == 1:
            return "ht"
        sub = FIRMWARE / "ht" / parts[1]
        # ht.voice..., ht.compat; a name that is neither (from ht import VERSION) is the ht package itself
        return "ht." + parts[1] if sub.is_dir() or sub.with_suffix(".py").is_file() else "ht"
    if parts[0] in ("hal", "machine", "network", "main", "bootstrap"):
        return parts[0]
    return None


def own_package(path):
    rel = path.relative_to(FIRMWARE).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return firmware_package(".".join(parts))


FIRMWARE_FILES = sorted(p for p in FIRMWARE.rglob("*.py") if "manifests" not in p.parts)


@pytest.mark.parametrize("path", FIRMWARE_FILES, ids=lambda p: str(p.relative_to(FIRMWARE)))
def test_firmware_file_imports_only_what_its_package_may(path):
    pkg = own_package(path)
    assert pkg in FIRMWARE_RULES, "%s is in no package with a rule (docs/ARCHITECTURE.md)" % path
    seen = {firmware_package(m) for m in imports(path)} - {None, pkg}
    # `from ht import VERSION` names the ht package; `from ht.voice import codecs` the voice package.
    bad = sorted(seen - FIRMWARE_RULES[pkg])
    assert not bad, "%s (%s) imports %s" % (path.relative_to(ROOT), pkg, bad)


def test_nothing_under_ht_touches_the_hardware_or_the_hal():
    for path in (FIRMWARE / "ht").rglob("*.py"):
        names = {m.split(".")[0] for m in imports(path)}
        assert not names & HARDWARE, "%s imports %s" % (path.relative_to(ROOT), names & HARDWARE)


def test_the_technicians_library_never_needs_the_simulators():
    # htctl's commands are the CLI skin for everything (they start simulators too); the library below them
    # (registry, deploy, provision, ...) must work with htsim absent.
    for path in (HOST / "htctl").rglob("*.py"):
        if "commands" in path.parts:
            continue
        bad = {m for m in imports(path) if m.split(".")[0] == "htsim"}
        assert not bad, "%s imports %s" % (path.relative_to(ROOT), bad)


def test_the_command_center_sits_above_the_technicians_library():
    # htcc (the Command Center server: the floor arbiter) may import ht, hal and the htctl library; the htctl
    # library never imports htcc (only its CLI skin, htctl/commands, may start an arbiter).
    for path in (HOST / "htctl").rglob("*.py"):
        if "commands" in path.parts:
            continue
        bad = {m for m in imports(path) if m.split(".")[0] == "htcc"}
        assert not bad, "%s imports %s" % (path.relative_to(ROOT), bad)
    allowed = {"ht", "hal", "htctl", "htcc"}
    for path in (HOST / "htcc").rglob("*.py"):
        ours = {m.split(".")[0] for m in imports(path)} & {"ht", "hal", "htctl", "htcc", "htsim"}
        assert ours <= allowed, "%s imports %s" % (path.relative_to(ROOT), ours - allowed)
        bad = {m for m in imports(path) if m.startswith("htctl.commands")}
        assert not bad, "%s imports the CLI skin %s" % (path.relative_to(ROOT), bad)


def test_a_rule_that_is_broken_is_reported(tmp_path):
    # The check itself can fail: a voice module that reached into the radio would be caught.
    f = tmp_path / "x.py"
    f.write_text("from ht.radio import floor\n")
    seen = {firmware_package(m) for m in imports(f)} - {None, "ht.voice"}
    assert seen - FIRMWARE_RULES["ht.voice"] == {"ht.radio"}
