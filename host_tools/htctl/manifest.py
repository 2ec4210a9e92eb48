"""Firmware manifests: which files ship in which build (firmware/manifests/*.py).

A manifest is written in MicroPython's own manifest language (micropython-lib's ``manifest.py``): calls of
``module(path, base_path=…)``, ``package(name, files=None, base_path=…)`` and ``include(manifest)``, with
paths relative to the manifest's folder, so the radio manifest can also be handed to a MicroPython build as
``FROZEN_MANIFEST``. Here it is evaluated to the list of files: ``(target path on the device, source path)``.
"""
from __future__ import annotations

import pathlib

from .errors import NotFoundError, UserError
from .firmware import FIRMWARE_DIR

BUILDS = ("radio", "vdev")   # radio: what an ESP32 carries; vdev: the virtual device on a desktop


def path(build: str, firmware_dir: pathlib.Path | str = FIRMWARE_DIR) -> pathlib.Path:
    """The manifest file of a build name (``radio``, ``vdev``) or an explicit path to a manifest."""
    p = pathlib.Path(build)
    if p.suffix != ".py":
        p = pathlib.Path(firmware_dir) / "manifests" / (build + ".py")
    if not p.is_file():
        raise NotFoundError("no firmware manifest %s" % p, hint="builds: %s" % ", ".join(BUILDS))
    return p


def files(build: str = "radio", firmware_dir: pathlib.Path | str = FIRMWARE_DIR) -> list[tuple[str, pathlib.Path]]:
    """Evaluate a manifest: ``[(target, source)]`` sorted by target, each file once (target like ``ht/x.py``)."""
    out: dict[str, pathlib.Path] = {}
    _run(path(build, firmware_dir), out, set())
    return sorted(out.items())


def _run(mfile: pathlib.Path, out: dict, seen: set) -> None:
    mfile = mfile.resolve()
    if mfile in seen:
        return
    seen.add(mfile)
    here = mfile.parent

    def base(base_path):
        return (here / base_path).resolve()

    def add(target, src):
        if not src.is_file():
            raise UserError("%s names %s, which does not exist" % (mfile.name, src))
        out[target] = src

    def module(module_path, base_path=".", opt=None):
        add(pathlib.PurePosixPath(module_path).as_posix(), base(base_path) / module_path)

    def package(package_path, files=None, base_path=".", opt=None):
        root = base(base_path)
        if files is None:
            for src in sorted((root / package_path).rglob("*.py")):
                if "__pycache__" not in src.parts:
                    add(src.relative_to(root).as_posix(), src)
        else:
            for f in files:
                add("%s/%s" % (package_path, f), root / package_path / f)

    def include(manifest_path, **kwargs):
        _run(here / manifest_path, out, seen)

    def metadata(**kwargs):
        pass

    def require(name, **kwargs):
        raise UserError("%s: require(%r) needs micropython-lib, which this project does not vendor" % (mfile.name, name))

    ns = {"module": module, "package": package, "include": include, "metadata": metadata, "require": require}
    exec(compile(mfile.read_text(), str(mfile), "exec"), ns)
