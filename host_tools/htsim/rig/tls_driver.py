# TLS through the modem's own TLS stack (ht/modem/tls.py) against the modem emulator, which terminates
# real TLS (htsim.emu.tls). Runs unchanged under MicroPython unix (tests/e2e/test_modem_tls.py) and
# CPython (the same tests, bench/bench_tls.py). Prints one line: RESULT <json>.
# Usage: micropython tls_driver.py <dialect> <uart_port> <ctl_port> <port> <time_scale> <mode> <ca.pem>
#        [user password] [minutes]
#   echo    open TLS to a TLS echo server, 3000 binary bytes out and back, close
#   mqtt    MQTT CONNECT (user/password) over TLS to Mosquitto, subscribe, QoS 1 publish echoed back
#   refuse  the open must fail: report the reason the radio shows
#   talk    MQTT over TLS, then <minutes> of 25 voice frames a second published at QoS 0 (bench)
import sys
import json
import asyncio
from ht.compat import ticks_ms, ticks_diff
from ht.modem.uart import open_tcp
from ht.modem.lifecycle import Modem
from ht.modem.supervisor import Supervisor
from modem_driver import Ctl, pins_for, recv_all


def result(d):
    print("RESULT " + json.dumps(d))


class Run:
    def __init__(self, dialect, uart_port, ctl_port, port, scale, ca):
        self.dialect = dialect
        self.uart_port = uart_port
        self.ctl = Ctl(ctl_port)
        self.port = port
        self.scale = scale
        self.ca = ca
        self.out = {"dialect": dialect}

    async def start(self):
        uart = await open_tcp("127.0.0.1", self.uart_port)
        self.m = Modem(uart, self.dialect, pins_for(self.ctl), {"modem": {"apn": "internet"}},
                       scale=self.scale)
        self.m.tls.set_ca(self.ca)
        self.sup = Supervisor(self.m)
        self.sup.start()

    async def until(self, cond, real_s):
        t0 = ticks_ms()
        while not cond():
            if ticks_diff(ticks_ms(), t0) > real_s * 1000:
                return False
            await asyncio.sleep(0.01)
        return True

    def emu_s(self, t0):
        return ticks_diff(ticks_ms(), t0) / self.scale / 1000

    async def open(self, tries=3):
        # as the radio's MQTT client does, try again after a modem timeout (a loaded test machine can stall
        # the emulator past a scaled command timeout); a refusal by the modem is final
        for i in range(tries):
            t0 = ticks_ms()
            try:
                s = await self.sup.open("127.0.0.1", self.port, tls=True)
            except OSError as e:
                if i == tries - 1 or "timeout" not in str(e).lower():
                    raise
                self.out["retries"] = self.out.get("retries", 0) + 1
                continue
            self.out["open_s"] = self.emu_s(t0)
            self.out["open_wall_s"] = ticks_diff(ticks_ms(), t0) / 1000
            return s

    async def echo(self, n=3000):
        s = await self.open()
        data = (b"\r\nOK\r\n+CCHRECV: DATA,0,5\r\n+QSSLURC: \"closed\",4\r\n\x00\xff> " + bytes(range(256)))
        data = (data * (n // len(data) + 1))[:n]
        await s.send(data)
        got = await recv_all(s, len(data), 60000)
        await s.close()
        self.out["echo"] = got == data
        self.out["echo_len"] = len(got)

    async def mqtt(self, user, pw, minutes=0):
        from ht.mqtt.client import MQTTClient
        s = await self.open()
        got = []
        c = MQTTClient(user + "-tls", user=user, password=pw, keepalive=60)
        c.on_message = lambda t, p, r: got.append((bytes(t), bytes(p)))
        await c.connect(s)
        self.out["connected"] = True
        topic = ("ht/tls/" + user).encode()
        await c.subscribe(topic, 1)
        pid = await c.publish(topic, b"over tls", 1)
        self.out["acked"] = await c.wait_ack(pid, 60000)
        self.out["echoed"] = await self.until(lambda: len(got) > 0, 60) and got[0][1] == b"over tls"
        if minutes:
            await self.talk(c, minutes)
        await c.disconnect()
        await s.close()

    async def talk(self, c, minutes):
        # 25 frames/s of 140-byte payload (ADPCM 40 ms frames + header): emulated minutes at the scale
        frame = bytes(140)
        n = int(minutes * 60 * 25)
        tick = 0.04 * self.scale
        for _ in range(n):
            await c.publish(b"ht/tls/voice", frame, 0)
            await asyncio.sleep(tick)
        self.out["frames"] = n


async def main(argv):
    dialect, uart_port, ctl_port, port, scale, mode = (argv[0], int(argv[1]), int(argv[2]), int(argv[3]),
                                                       float(argv[4]), argv[5])
    ca = None
    if argv[6] != "-":
        with open(argv[6], "rb") as f:
            ca = f.read()
    r = Run(dialect, uart_port, ctl_port, port, scale, ca)
    await r.start()
    try:
        up = await r.until(lambda: r.m.link.data_up, 120)
        r.out["up"] = up
        if not up:
            return r.out
        if mode == "echo":
            await r.echo()
        elif mode in ("mqtt", "talk"):
            await r.mqtt(argv[7], argv[8], float(argv[9]) if len(argv) > 9 else 0)
        elif mode == "refuse":
            try:
                s = await r.open()
                r.out["refused"] = False
                await s.close()
            except OSError as e:
                r.out["refused"] = True
                r.out["reason"] = list(getattr(e, "reason", (str(e), str(e))))
                r.out["last"] = list(r.m.tls.last or ())
        r.out["at_errors"] = r.m.at.errors
        r.out["badlen"] = r.m.at.badlen
        r.out["opens"] = r.m.tls.opens
        r.out["ca_written"] = r.m.tls.written
    finally:
        r.sup.stop()
    return r.out


if __name__ == "__main__":
    result(asyncio.run(main(sys.argv[1:])))
