"""The vdev bridge: the pty the user sees, the MicroPython unix interpreter on a private pty, and the thread
that joins them and makes the unix port behave like a board (see the package docstring for why each part).

The unix port speaks the friendly REPL, the raw REPL and raw-paste itself; the bridge adds what it lacks:
soft reset (Ctrl-D at an empty prompt makes it exit: restart it, print ``MPY: soft reboot``, re-enter the raw
REPL if that was active), Ctrl-C delivered as a board does, and output buffered while nobody has the port open.

Line ends as a board's: text is cooked (LF -> CRLF), ``sys.stdout.buffer`` and mpremote's protocols pass raw.
``print`` cooks inside the interpreter (termflags.BOOT_CODE); the bridge cooks only the friendly REPL's own text,
and not during a ``mount`` transaction (first byte 0x18, until the REPL waits for a line with nothing pending).
"""
from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import termios
import threading
import time
from typing import Any

from htctl.errors import DeviceError

from . import termflags
from .transcript import Transcript

_RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
_FRIENDLY_BANNER = b'Type "help()" for more information.\r\n'
_PROMPT_RE = re.compile(rb'MicroPython [^\r\n]*\r\nType "help\(\)" for more information\.\r\n>>> $')
_SOFT_REBOOT = b"MPY: soft reboot\r\n"
_LONE_LF = re.compile(rb"(?<!\r)\n")
_OUT_CAP = 256 * 1024
_RAW_RESTART_TIMEOUT_S = 10.0
_MIN_RESTART_GAP_S = 0.2
_START_TIMEOUT_S = 15
_CTRL_C_CHECK_S = 2.0
_CTRL_C_SETTLE_S = 0.05   # a byte written to the pty master reaches the slave's queue a little later


class Bridge:
    """Owns the user pty, the interpreter process and the thread that joins them.

    ``owner`` counts interpreter starts in ``owner.boots``; ``out`` is the :class:`Transcript`.
    """

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str, owner: Any) -> None:
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.owner = owner
        self.proc = None
        self.child_fd = None
        self.mode = "friendly"        # which REPL the interpreter was in, per its last banner
        self.phase = "run"            # starting | run | await_prompt | await_raw (raw REPL after reset)
        self.next_phase = "run"
        self.ready = threading.Event()
        self.phase_deadline = 0.0
        self.hold = bytearray()       # output held back while re-entering the raw REPL
        self.to_user = bytearray()
        self.to_child = bytearray()
        self.tail = b""               # last bytes seen, for banners split across reads
        self.last_cr = False
        self.binary = False           # a mount transaction (0x18 ...) in the friendly REPL: pass bytes raw
        self.last_start = 0.0
        self.ctrl_c_check = 0.0
        self.ctrl_c_sent = 0.0
        self.child_path = None
        self.out = Transcript()
        self.stopping = False
        self.thread = None
        self.pending_hard_reset = False
        self.crashed = None
        self.wake_r, self.wake_w = os.pipe()

    # -- public -------------------------------------------------------------------------------------------
    def start(self) -> str:
        self.user_fd, self.user_slave = os.openpty()
        # The user side behaves like a USB-serial port: no echo, no line editing, no CR/LF games. Keeping
        # our own slave fd open means the port survives mpremote closing it (no EIO/hangup between runs).
        termflags.set_raw(self.user_slave)
        termflags.nonblock(self.user_fd)
        self.path = os.ttyname(self.user_slave)
        self._spawn()
        self.thread = threading.Thread(target=self._loop, name="vdev-bridge", daemon=True)
        self.thread.start()
        if not self.ready.wait(_START_TIMEOUT_S):
            text = self.out.text()[-600:].decode("utf-8", "replace")
            self.stop()
            raise DeviceError("the MicroPython interpreter did not start within %d s" % _START_TIMEOUT_S,
                              hint="run `%s` by hand to see why; it printed: %r" % (self.argv[0], text))
        return self.path

    def stop(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        self.out.end()
        os.write(self.wake_w, b"x")
        if self.thread is not None:
            self.thread.join(10)
        self._kill_child()
        for fd in (self.user_fd, self.user_slave, self.wake_r, self.wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def hard_reset(self) -> None:
        self.pending_hard_reset = True
        os.write(self.wake_w, b"x")

    # -- interpreter process ------------------------------------------------------------------------------
    def _spawn(self, mode="friendly"):
        master, slave = os.openpty()
        termflags.set_raw(slave, child=True)  # no ISIG: Ctrl-C is the bridge's business, see _interrupt()
        env = dict(self.env)
        env["HT_VDEV_MODE"] = mode

        # Own session: killing its process group takes down anything the firmware started (os.system).
        self.proc = subprocess.Popen(self.argv, stdin=slave, stdout=slave, stderr=slave, cwd=self.cwd, env=env,
                                     start_new_session=True, close_fds=True)
        self.child_path = os.ttyname(slave)
        os.close(slave)
        termflags.nonblock(master)
        self.child_fd = master
        self.last_start = time.monotonic()
        self.owner.boots += 1
        self.phase = "starting"
        self.phase_deadline = time.monotonic() + _START_TIMEOUT_S
        self.next_phase = "await_prompt" if mode == "raw" else "run"
        self.hold = bytearray()
        self.binary = False

    def _started(self):
        try:
            up = termflags.started(self.child_fd)
        except (termios.error, OSError):
            return
        if up:
            self.phase = self.next_phase
            self.phase_deadline = time.monotonic() + _RAW_RESTART_TIMEOUT_S
            self.ready.set()
            self._scan_hold()

    def _kill_child(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
            self.proc = None
        if self.child_fd is not None:
            try:
                os.close(self.child_fd)
            except OSError:
                pass
            self.child_fd = None

    def _child_exited(self):
        # Unix port exits on Ctrl-D at an empty prompt, on SystemExit and on a crash: on the board each of
        # these is a soft reset, so restart in the REPL mode that was active (pyexec keeps it across resets).
        mode = self.mode
        self._kill_child()
        gap = time.monotonic() - self.last_start
        if gap < _MIN_RESTART_GAP_S:  # a crash loop must not spin a core
            time.sleep(_MIN_RESTART_GAP_S - gap)
        self._emit(_SOFT_REBOOT)
        self._spawn(mode)

    # -- the loop -----------------------------------------------------------------------------------------
    def _loop(self):
        try:
            self._serve()
        except Exception as exc:  # a bridge bug must not leave a silent, dead port behind
            self.crashed = exc
            self._emit(("\r\n[vdev bridge stopped: %s: %s]\r\n" % (type(exc).__name__, exc)).encode())
            self.out.end()
            raise

    def _serve(self):
        while not self.stopping:
            if self.pending_hard_reset:
                self.pending_hard_reset = False
                self._kill_child()
                self.mode = "friendly"
                self.to_child.clear()
                self._spawn("friendly")
            rfds = [self.user_fd, self.wake_r]
            wfds = []
            if self.child_fd is not None:
                rfds.append(self.child_fd)
                if self.to_child and self.phase == "run":
                    wfds.append(self.child_fd)
            if self.to_user:
                wfds.append(self.user_fd)
            if self.ctrl_c_check and self.child_fd is not None:
                self._check_ctrl_c()
            if self.phase == "starting" and self.child_fd is not None:
                self._started()
            elif self.phase == "run" and self.child_fd is not None and termflags.reset_requested(self.child_fd):
                self._child_exited()  # SystemExit in boot.py/main.py: see termflags.BOOT_CODE
                continue
            try:
                fast = self.phase == "starting" or self.to_child[:1] == b"\x03" or self.ctrl_c_check
                r, w, _ = select.select(rfds, wfds, [], 0.005 if fast else 0.1)
            except (OSError, ValueError):
                if self.stopping:
                    return
                raise
            if self.wake_r in r:
                os.read(self.wake_r, 64)
            if self.user_fd in r:
                self._read_user()
            if self.child_fd is not None and self.child_fd in r:
                self._read_child()
            elif self.binary and self.child_fd is not None and self._at_repl():
                self.binary = False   # the transaction is over: the REPL reads a line, nothing is pending
            if self.child_fd is not None and self.child_fd in w:
                self._feed_child()
            if self.user_fd in w:
                self._flush(self.user_fd, self.to_user)
            if self.phase == "starting" and time.monotonic() > self.phase_deadline:
                self.phase = self.next_phase  # never signalled (boot code broken?): stop holding input
            elif self.phase in ("await_prompt", "await_raw") and time.monotonic() > self.phase_deadline:
                # boot.py never reached the prompt (e.g. an endless loop): show what it printed and carry on.
                self._emit(bytes(self.hold))
                self.hold = bytearray()
                self.phase = "run"

    def _read_user(self):
        try:
            data = os.read(self.user_fd, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return  # no reader right now; our own slave keeps the pty alive
        self.to_child += data

    def _read_child(self):
        try:
            data = os.read(self.child_fd, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""  # EIO: the interpreter closed its terminal (exited)
        if not data:
            if self.proc is not None and self.proc.poll() is None:
                try:
                    self.proc.wait(2)
                except subprocess.TimeoutExpired:
                    pass
            self._child_exited()
            return
        if self.phase == "run" or (self.phase == "starting" and self.next_phase == "run"):
            self._emit(data)
            return
        self.hold += data
        self._scan_hold()

    def _at_repl(self):
        try:
            return termflags.at_repl(self.child_fd)
        except (termios.error, OSError):
            return False

    def _scan_hold(self):
        # Re-entering the raw REPL after a reset: swallow the friendly banner, send Ctrl-A, pass on from
        # "raw REPL; CTRL-B to exit" — what a board that stayed in raw mode prints.
        if self.phase == "await_prompt":
            m = _PROMPT_RE.search(self.hold)
            if m:
                self._emit(bytes(self.hold[:m.start()]))  # what boot.py printed
                self.hold = bytearray()
                self.phase = "await_raw"
                self._write_now(self.child_fd, b"\x01")
        elif self.phase == "await_raw":
            i = self.hold.find(_RAW_BANNER)
            if i >= 0:
                rest = bytes(self.hold[i:])
                self.hold = bytearray()
                self.phase = "run"
                self._emit(rest)

    @staticmethod
    def _write_now(fd, data):
        # A few control bytes; the pty has room unless the interpreter is gone (then EIO: give up).
        deadline = time.monotonic() + 1.0
        while data and time.monotonic() < deadline:
            try:
                data = data[os.write(fd, data):]
            except BlockingIOError:
                select.select([], [fd], [], 0.1)
            except OSError:
                return

    def _feed_child(self):
        # Everything up to a Ctrl-C goes to the interpreter as is; the Ctrl-C itself goes through _interrupt.
        # Inside a mount transaction the device has turned Ctrl-C off (mpremote's begin() calls
        # micropython.kbd_intr(-1)), so a 0x03 in mpremote's binary reply (a length, a stat mtime) is data.
        i = -1 if self.binary else self.to_child.find(b"\x03")
        if i != 0:
            part = bytearray(self.to_child[:i] if i > 0 else self.to_child)
            n = len(part)
            self._flush(self.child_fd, part)
            del self.to_child[:n - len(part)]
            return
        if self._interrupt():
            # A burst of Ctrl-C is one interrupt (a board merges them into one pending KeyboardInterrupt;
            # the unix port would exit on the second SIGINT).
            n = 1
            while self.to_child[n:n + 1] == b"\x03":
                n += 1
            del self.to_child[:n]

    def _interrupt(self):
        """Deliver one Ctrl-C the way a board does; False = not now, try again shortly.

        The unix port reads Ctrl-C as a character at the REPL (its raw mode has lflag 0) and only turns a
        SIGINT into KeyboardInterrupt while it runs code; between two runs SIGINT is SIG_DFL and would kill
        it. So: at the REPL send the byte; while code runs with the handler in place send SIGINT; otherwise
        wait. (A second SIGINT before MicroPython handled the first — microseconds — exits it; bursts in
        one write are merged by the caller, and an exit is restarted as a soft reset anyway.)
        """
        try:
            at_repl = termflags.at_repl(self.child_fd)
        except (termios.error, OSError):
            return False
        if at_repl:
            self._write_now(self.child_fd, b"\x03")
            # The REPL may have just taken a line and be about to run it: if the byte is still unread once
            # code runs, nobody will read it, so it must become a SIGINT after all (_check_ctrl_c).
            self.ctrl_c_sent = time.monotonic()
            self.ctrl_c_check = self.ctrl_c_sent + _CTRL_C_CHECK_S
            return True
        if not termflags.catches_sigint(self.proc.pid):
            return False
        self._sigint()
        return True

    def _sigint(self):
        try:
            os.kill(self.proc.pid, signal.SIGINT)
        except ProcessLookupError:
            pass

    def _check_ctrl_c(self):
        if time.monotonic() > self.ctrl_c_check:
            self.ctrl_c_check = 0.0
            return
        try:
            at_repl = termflags.at_repl(self.child_fd)
            unread = termflags.unread(self.child_path)
        except (termios.error, OSError):
            self.ctrl_c_check = 0.0
            return
        if not unread and at_repl and time.monotonic() - self.ctrl_c_sent > _CTRL_C_SETTLE_S:
            self.ctrl_c_check = 0.0            # the REPL read it and is still reading: it was for the REPL
        elif unread and not at_repl and termflags.catches_sigint(self.proc.pid):
            self.ctrl_c_check = 0.0            # code runs and the byte waits: interrupt the code
            self._sigint()

    @staticmethod
    def _flush(fd, buf):
        # On EIO (the interpreter is exiting) the bytes stay queued for the next one, as they would sit in
        # a UART FIFO across a reset.
        try:
            n = os.write(fd, bytes(buf[:4096]))
        except OSError:
            return
        del buf[:n]

    def _cook(self, data):
        # Only the friendly REPL's own text; raw REPL / raw-paste / mount bytes pass untouched.
        if self.mode != "friendly" or self.binary:
            return data
        i = data.find(b"\x18")
        if i >= 0:
            self.binary = True
            return self._cook(data[:i]) + data[i:]
        head = b""
        if self.last_cr and data[:1] == b"\n":  # a \r\n split across two reads
            head, data = b"\n", data[1:]
        return head + _LONE_LF.sub(b"\r\n", data)

    def _emit(self, data):
        """Device output: cook the friendly REPL's line ends, note the REPL mode, queue for the port, append to
        the transcript."""
        if not data:
            return
        out = self._cook(data)
        self.last_cr = out[-1:] == b"\r"
        seen = self.tail + out
        raw_at = seen.rfind(_RAW_BANNER)
        friendly_at = seen.rfind(_FRIENDLY_BANNER)
        if raw_at > friendly_at:
            self.mode = "raw"
        elif friendly_at > raw_at:
            self.mode = "friendly"
        self.tail = seen[-64:]
        self.to_user += out
        if len(self.to_user) > _OUT_CAP:
            del self.to_user[:len(self.to_user) - _OUT_CAP]
        self.out.append(out)
