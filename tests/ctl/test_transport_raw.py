"""Entering the raw REPL survives a REPL that drops the first Ctrl-A while it starts (the unix port flushes
pending input when its REPL sets up the terminal; seen once in a full run right after a deploy's reset)."""
import pytest

from htctl.errors import DeviceError
from htctl.transport import DeviceTransport, _RAW_BANNER


class FlakyREPL:
    """A serial line to a REPL that answers the first `drop` Ctrl-As with the friendly prompt only."""

    def __init__(self, drop):
        self.drop = drop
        self.out = bytearray(b"HT firmware 0.1.0\r\n")
        self.written = bytearray()

    @property
    def in_waiting(self):
        return len(self.out)

    def read(self, n):
        data = bytes(self.out[:n])
        del self.out[:n]
        return data

    def write(self, data):
        self.written += data
        if b"\x01" in data:
            if self.drop:
                self.drop -= 1
                self.out += b"\r\nMicroPython v1.28 on linux\r\n>>> "
            else:
                self.out += _RAW_BANNER + b">"
        if b"\x04" in data:
            self.out += b"OK\r\nMPY: soft reboot\r\n" + _RAW_BANNER


class Lines:
    def __init__(self, serial):
        self.serial = serial
        self.in_raw_repl = False

    def read_until(self, min_bytes, ending, timeout_overall=None):
        buf = bytes(self.serial.out)
        i = buf.find(ending)
        n = len(buf) if i < 0 else i + len(ending)
        return self.serial.read(n)


def transport(drop, timeout=2):
    t = DeviceTransport.__new__(DeviceTransport)
    t.port = "/dev/fake"
    t.raw_timeout = timeout
    t._t = Lines(FlakyREPL(drop))
    return t


def test_a_dropped_ctrl_a_is_asked_again_and_the_raw_repl_is_entered():
    t = transport(drop=1)
    t.enter_raw(soft_reset=True)
    assert t.in_raw_repl
    assert t._t.serial.written.count(b"\x01") == 2


def test_a_repl_that_never_enters_raw_mode_is_a_clear_device_error():
    t = transport(drop=99, timeout=1)
    with pytest.raises(DeviceError) as e:
        t.enter_raw(soft_reset=True)
    assert "no MicroPython REPL answered" in str(e.value) and ">>>" in str(e.value)
    assert t._t.serial.written.count(b"\x01") == 4   # asked three more times, then gave up
