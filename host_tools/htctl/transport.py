"""Talking to a radio's MicroPython REPL: a thin layer over mpremote's ``SerialTransport`` used as a library.

mpremote does the protocol (raw REPL, raw-paste flow control); this module adds what htctl needs on top:
errors in htctl's family with hints, exec that returns JSON, file transfer in large base64 chunks with an
atomic rename (a cable pulled mid-copy never leaves half a module under the real name), sha256 of many files
in one round trip, and a friendly-mode soft reset that waits for the firmware's banner.

Works the same on /dev/ttyUSB0 and on a virtual device's pty (htsim.vdev).
"""
from __future__ import annotations

import ast
import base64
import contextlib
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from .errors import DeviceError

_RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
_CHUNK = 3072            # bytes per exec when copying: 4 KiB of base64 source, small enough for an ESP32 heap
_PORT_HINT = ("check the cable and the port name (`ls /dev/ttyUSB* /dev/ttyACM*`); another program "
              "(a serial monitor, a second htctl) may hold it; for a virtual device use the pty path "
              "printed by `htctl vdev start`")

# sys.implementation._mpy >> 10 (mpy arch field); mpy-cross -march names.
MPY_ARCHES = {0: None, 1: "x86", 2: "x64", 3: "armv6", 4: "armv6m", 5: "armv7m", 6: "armv7em", 7: "armv7emsp",
              8: "armv7emdp", 9: "xtensa", 10: "xtensawin", 11: "rv32imc", 12: "rv64imc"}


class DeviceExecError(DeviceError):
    """Code sent to the device raised; ``error_output`` is the device's traceback text."""

    def __init__(self, message: str, error_output: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.error_output = error_output


def _last_line(text):
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else text.strip()


class DeviceTransport:
    """An open connection to a device REPL. Use as a context manager; ``close()`` leaves the friendly REPL."""

    def __init__(self, port: str, baudrate: int = 115200, timeout: float = 1.0,
                 raw_timeout: float | None = None) -> None:
        from mpremote.transport_serial import SerialTransport
        from mpremote.transport import TransportError

        self.port = port
        # How long a device may take to answer the raw REPL: 10 s suits a radio on a cable; a virtual device
        # (MicroPython unix on a loaded test machine) may need longer: $HTCTL_RAW_TIMEOUT (seconds).
        if raw_timeout is None:
            try:
                raw_timeout = float(os.environ.get("HTCTL_RAW_TIMEOUT") or 10)
            except ValueError:
                raw_timeout = 10.0
        self.raw_timeout = raw_timeout
        self._TransportError = TransportError
        try:
            self._t = SerialTransport(port, baudrate=baudrate, timeout=timeout)  # wait=0: it prints nothing
        except (TransportError, OSError, ValueError) as exc:
            raise DeviceError("cannot open port %s: %s" % (port, exc), hint=_PORT_HINT) from None

    # -- session --------------------------------------------------------------------------------------------
    def __enter__(self) -> DeviceTransport:
        return self

    def __exit__(self, *exc: object) -> bool:
        self.close()
        return False

    def close(self) -> None:
        if self._t is None:
            return
        try:
            if self._t.in_raw_repl:
                self._t.exit_raw_repl()
            self._t.close()
        except OSError:
            pass
        self._t = None

    @property
    def in_raw_repl(self) -> bool:
        return self._t.in_raw_repl

    def enter_raw(self, soft_reset: bool = False) -> None:
        """Interrupt whatever runs (Ctrl-C) and enter the raw REPL; ``soft_reset`` gives a clean heap first.

        The byte sequence of mpremote's ``enter_raw_repl``, on its ``read_until``, without the ``print()`` it
        does on failure: quieting that with ``redirect_stdout`` swaps the global ``sys.stdout``, which races
        when several radios are handled in parallel threads (htctl bench of a batch).
        """
        t = self._t
        try:
            t.serial.write(b"\r\x03")                # interrupt any running program
            n = t.serial.in_waiting
            while n > 0:
                t.serial.read(n)
                n = t.serial.in_waiting
            t.serial.write(b"\r\x01")                # raw REPL
            if soft_reset:
                self._expect_raw_prompt()
                t.serial.write(b"\x04")              # soft reset; boot.py may print before the banner
                self._expect(b"soft reboot\r\n")
            self._expect_banner()                     # the ">" is left for exec_raw_no_follow to read
        except OSError as exc:
            raise DeviceError("lost the port %s: %s" % (self.port, exc), hint=_PORT_HINT) from None
        t.in_raw_repl = True

    def _expect_raw_prompt(self):
        # A radio whose main.py is just ending (e.g. right after a deploy's reset) can drop the Ctrl-A while
        # its REPL starts: the unix port flushes pending input when it sets up its terminal. Seeing the
        # friendly prompt instead of the raw banner, ask again (a board already in raw mode ignores it).
        t = self._t
        ending = _RAW_BANNER + b">"
        data = b""
        deadline = time.monotonic() + self.raw_timeout
        asked = 1
        while time.monotonic() < deadline:
            n = t.serial.in_waiting
            if n:
                data += t.serial.read(n)
                if data.endswith(ending):
                    return
                if data.endswith(b">>> ") and asked < 4:
                    t.serial.write(b"\r\x01")
                    asked += 1
            else:
                time.sleep(0.01)
        self._fail(ending, data)

    def _expect_banner(self):
        # The raw REPL's banner, asking again every 3 s while it has not come: a program that is still starting
        # (a virtual device on a loaded machine, a radio just reset) can lose the first Ctrl-C / Ctrl-A -- the
        # unix port flushes pending input when it sets up its terminal -- and would otherwise run on. A repeat
        # is harmless: Ctrl-C clears a raw REPL line and Ctrl-A there only prints the banner again.
        # Byte by byte, so the ">" after the banner stays unread for exec_raw_no_follow.
        t = self._t
        data = b""
        deadline = time.monotonic() + self.raw_timeout
        again = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            if t.serial.in_waiting:
                data += t.serial.read(1)
                if data.endswith(_RAW_BANNER):
                    return
                continue
            if time.monotonic() >= again:
                t.serial.write(b"\r\x03\r\x01")
                again = time.monotonic() + 3.0
            time.sleep(0.01)
        self._fail(_RAW_BANNER, data)

    def _expect(self, ending):
        data = self._t.read_until(1, ending, timeout_overall=self.raw_timeout)
        if not data.endswith(ending):
            self._fail(ending, data)

    def _fail(self, ending, data):
        seen = data[-200:].decode("utf-8", "replace").strip()
        raise DeviceError("no MicroPython REPL answered on %s (waited %d s for %r)%s"
                          % (self.port, self.raw_timeout, ending.decode().strip(),
                             ("; it sent: " + seen) if seen else ""),
                          hint="is MicroPython flashed and the board powered? Try the RST button, then "
                               "`mpremote connect %s repl`; " % self.port + _PORT_HINT)

    def _raw(self):
        if not self._t.in_raw_repl:
            self.enter_raw(soft_reset=False)

    # -- code -------------------------------------------------------------------------------------------------
    def exec(self, code: str, timeout: float = 10) -> bytes:
        """Run code in the raw REPL; returns its stdout (bytes). A device exception -> DeviceExecError."""
        self._raw()
        try:
            out, err = self._t.exec_raw(code, timeout=timeout)
        except (self._TransportError, OSError) as exc:
            raise DeviceError("device on %s stopped answering: %s" % (self.port, exc), hint=_PORT_HINT) from None
        if err:
            text = err.decode("utf-8", "replace")
            raise DeviceExecError("device raised %s" % _last_line(text), text)
        return out

    def eval(self, expr: str, timeout: float = 10) -> Any:
        out = self.exec("print(repr(%s))" % expr, timeout=timeout)
        return ast.literal_eval(out.decode().strip())

    def exec_json(self, code: str, timeout: float = 10) -> Any:
        """Run code that ends by printing one JSON document; returns it parsed."""
        out = self.exec(code, timeout=timeout).decode("utf-8", "replace").strip()
        try:
            return json.loads(out.splitlines()[-1])
        except (ValueError, IndexError):
            raise DeviceError("device answered with something that is not JSON: %r" % out[-200:]) from None

    # -- device facts -----------------------------------------------------------------------------------------
    def mpy_info(self) -> dict[str, Any]:
        """What .mpy this interpreter loads: {"arch": "xtensawin"|"x64"|None, "mpy": 6, "sub": 3, ...}."""
        info = self.exec_json(
            "import sys, json\n"
            "m = getattr(sys.implementation, '_mpy', 0)\n"
            "print(json.dumps({'mpy': m, 'platform': sys.platform, 'version': list(sys.implementation.version[:3]),"
            " 'machine': getattr(sys.implementation, '_machine', '')}))")
        m = info.pop("mpy")
        info.update({"mpy_version": m & 0xFF, "sub": (m >> 8) & 3, "arch": MPY_ARCHES.get(m >> 10)})
        return info

    # -- files ------------------------------------------------------------------------------------------------
    def sha256(self, paths: Sequence[str], timeout: float = 30) -> dict[str, str]:
        """{path: hex digest or None if missing}, computed on the device in one round trip."""
        if not paths:
            return {}
        code = ("import hashlib, binascii, json\n"
                "def _h(p):\n"
                " try:\n"
                "  f = open(p, 'rb')\n"
                " except OSError:\n"
                "  return None\n"
                " d = hashlib.sha256(); b = bytearray(512); mv = memoryview(b)\n"
                " while True:\n"
                "  n = f.readinto(b)\n"
                "  if not n:\n"
                "   break\n"
                "  d.update(mv[:n])\n"
                " f.close()\n"
                " return binascii.hexlify(d.digest()).decode()\n"
                "print(json.dumps(dict((p, _h(p)) for p in %s)))\n" % json.dumps(list(paths)))
        return self.exec_json(code, timeout=timeout)

    def makedirs(self, path: str) -> None:
        parts = [p for p in path.strip("/").split("/") if p]
        if not parts:
            return
        self.exec("import os\n"
                  "p = ''\n"
                  "for d in %s:\n"
                  " p += '/' + d\n"
                  " try:\n"
                  "  os.mkdir(p)\n"
                  " except OSError as e:\n"
                  "  if e.args[0] != 17:\n"
                  "   raise\n" % json.dumps(parts))

    def write_file(self, path: str, data: bytes, progress: Callable[[int], None] | None = None) -> None:
        """Write ``data`` to ``path`` via ``path.tmp`` + rename, in base64 chunks. ``progress(n)`` per chunk."""
        tmp = path + ".tmp"
        self.exec("import binascii, os\nf = open(%r, 'wb')\nw = f.write\na = binascii.a2b_base64" % tmp)
        try:
            for i in range(0, len(data), _CHUNK):
                chunk = data[i:i + _CHUNK]
                self.exec("w(a(%r))" % base64.b64encode(chunk).decode())
                if progress:
                    progress(len(chunk))
            # FAT refuses to rename over an existing file; LittleFS and VfsPosix replace it. The source is
            # given relative to "/": MicroPython's VfsPosix (the virtual device) loses an absolute *old*
            # path in rename (ENOENT), a relative one works on every port.
            rel = tmp.lstrip("/")
            self.exec("f.close()\n"
                      "os.chdir('/')\n"
                      "try:\n"
                      " os.rename(%r, %r)\n"
                      "except OSError:\n"
                      " os.remove(%r)\n"
                      " os.rename(%r, %r)\n" % (rel, path, path, rel, path))
        except DeviceError:
            with contextlib.suppress(DeviceError):
                self.exec("try:\n f.close()\nexcept Exception:\n pass\ntry:\n os.remove(%r)\nexcept OSError:\n pass"
                          % tmp)
            raise

    def read_file(self, path: str) -> bytes:
        self.exec("import binascii\nf = open(%r, 'rb')" % path)
        out = bytearray()
        while True:
            line = self.exec("print(binascii.b2a_base64(f.read(%d)).decode().strip())" % _CHUNK).strip()
            if not line:
                break
            out += base64.b64decode(line)
        self.exec("f.close()")
        return bytes(out)

    def remove(self, path: str) -> None:
        self.exec("import os\nos.remove(%r)" % path)

    def listdir(self, path: str = "/") -> dict[str, int]:
        """Recursive listing: {path: size} for files (directories are walked, not listed)."""
        return self.exec_json(
            "import os, json\n"
            "def _w(d, out):\n"
            " for e in os.ilistdir(d):\n"
            "  p = (d.rstrip('/') + '/' + e[0])\n"
            "  if e[1] & 0x4000:\n"
            "   _w(p, out)\n"
            "  else:\n"
            "   out[p] = os.stat(p)[6]\n"
            " return out\n"
            "print(json.dumps(_w(%r, {})))" % path)

    # -- reset -------------------------------------------------------------------------------------------------
    def soft_reset(self, wait_for: re.Pattern[bytes] | bytes | None = None, timeout: float = 20.0
                   ) -> bytes | tuple[bytes, re.Match[bytes]]:
        """Soft reset from the *friendly* REPL, so main.py runs (pyexec skips it after a raw-REPL reset).

        Returns the text printed after ``soft reboot``; with ``wait_for`` (bytes regex) waits until it
        matches and returns ``(text, match)``.
        """
        ser = self._t.serial
        if self._t.in_raw_repl:
            self._t.exit_raw_repl()
        else:
            ser.write(b"\r\x03")
        self._read_until(re.compile(rb">>> $"), 5.0, "the friendly REPL prompt")
        ser.write(b"\x04")
        text, _ = self._read_until(re.compile(rb"soft reboot\r\n"), 10.0, "soft reboot")
        if wait_for is None:
            return text
        pattern = re.compile(wait_for) if isinstance(wait_for, (bytes, str)) else wait_for
        return self._read_until(pattern, timeout, "the firmware banner")

    def _read_until(self, pattern, timeout, what):
        ser = self._t.serial
        data = bytearray()
        deadline = time.monotonic() + timeout
        while True:
            m = pattern.search(data)
            if m:
                return bytes(data), m
            if time.monotonic() > deadline:
                seen = bytes(data[-300:]).decode("utf-8", "replace")
                raise DeviceError("device on %s did not show %s within %.0f s" % (self.port, what, timeout),
                                  hint="it printed: %r" % seen if seen else "it printed nothing; " + _PORT_HINT)
            n = ser.in_waiting
            data += ser.read(n if n else 1)
