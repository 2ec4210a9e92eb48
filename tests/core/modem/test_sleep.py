# The modem's sleep between exchanges (ht.modem.sleep): DTR before every write, the UART's wake time,
# a module that woke itself (RI / URC) kept awake while the host reads. Portable (MicroPython too).
import asyncio
from ht.modem.sleep import ModemSleep, SleepUART, CMDS


class Clock:
    def __init__(self):
        self.t = 0

    def __call__(self):
        return self.t


class FakeUART:
    def __init__(self, lines):
        self.lines = list(lines)
        self.wrote = []

    async def read(self, n):
        await asyncio.sleep(0)
        return self.lines.pop(0) if self.lines else b""

    async def write(self, buf):
        self.wrote.append(bytes(buf))

    def close(self):
        pass


class FakeAT:
    def __init__(self, fail=False):
        self.sent = []
        self.fail = fail

    async def cmd(self, c):
        self.sent.append(c)
        if self.fail:
            raise OSError("ERROR")
        return []


def test_commands_per_family():
    assert CMDS["simcom"] == "AT+CSCLK=1" and CMDS["quectel"] == "AT+QSCLK=1"
    assert not ModemSleep(None, "simcom").capable          # no DTR wire: never sleeps
    assert not ModemSleep(lambda v: None, "other").capable


def test_sleeps_only_when_allowed_enabled_and_quiet():
    clk = Clock()
    dtr = []
    s = ModemSleep(dtr.append, "simcom", idle_ms=500, clock=clk)
    assert dtr == [1]
    clk.t = 1000
    assert not s.tick()                  # not allowed, not enabled
    s.allowed = True
    assert not s.tick()                  # slow clock not set yet
    asyncio.run(s.enable(FakeAT()))
    assert s.enabled
    s.touch()
    clk.t = 1400
    assert not s.tick()                  # quiet for 400 ms only
    clk.t = 1600
    assert s.tick() and dtr[-1] == 0 and not s.awake
    s.lost()                             # module rebooted: awake, slow clock to be set again
    assert s.awake and not s.enabled and dtr[-1] == 1


def test_enable_refused_is_retried_later():
    s = ModemSleep(lambda v: None, "quectel")
    at = FakeAT(fail=True)
    assert asyncio.run(s.enable(at)) is False and at.sent == ["AT+QSCLK=1"]
    at.fail = False
    assert asyncio.run(s.enable(at)) is True


def test_write_wakes_first_and_waits_for_the_uart():
    dtr = []
    s = ModemSleep(dtr.append, "simcom", wake_ms=30, idle_ms=0)
    s.allowed = s.enabled = True
    s.tick()
    assert not s.awake
    u = FakeUART([])
    su = SleepUART(u, s)

    async def go():
        from ht.compat import ticks_ms, ticks_diff
        t0 = ticks_ms()
        await su.write(b"AT\r")
        return ticks_diff(ticks_ms(), t0)
    waited = asyncio.run(go())
    assert dtr[-1] == 1 and u.wrote == [b"AT\r"] and s.wakes == 1
    assert waited >= 25


def test_bytes_from_a_sleeping_module_keep_it_awake_and_the_next_write_waits():
    dtr = []
    s = ModemSleep(dtr.append, "simcom", wake_ms=30, idle_ms=0)
    s.allowed = s.enabled = True
    s.tick()
    su = SleepUART(FakeUART([b"\r\n+CIPRXGET: 1,0\r\n"]), s)

    async def go():
        from ht.compat import ticks_ms, ticks_diff
        data = await su.read(64)
        t0 = ticks_ms()
        await su.write(b"AT+CIPRXGET=2,0,1460\r")
        return data, ticks_diff(ticks_ms(), t0)
    data, waited = asyncio.run(go())
    assert data.startswith(b"\r\n+CIPRXGET") and s.rx_wakes == 1 and dtr[-1] == 1
    assert waited >= 25                   # our DTR edge was just now: the UART needs its wake time
