# Drives the firmware modem layer against the modem emulator and prints one JSON line of results.
# Runs unchanged under MicroPython unix (spawned by tests/e2e/test_modem_emu.py) and CPython (imported
# by the same tests and by bench/bench_modem.py). The emulator's TCP "UART" is the modem cable;
# its control port plays the board: pins (PWRKEY/RESET/POWERON) and injected faults.
# Usage: micropython modem_driver.py <dialect> <uart_port> <ctl_port> <echo_port>
#        <time_scale> <step,step,...>     steps: boot echo hang sim reg pdp sock reboot garbage
#        [frames=N] [mode=duplex|tx|rx]   (throughput of 200-byte frames for N seconds)
import sys
import json
import socket
import asyncio
from ht.compat import ticks_ms, ticks_diff
from ht.modem.uart import open_tcp
from ht.modem.lifecycle import Modem
from ht.modem.supervisor import Supervisor
from ht.modem import link as L


class Ctl:
    # the emulator's control port: one request line, one reply line
    def __init__(self, port):
        self.s = socket.socket()
        self.s.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])

    def __call__(self, line):
        self.s.send((line + "\n").encode())
        out = b""
        while not out.endswith(b"\n"):
            c = self.s.recv(256)
            if not c:
                break
            out += c
        if not out.startswith(b"ok") and not line.startswith("status"):
            raise OSError("emulator control: %s -> %s" % (line, out))
        return out.decode().strip()


async def recv_all(s, n, limit_ms):
    # What a stream gives until n bytes, its end, or limit_ms (a short result is the caller's finding).
    got = b""
    t0 = ticks_ms()
    while len(got) < n and ticks_diff(ticks_ms(), t0) < limit_ms:
        d = await s.recv(4096)
        if not d:
            break
        got += d
    return got


def pins_for(ctl):
    # asserted/released straight onto the emulator's board pins (1 = pressed / on / in reset)
    def pin(name):
        return lambda level: ctl("pin %s %d" % (name, level))
    return {"pwrkey": pin("PWRKEY"), "reset": pin("RESET"), "poweron": pin("POWERON")}


class Run:
    def __init__(self, dialect, uart_port, ctl_port, echo_port, scale):
        self.dialect = dialect
        self.uart_port = uart_port
        self.ctl = Ctl(ctl_port)
        self.echo_port = echo_port
        self.scale = scale
        self.out = {"dialect": dialect, "scale": scale, "steps": {}}
        self.states = []

    def secs(self, t0, pulsed_ms=0):
        # emulated seconds: wall time divided by the emulator's time scale, except PWRKEY/RESET
        # pulses, which take real time at any scale (the emulator times them by the wall clock)
        wall = ticks_diff(ticks_ms(), t0) - pulsed_ms
        return (wall / self.scale + pulsed_ms) / 1000

    async def until(self, cond, real_s):
        t0 = ticks_ms()
        while not cond():
            if ticks_diff(ticks_ms(), t0) > real_s * 1000:
                return False
            await asyncio.sleep(0.01)
        return True

    async def start(self):
        uart = await open_tcp("127.0.0.1", self.uart_port)
        self.m = Modem(uart, self.dialect, pins_for(self.ctl), {"modem": {"apn": "internet"}},
                       scale=self.scale)
        self.m.link.subscribe(lambda lk: self.states.append(lk.state))
        self.sup = Supervisor(self.m)
        self.sup.start()

    async def echo(self, n=1024):
        # binary payload that looks like AT traffic, to prove raw reads are byte-exact
        s = await self.sup.open("127.0.0.1", self.echo_port)
        data = (b"\r\nOK\r\n+CIPRXGET: 1,0\r\n\x00\xff> " + bytes(range(256))) * (n // 280 + 1)
        data = data[:n]
        await s.send(data)
        got = await recv_all(s, len(data), 30000)
        await s.close()
        return got == data

    async def recover(self, name, inject, mid=None, mid_state=None):
        # fault -> DATA_UP again (a new data generation), in emulated seconds
        gen = self.m.link.generation
        n0 = len(self.states)
        p0 = self.m.pulsed_ms
        t0 = ticks_ms()
        self.ctl(inject)
        ok = True
        if mid_state is not None:
            ok = await self.until(lambda: mid_state in self.states[n0:], 60)
        if mid is not None:
            self.ctl(mid)
        ok = ok and await self.until(lambda: self.m.link.generation > gen and self.m.link.data_up, 90)
        r = {"recovered": ok, "s": self.secs(t0, self.m.pulsed_ms - p0)}
        if ok:
            r["echo"] = await self.echo(600)
        self.out["steps"][name] = r

    async def frames(self, n_s, mode):
        # 200-byte voice-sized frames for n_s wall seconds. mode "duplex": send and receive at once
        # through the echo server; "tx": send only (the server discards); "rx": receive only (the
        # server streams). PTT is half duplex, so tx and rx are what a talker / listener needs.
        s = await self.sup.open("127.0.0.1", self.echo_port)
        frame = bytes(range(200))
        sent = [0]
        got = [0]
        stop = [False]

        async def tx():
            while not stop[0]:
                await s.send(frame)
                sent[0] += 1

        async def rx():
            while not stop[0]:
                d = await s.recv(4096)
                if not d:
                    break
                got[0] += len(d)
        t0 = ticks_ms()
        tasks = []
        if mode != "rx":
            tasks.append(asyncio.create_task(tx()))
        if mode != "tx":
            tasks.append(asyncio.create_task(rx()))
        await asyncio.sleep(n_s)
        stop[0] = True
        dt = ticks_diff(ticks_ms(), t0) / 1000
        sent[0] -= len(getattr(s, "_txq", b"")) / 200   # queued in the socket, not yet sent
        for t in tasks:
            t.cancel()
        await s.close()
        self.out["frames_tx_per_s"] = sent[0] / dt
        self.out["frames_rx_per_s"] = got[0] / 200 / dt


async def scenario(dialect, uart_port, ctl_port, echo_port, scale, steps, frames_s=0, mode="duplex"):
    r = Run(dialect, uart_port, ctl_port, echo_port, scale)
    t0 = ticks_ms()
    await r.start()
    try:
        up = await r.until(lambda: r.m.link.data_up, 60)
        r.out["boot"] = {"up": up, "s": r.secs(t0, r.m.pulsed_ms), "info": r.m.info.get("iccid")}
        if not up:
            return r.out
        for st in steps:
            if st == "echo":
                r.out["steps"]["echo"] = {"ok": await r.echo(4000)}
            elif st == "hang":
                await r.recover("hang", "fault hang")
                r.out["steps"]["hang"]["cycles"] = r.sup.cycles
            elif st == "sim":
                await r.recover("sim", "fault sim_remove", "fault sim_insert", L.NO_SIM)
            elif st == "reg":
                await r.recover("reg", "fault reg_lost duration_s=5", None, L.SEARCHING)
            elif st == "pdp":
                await r.recover("pdp", "fault pdp_drop")
            elif st == "reboot":
                await r.recover("reboot", "fault reboot")
            elif st == "garbage":
                r.ctl("fault garbage n=500")
                r.out["steps"]["garbage"] = {"echo": await r.echo(800)}
            elif st == "sock":
                s = await r.sup.open("127.0.0.1", r.echo_port)
                r.ctl("fault socket_close")
                t1 = ticks_ms()
                d = await s.recv(100)
                r.out["steps"]["sock"] = {"eof": d == b"", "s": r.secs(t1), "echo": await r.echo(600)}
                await s.close()
        if frames_s:
            await r.frames(frames_s, mode)
    finally:
        r.out["states"] = r.states
        r.out["at"] = {"timeouts": r.m.at.timeouts, "errors": r.m.at.errors, "stray": r.m.at.stray,
                       "overlong": r.m.at.overlong}
        r.sup.stop()
    return r.out


def main(argv):
    dialect, uart_port, ctl_port, echo_port, scale = argv[0], int(argv[1]), int(argv[2]), int(argv[3]), float(argv[4])
    steps = [s for s in argv[5].split(",") if s] if len(argv) > 5 else []
    frames_s = 0
    mode = "duplex"
    for a in argv[6:]:
        if a.startswith("frames="):
            frames_s = float(a[7:])
        elif a.startswith("mode="):
            mode = a[5:]
    out = asyncio.run(scenario(dialect, uart_port, ctl_port, echo_port, scale, steps, frames_s, mode))
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
