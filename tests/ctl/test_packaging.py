"""`pip install .` gives a working tool: every third-party module the host packages import is provided by a
dependency pyproject.toml declares, and `python -m htctl` is the `htctl` command."""
import ast
import importlib.metadata as md
import pathlib
import subprocess
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]
RIG_PROGRAMS = {p.stem for p in (ROOT / "host_tools" / "htsim" / "rig").glob("*.py")}   # import each other
OURS = {"htctl", "htsim", "htcc", "ht", "hal", "bootstrap"} | RIG_PROGRAMS   # bootstrap: firmware/bootstrap.py
# MicroPython-only names the rig programs and the firmware import where they run (never on CPython)
MICROPYTHON_ONLY = {"micropython", "machine", "network", "uasyncio", "utime"}


def declared():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = set()
    for d in deps:
        name = d.split(";")[0].split("[")[0]
        for sep in "<>=!~ ":
            name = name.split(sep)[0]
        names.add(name.lower().replace("_", "-"))
    return names


def top_level_imports(folder):
    out = {}
    for path in folder.rglob("*.py"):
        for n in ast.walk(ast.parse(path.read_text())):
            if isinstance(n, ast.Import):
                mods = [a.name for a in n.names]
            elif isinstance(n, ast.ImportFrom) and n.module and not n.level:
                mods = [n.module]
            else:
                continue
            for m in mods:
                out.setdefault(m.split(".")[0], path.relative_to(ROOT))
    return out


def test_every_third_party_import_of_the_host_packages_is_a_declared_dependency():
    provided = md.packages_distributions()     # import name -> distributions that provide it
    deps = declared()
    missing = []
    for mod, where in sorted(top_level_imports(ROOT / "host_tools").items()):
        if mod in OURS or mod in sys.stdlib_module_names or mod in MICROPYTHON_ONLY:
            continue
        dists = {d.lower().replace("_", "-") for d in provided.get(mod, [])}
        if not dists & deps:
            missing.append("%s (imported by %s, provided by %s)" % (mod, where, sorted(dists) or "nothing installed"))
    assert not missing, "pyproject.toml does not declare: " + "; ".join(missing)


def test_python_dash_m_htctl_is_the_htctl_command():
    r = subprocess.run([sys.executable, "-m", "htctl", "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith(md.version("htctl"))
    bad = subprocess.run([sys.executable, "-m", "htctl", "no-such-command"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and "no-such-command" in bad.stderr


def test_an_installed_copy_carries_every_firmware_folder_board_and_scenario():
    # pip install . (not editable) has no checkout to read: the data-files table must name every folder that
    # deploy ships and every board, or an installed htctl deploys a radio with a module missing.
    table = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    listed = {pattern.rsplit("/", 1)[0] for patterns in table.values() for pattern in patterns}
    folders = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "firmware").rglob("*.py")
               if "__pycache__" not in p.parts}
    folders |= {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "boards").glob("*/board.json")}
    folders.add("scenarios")
    assert folders <= listed, sorted(folders - listed)
    for dest, patterns in table.items():
        for pattern in patterns:
            assert dest == "share/htctl/" + pattern.rsplit("/", 1)[0], (dest, pattern)
