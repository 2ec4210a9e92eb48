"""The one bridge from host code to the radio's code and data.

``ht`` and ``hal`` are installed as packages straight from ``firmware/`` (``package-dir`` in pyproject.toml),
so host code imports the very modules the radio runs by their radio names (``from ht import config``) with
no ``sys.path`` edits. This module names the folders around them: the firmware tree that deploy, the virtual
device and the simulators copy or run under MicroPython, and the checkout's board files and scenarios.
"""
import os
import pathlib

import ht
from ht import board as htboard
from ht import config as htconfig

FIRMWARE_DIR = pathlib.Path(ht.__file__).resolve().parent.parent
# A checkout keeps boards/ and scenarios/ beside firmware/; HTCTL_ROOT points an installed htctl at one.
REPO_ROOT = pathlib.Path(os.environ.get("HTCTL_ROOT") or FIRMWARE_DIR.parent)
BOARDS_DIR = REPO_ROOT / "boards"
SCENARIOS_DIR = REPO_ROOT / "scenarios"

__all__ = ["htboard", "htconfig", "FIRMWARE_DIR", "REPO_ROOT", "BOARDS_DIR", "SCENARIOS_DIR"]
