"""How the vdev bridge and the MicroPython interpreter signal each other, and the pty set-up they share.

The unix port gives no hook for "Python code is running now" or "this was a soft reset", so the boot code
(run with ``-c`` before the REPL) sets iflag bits on its own terminal that nothing else touches in raw mode
(IUTF8: started; IMAXBEL: soft reset asked for), and the bridge reads them with ``tcgetattr``. The lflag tells
"REPL reading a line" (0) apart from "running code" (the bits :func:`set_raw` leaves on the child side).
"""
from __future__ import annotations

import fcntl
import os
import signal
import struct
import termios
import tty

IUTF8 = getattr(termios, "IUTF8", 0o40000)  # Linux value; CPython 3.11's termios does not export it

# Runs inside MicroPython (-c) before the REPL. Its first act sets IUTF8 on the interpreter's terminal (an
# iflag bit the REPL's raw mode leaves alone): the bridge holds all input until it sees it, because before
# this point a Ctrl-C would reach the CPython host of the interpreter, not MicroPython. Then it makes the
# flash folder the whole visible filesystem, sets sys.path like the ESP32 port ('', '.frozen', '/lib') and
# runs boot.py / main.py the way pyexec does: an uncaught exception is printed and the REPL follows;
# SystemExit (sys.exit(), machine.soft_reset()) is a soft reset: with -i the unix port would just enter the
# REPL, so the code sets IMAXBEL (another iflag bit nothing else uses in raw mode) and waits for the bridge
# to restart it. Names are deleted afterwards so the REPL starts with clean globals.
# Line ends as on a board: the ESP32 port cooks text (print, tracebacks: LF -> CRLF) but writes
# sys.stdout.buffer raw; the unix port writes everything raw (it leaves cooking to the terminal), so the boot
# code replaces print() with one that cooks and the bridge passes the byte stream through (bridge._emit).
BOOT_CODE = """\
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
def _vdev_cook():
    import builtins, io, sys
    plain = builtins.print
    def cooked(*a, sep=' ', end='\\n', file=None):
        if file is not None and file is not sys.stdout and file is not sys.stderr:
            return plain(*a, sep=sep, end=end, file=file)
        b = io.StringIO()
        plain(*a, sep=sep, end=end, file=b)
        (file or sys.stdout).write(b.getvalue().replace('\\n', '\\r\\n'))
    builtins.print = cooked
_vdev_cook()
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
        b = __import__('io').StringIO()
        sys.print_exception(e, b)
        sys.stdout.write(b.getvalue().replace('\\n', '\\r\\n'))
_vdev_run('boot.py', globals())
if os.getenv('HT_VDEV_MODE') != 'raw':
    _vdev_run('main.py', globals())
del _vdev_run, _vdev_reset, _vdev_cook, os, sys
""" % (IUTF8, termios.IMAXBEL)


def set_raw(fd: int, child: bool = False) -> None:
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[0] &= ~(IUTF8 | termios.IMAXBEL)
    if child:
        # A non-zero lflag (these bits do nothing without ECHO/ICANON) tells "running code" apart from
        # "REPL reading a line", where MicroPython sets lflag to 0.
        attrs[3] |= termios.ECHOKE | termios.ECHOCTL
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def started(fd: int) -> bool:
    """The boot code set IUTF8: MicroPython is running Python code, input may flow (OSError if it is gone)."""
    return bool(termios.tcgetattr(fd)[0] & IUTF8)


def reset_requested(fd: int) -> bool:
    """SystemExit in boot.py/main.py: the boot code set IMAXBEL and waits to be restarted."""
    try:
        return bool(termios.tcgetattr(fd)[0] & termios.IMAXBEL)
    except (termios.error, OSError):
        return False  # the process is going away; EIO on read will tell


def at_repl(fd: int) -> bool:
    """The REPL is reading a line (MicroPython's raw mode has lflag 0); termios.error/OSError if gone."""
    return termios.tcgetattr(fd)[3] == 0


def unread(path: str) -> int:
    """Bytes waiting in the interpreter's terminal input queue (OSError if it is gone)."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        return struct.unpack("i", fcntl.ioctl(fd, termios.TIOCINQ, b"\0\0\0\0"))[0]
    finally:
        os.close(fd)


def catches_sigint(pid: int) -> bool:
    # /proc/<pid>/status "SigCgt" is the mask of signals with a handler installed (bit n-1 for signal n).
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    except (OSError, ValueError):
        pass
    return False


def nonblock(fd: int) -> None:
    fl = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, fl | os.O_NONBLOCK)
