"""The one bridge from host code to the radio's code and data.

``ht`` and ``hal`` are installed as packages straight from ``firmware/`` (``packages.find`` in
pyproject.toml), so host code imports the very modules the radio runs by their radio names
(``from ht import config``) with no ``sys.path`` edits. This module names the folders around them:

* ``FIRMWARE_DIR``: the firmware tree that deploy ships and the simulators run under MicroPython
  (``main.py``, ``manifests/``, ``ht/``, ``hal/``);
* ``BOARDS_DIR`` and ``SCENARIOS_DIR``: board files and fleet scenarios;
* ``DATA_ROOT``: the folder holding those, and ``CACHE_DIR`` for compiled .mpy files.

In a checkout (``make venv`` installs it editable) they are the checkout's own folders. An installed copy
(``pip install .``) carries them under ``<prefix>/share/htctl`` (pyproject.toml ``data-files``).
``HTCTL_ROOT`` points htctl at another checkout.
"""
import os
import pathlib
import sys

import ht
from ht import board as htboard
from ht import config as htconfig

_SOURCE = pathlib.Path(ht.__file__).resolve().parent.parent
_SHARE = pathlib.Path(sys.prefix) / "share" / "htctl"

if os.environ.get("HTCTL_ROOT"):
    DATA_ROOT = pathlib.Path(os.environ["HTCTL_ROOT"])
    FIRMWARE_DIR = DATA_ROOT / "firmware"
elif (_SOURCE / "main.py").is_file():          # a checkout: ht/ sits in firmware/ beside main.py
    FIRMWARE_DIR = _SOURCE
    DATA_ROOT = _SOURCE.parent
else:                                          # installed: the shipped copy of the firmware tree
    DATA_ROOT = _SHARE
    FIRMWARE_DIR = _SHARE / "firmware"
BOARDS_DIR = DATA_ROOT / "boards"
SCENARIOS_DIR = DATA_ROOT / "scenarios"
CACHE_DIR = (DATA_ROOT / "build" if os.access(DATA_ROOT, os.W_OK) else
             pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache") / "htctl")

__all__ = ["htboard", "htconfig", "FIRMWARE_DIR", "DATA_ROOT", "BOARDS_DIR", "SCENARIOS_DIR", "CACHE_DIR"]
