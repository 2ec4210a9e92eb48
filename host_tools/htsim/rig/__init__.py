"""The MicroPython test rig: programs that run the real firmware under MicroPython unix (or CPython), and the
one place that knows how to start them.

Each ``*.py`` beside this file is a program for the interpreter, not a module of this package: the fleet
radio (``radio.py``), the drivers the sim-tier tests and benchmarks run (``radio_driver.py``,
``modem_driver.py``, ``mqtt_driver.py``, ``hal_esp32_driver.py``, ``radio_power.py``), and the runner of the portable tests
(``portable_runner.py``). They import the firmware (``ht``, ``hal``) and each other by plain names, so the
import path is this folder, then ``firmware/``, then the interpreter's frozen modules.
"""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from collections.abc import Iterable, Sequence
from types import ModuleType

from htctl.firmware import DATA_ROOT, FIRMWARE_DIR

RIG_DIR = pathlib.Path(__file__).resolve().parent
FAKES_DIR = RIG_DIR / "fakes"          # a fake `machine` module, for hal/esp32.py off the radio
MICROPYTHON = pathlib.Path(sys.executable).parent / "micropython"


def program(name: str) -> pathlib.Path:
    """Path of a rig program by its file stem (``"radio_driver"``)."""
    return RIG_DIR / (name + ".py")


def import_path(extra_paths: Iterable[str | os.PathLike[str]] = ()) -> list[str]:
    """The folders a rig program imports from, in order."""
    return [str(p) for p in extra_paths] + [str(RIG_DIR), str(FIRMWARE_DIR)]


def env(extra_paths: Iterable[str | os.PathLike[str]] = (), cpython: bool = False) -> dict[str, str]:
    """Environment for running a rig program: MICROPYPATH (or PYTHONPATH for a CPython run)."""
    e = dict(os.environ)
    if cpython:
        e["PYTHONPATH"] = os.pathsep.join(import_path(extra_paths))
    else:
        e["MICROPYPATH"] = ":".join(import_path(extra_paths) + [".frozen"])   # .frozen: asyncio and friends
    return e


def check_argv(args: Iterable[object]) -> None:
    # The unix port interns each argv string as a qstr before any exception handler exists: an argument of
    # 256 bytes or more kills the interpreter with "FATAL: uncaught NLR". Pass long data in a file.
    long = [a for a in args if len(str(a).encode()) > 255]
    if long:
        raise ValueError("MicroPython argv element of %d bytes (max 255): pass it in a file"
                         % len(str(long[0]).encode()))


def command(args: Sequence[object], heap: str = "8M") -> list[str]:
    """The MicroPython command line for ``args`` (a program path first)."""
    check_argv(args)
    return [str(MICROPYTHON), "-X", "heapsize=" + heap] + [str(a) for a in args]


def run(args: Sequence[object], timeout: float = 300, extra_paths: Iterable[str | os.PathLike[str]] = (),
        input: str | None = None, heap: str = "8M") -> subprocess.CompletedProcess[str]:
    """Run MicroPython unix on ``args`` from the checkout's root; returns CompletedProcess (text)."""
    if not MICROPYTHON.exists():
        raise FileNotFoundError("MicroPython unix interpreter missing at %s: run `make venv`" % MICROPYTHON)
    return subprocess.run(command(args, heap), capture_output=True, text=True, errors="replace", timeout=timeout,
                          env=env(extra_paths), input=input, cwd=str(DATA_ROOT))


def load(name: str) -> ModuleType:
    """Import a rig program as a module on CPython (tests and benchmarks drive the same scenarios in-process).
    The programs import each other by plain names, as they do under MicroPython, so the rig folder joins the
    import path here, the one place that does it."""
    import importlib
    if str(RIG_DIR) not in sys.path:
        sys.path.insert(0, str(RIG_DIR))
    return importlib.import_module(name)
