"""The firmware modules the host shares (one schema for device and host): ``ht.config`` and ``ht.board``.

htctl is installed from host_tools/, the firmware lives next to it in firmware/; put that folder on the
import path once so ``from htctl.fwshared import htconfig, htboard`` gives the very modules the radio runs.
"""
import pathlib
import sys

FIRMWARE_DIR = pathlib.Path(__file__).resolve().parents[2] / "firmware"

if str(FIRMWARE_DIR) not in sys.path:
    sys.path.insert(0, str(FIRMWARE_DIR))

from ht import board as htboard  # noqa: E402
from ht import config as htconfig  # noqa: E402

__all__ = ["htboard", "htconfig", "FIRMWARE_DIR"]
