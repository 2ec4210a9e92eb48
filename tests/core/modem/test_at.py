# Portable tests of the AT engine, parsers and dialects against a ten-line fake UART.
# Run by pytest on CPython and again under MicroPython (tests/test_mpy_tier.py).
import asyncio
from ht.modem import parse as P
from ht.modem import dialects
from ht.modem.at import AT, ModemError


class FakeUART:
    # The modem side: replies[cmd] is bytes, (prompt, after_payload) or fn(fake, cmd) -> bytes.
    def __init__(self, replies, chunk=512):
        self.replies = replies
        self.chunk = chunk
        self.rx = b""
        self.ev = asyncio.Event()
        self.sent = []
        self.payloads = []
        self.after = None

    def push(self, b):
        self.rx += b
        self.ev.set()

    async def read(self, n):
        while not self.rx:
            self.ev.clear()
            await self.ev.wait()
        out = self.rx[:min(n, self.chunk)]
        self.rx = self.rx[len(out):]
        return out

    async def write(self, buf):
        if self.after is not None:
            self.payloads.append(bytes(buf))
            self.push(self.after)
            self.after = None
            return
        cmd = bytes(buf).decode().strip()
        self.sent.append(cmd)
        r = self.replies.get(cmd)
        if callable(r):
            r = r(self, cmd)
        if isinstance(r, tuple):
            self.after = r[1]
            r = r[0]
        if r:
            self.push(r)


def run(replies, body, dialect="A7670", chunk=512):
    urcs = []
    fake = FakeUART(replies, chunk)
    at = AT(fake, dialects.get(dialect), urcs.append)
    return _drive(at, body, at, fake), urcs, fake, at


def _drive(at, body, *args):
    # The AT engine's reader runs for the length of body(*args) and is stopped even when body fails.
    async def main():
        at.start()
        try:
            return await body(*args)
        finally:
            at.stop()
    return asyncio.run(main())


def test_response_lines_and_ok():
    async def body(at, fake):
        return await at.cmd("AT+CSQ", "+CSQ:")
    r, urcs, _, _ = run({"AT+CSQ": b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"}, body)
    assert r == ["+CSQ: 20,99"]
    assert P.csq_dbm(r[0]) == -73


def test_bare_response_and_echo_survive_byte_by_byte():
    async def body(at, fake):
        return await at.cmd("AT+CIMI", "")
    r, _, _, _ = run({"AT+CIMI": b"AT+CIMI\r\r\n510101234567890\r\n\r\nOK\r\n"}, body, chunk=1)
    assert r == ["510101234567890"]


def test_cme_error_text_and_number():
    async def body(at, fake):
        out = []
        for c in ("AT+CPIN?", "AT+X", "AT+Y", "AT+CMGS"):
            try:
                await at.cmd(c)
            except ModemError as e:
                out.append((e.code, e.text))
        return out
    r, _, _, _ = run({"AT+CPIN?": b"\r\n+CME ERROR: SIM not inserted\r\n", "AT+X": b"\r\nERROR\r\n",
                      "AT+Y": b"\r\n+CME ERROR: 12\r\n", "AT+CMGS": b"\r\n+CMS ERROR: 500\r\n"}, body)
    assert r == [(10, "SIM not inserted"), (-1, "ERROR"), (12, "12"), (500, "500")]


def test_urc_between_command_and_ok_is_routed_not_returned():
    async def body(at, fake):
        return await at.cmd("AT+CSQ", "+CSQ:")
    reply = b"\r\n+CSQ: 20,99\r\n\r\n+CEREG: 1,\"1A2B\",\"01A2B3C4\",7\r\n\r\n*ATREADY: 1\r\nOK\r\n"
    r, urcs, _, _ = run({"AT+CSQ": reply}, body)
    assert r == ["+CSQ: 20,99"]
    assert urcs == ['+CEREG: 1,"1A2B","01A2B3C4",7', "*ATREADY: 1"]


def test_cereg_urc_form_during_cereg_read_is_not_the_response():
    async def body(at, fake):
        return await at.cmd("AT+CEREG?", "+CEREG:")
    reply = b'\r\n+CEREG: 5,"00FF","0000ABCD",7\r\n+CEREG: 2,1,"1A2B","01A2B3C4",7\r\n\r\nOK\r\n'
    r, urcs, _, _ = run({"AT+CEREG?": reply}, body)
    assert r == ['+CEREG: 2,1,"1A2B","01A2B3C4",7']
    assert P.cereg_stat(r[0]) == 1
    assert urcs == ['+CEREG: 5,"00FF","0000ABCD",7'] and P.cereg_stat(urcs[0]) == 5


def test_cereg_forms():
    assert P.cereg_stat("+CEREG: 0,1") == 1            # read, no location
    assert P.cereg_stat("+CEREG: 2,5,\"1A\",\"2B\",7") == 5
    assert P.cereg_stat("+CEREG: 3") == 3              # URC, short
    assert P.cereg_stat('+CEREG: 1,"1A2B","01A2B3C4",7') == 1
    assert P.cereg_stat("+CEREG:") is None and P.cereg_stat("+CEREG: x,") is None


def test_raw_payload_with_ok_inside_is_binary_safe():
    data = b"\r\nOK\r\n\x00\xff+CEREG: 1\r\n"
    reply = b"\r\n+CIPRXGET: 2,0,%d,0\r\n" % len(data) + data + b"\r\nOK\r\n"

    async def body(at, fake):
        lines = await at.cmd("AT+CIPRXGET=2,0,1460", "+CIPRXGET:", raw=lambda s: P.num(P.fields(s)[2], 0))
        return lines, bytes(at.raw)
    for chunk in (1, 7, 512):
        (lines, raw), urcs, _, _ = run({"AT+CIPRXGET=2,0,1460": reply}, body, chunk=chunk)
        assert raw == data and urcs == []


def test_quectel_qird_raw_and_send_ok():
    async def body(at, fake):
        await at.cmd("AT+QIRD=0,1500", "+QIRD:", raw=lambda s: P.num(P.fields(s)[0], 0))
        got = bytes(at.raw)
        await at.cmd("AT+QISEND=0,3", payload=b"a\rb")
        return got
    replies = {"AT+QIRD=0,1500": b"\r\n+QIRD: 4\r\nab\r\n\r\nOK\r\n",
               "AT+QISEND=0,3": (b"\r\n> ", b"\r\nSEND OK\r\n")}
    r, _, fake, _ = run(replies, body, "EC200U")
    assert r == b"ab\r\n" and fake.payloads == [b"a\rb"]


def test_prompt_then_error_raises_instead_of_hanging():
    async def body(at, fake):
        try:
            await at.cmd("AT+CIPSEND=0,5", payload=b"hello", timeout_ms=500)
        except ModemError as e:
            return e.code
    r, _, fake, _ = run({"AT+CIPSEND=0,5": b"\r\nERROR\r\n"}, body)
    assert r == -1 and fake.payloads == []


def test_garbage_nul_overlong_then_normal_command():
    async def body(at, fake):
        fake.push(b"\x00\x00\xff\xfe garbage\r\n" + b"x" * 5000 + b"\r\n+CPIN: SIM REMOVED\r\n")
        return await at.cmd("AT", None)
    r, urcs, _, at = run({"AT": b"\r\nOK\r\n"}, body)
    assert r == [] and at.overlong == 1
    assert "+CPIN: SIM REMOVED" in urcs


def test_timeout_then_late_ok_is_not_credited_to_next_command():
    def slow(fake, cmd):
        return None    # silent: the OK comes later, out of turn

    async def body(at, fake):
        try:
            await at.cmd("AT+COPS=0", timeout_ms=50)
        except asyncio.TimeoutError:
            pass
        fake.push(b"\r\nOK\r\n")          # the late final of AT+COPS=0
        await asyncio.sleep(0.01)
        fake.replies["AT+CPIN?"] = b"\r\n+CME ERROR: 10\r\n"
        try:
            await at.cmd("AT+CPIN?", "+CPIN:")
        except ModemError as e:
            return e.code
    r, _, fake, at = run({"AT+COPS=0": slow, "AT": b"\r\nOK\r\n"}, body)
    assert r == 10 and at.stray == 1


def test_multiline_cusd_delivered_whole():
    async def body(at, fake):
        w = at.waiter("+CUSD:")
        await at.cmd('AT+CUSD=1,"*888#",15')
        return await at.wait(w, 1000)
    reply = b'\r\nOK\r\n\r\n+CUSD: 0,"Sisa pulsa Rp.12.500\r\nKuota 1.5GB\r\nAktif sd 31/12/2026",15\r\n'
    r, _, _, _ = run({'AT+CUSD=1,"*888#",15': reply}, body)
    assert r.startswith("+CUSD: 0,") and "Aktif sd 31/12/2026" in r


def test_async_result_urc_waiter():
    async def body(at, fake):
        w = at.waiter("+CIPOPEN: 1,")
        await at.cmd('AT+CIPOPEN=1,"TCP","h",1')
        return await at.wait(w, 1000)
    r, urcs, _, _ = run({'AT+CIPOPEN=1,"TCP","h",1': b"\r\nOK\r\n\r\n+CIPOPEN: 1,0\r\n"}, body)
    assert r == "+CIPOPEN: 1,0"


def test_cclk_wib_and_unsynced():
    t = P.cclk('+CCLK: "26/11/29,23:10:05+28"')
    assert t[1] == 28 and t[2] == (2026, 11, 29, 23, 10, 5)
    assert t[0] == 1795968605                     # 2026-11-29 16:10:05 UTC (WIB is UTC+7)
    assert P.cclk('+CCLK: "80/01/06,00:00:12+00"') is None
    assert P.cclk("+CCLK: garbage") is None


def test_signal_scaling_per_dialect():
    cpsi = "+CPSI: LTE,Online,510-10,0x1A2B,12345678,123,EUTRAN-BAND3,1300,5,5,-94,-848,-600,15"
    s = dialects.get("SIM7600").parse_cell(cpsi)
    assert s["rsrp"] == -84.8 and s["rsrq"] == -9.4 and s["rssi"] == -60.0 and s["sinr"] == 15
    q = '+QENG: "servingcell","NOCONN","LTE","FDD",510,10,1A2B3C4,123,1300,3,5,5,1A2B,-97,-11,-65,12,30'
    s = dialects.get("EG91").parse_cell(q)
    assert s == {"rsrp": -97, "rsrq": -11, "rssi": -65, "sinr": 12}
    assert P.cesq("+CESQ: 99,99,255,255,20,50") == {"rsrq": -10.0, "rsrp": -91}
    assert P.bars(-84.8) == 5 and P.bars(-130) == 0 and P.bars(None, -80) == 3


def test_dialect_registry_and_prefixes():
    assert dialects.get("A7670G-LLSE").name == "A7670"
    assert dialects.get("ec200u").iccid_cmd == "AT+QCCID"
    assert dialects.get("SIM7600").iccid(["+ICCID: 8962100000000000001F"]) == "8962100000000000001"
    try:
        dialects.get("NOPE")
        assert False
    except ValueError:
        pass
    q = dialects.get("EG91")
    assert q.parse_retries(['+QPINC: "SC",2,10', '+QPINC: "P2",3,10']) == (2, 10)
    assert dialects.get("A7670").parse_retries(["+SPIC: 1,10,3,10"]) == (1, 10)


def _sock_run(dialect, replies, body):
    from ht.modem import sockets as atsock
    fake = FakeUART(replies)
    d = dialects.get(dialect)
    counted = []
    net = atsock.make(None, d, lambda tx, rx: counted.append((tx, rx)))
    at = AT(fake, d, net.on_urc)
    net.at = at
    return _drive(at, body, net, fake), counted


def test_simcom_socket_stream_contract():
    data = b"\r\nOK\r\n\x00binary"

    def read(fake, cmd):
        if fake.rx_left:
            fake.rx_left = 0
            return b"\r\n+CIPRXGET: 2,0,%d,0\r\n" % len(data) + data + b"\r\nOK\r\n"
        return b"\r\nERROR\r\n"        # some builds: "+IP ERROR: No data"
    replies = {'AT+CIPOPEN=0,"TCP","10.0.0.1",1883': b"\r\nOK\r\n\r\n+CIPOPEN: 0,0\r\n",
               "AT+CIPSEND=0,5": (b"\r\n>", b"\r\nOK\r\n\r\n+CIPSEND: 0,5,5\r\n"),
               "AT+CIPRXGET=2,0,1460": read, "AT+CIPCLOSE=0": b"\r\nOK\r\n",
               "AT+CIPCLOSE?": b"\r\n+CIPCLOSE: 1,0,0,0,0,0,0,0,0,0\r\n\r\nOK\r\n"}

    async def body(net, fake):
        fake.rx_left = 0
        s = await net.open("10.0.0.1", 1883)
        await s.send(b"hello")
        fake.rx_left = 1
        fake.push(b"\r\n+CIPRXGET: 1,0\r\n")
        got = await s.recv(100)
        empty = await net.read(s)                   # ERROR on an empty buffer: still open
        still_open = not s.peer_closed
        fake.push(b"\r\n+IPCLOSE: 0,1\r\n")
        eof = await s.recv(100)
        await s.close()
        await s.close()                             # idempotent
        try:
            await s.send(b"x")
            sent_after_close = True
        except OSError:
            sent_after_close = False
        return got, empty, still_open, eof, sent_after_close, fake.payloads
    (got, empty, still_open, eof, sac, payloads), counted = _sock_run("A7670", replies, body)
    assert got == data and empty == (b"", False) and still_open
    assert eof == b"" and not sac and payloads == [b"hello"]
    assert counted == [(5, 0), (0, len(data))]


def test_quectel_socket_open_error_and_drop_all():
    replies = {'AT+QIOPEN=1,0,"TCP","10.0.0.1",1883,0,0': b"\r\nOK\r\n\r\n+QIOPEN: 0,566\r\n",
               'AT+QIOPEN=1,0,"TCP","10.0.0.1",1884,0,0': b"\r\nOK\r\n\r\n+QIOPEN: 0,0\r\n",
               "AT+QICLOSE=0": b"\r\nOK\r\n"}

    async def body(net, fake):
        try:
            await net.open("10.0.0.1", 1883)
            refused = False
        except OSError as e:
            refused = "566" in str(e)
        s = await net.open("10.0.0.1", 1884)
        net.drop_all("pdp gone")
        try:
            await s.recv(10)
            return refused, False
        except OSError as e:
            return refused, "pdp gone" in str(e)
    (refused, dead), _ = _sock_run("EC200U", replies, body)
    assert refused and dead


def test_stream_drop_fails_the_command_then_engine_listens_again():
    class Dropping(FakeUART):
        drops = 1

        async def read(self, n):
            if self.drops:
                await asyncio.sleep(0.01)
                self.drops -= 1
                return b""          # the TCP "UART" to the emulator went away for a moment
            return await FakeUART.read(self, n)

    async def body(at, fake):
        try:
            await at.cmd("AT", timeout_ms=2000)
            first = "ok"
        except OSError:
            first = "oserror"
        await asyncio.sleep(0.6)
        return first, await at.cmd("AT+CSQ", "+CSQ:")
    urcs = []
    fake = Dropping({"AT": b"", "AT+CSQ": b"\r\n+CSQ: 5,99\r\n\r\nOK\r\n"})
    at = AT(fake, dialects.get("A7670"), urcs.append)
    assert _drive(at, body, at, fake) == ("oserror", ["+CSQ: 5,99"])


def test_unterminated_cusd_does_not_swallow_the_next_result():
    async def body(at, fake):
        fake.push(b'\r\n+CUSD: 0,"Sisa pulsa Rp\r\n')      # quote never closed (line noise)
        await asyncio.sleep(0.01)
        return await at.cmd("AT+CSQ", "+CSQ:", timeout_ms=1000)
    r, urcs, _, _ = run({"AT+CSQ": b"\r\n+CSQ: 7,99\r\n\r\nOK\r\n"}, body)
    assert r == ["+CSQ: 7,99"] and urcs == ['+CUSD: 0,"Sisa pulsa Rp']


class TextModeUART(FakeUART):
    # After AT+CMGS the modem takes every byte as message text until Ctrl-Z (27.005 3.5.1):
    # a send abandoned after its command line would swallow all later commands.
    text = None

    async def write(self, buf):
        if self.text is not None:
            self.text += bytes(buf)
            if b"\x1a" in self.text:
                self.sms = self.text
                self.text = None
                self.push(b"\r\n+CMGS: 7\r\n\r\nOK\r\n")
            return
        if bytes(buf).startswith(b"AT+CMGS="):
            self.sent.append(bytes(buf).decode().strip())
            self.text = b""
            return                      # the '>' comes late, pushed by the test
        await FakeUART.write(self, buf)


def test_cancelled_send_after_prompt_does_not_wedge_the_modem():
    async def main():
        fake = TextModeUART({"AT": b"\r\nOK\r\n", "AT+CSQ": b"\r\n+CSQ: 9,99\r\n\r\nOK\r\n"})
        at = AT(fake, dialects.get("A7670"))
        at.start()
        try:
            task = asyncio.create_task(at.cmd('AT+CMGS="+62811"', "+CMGS:", payload=b"tolong\x1a"))
            while not fake.sent:
                await asyncio.sleep(0.001)
            task.cancel()                 # e.g. the MQTT link dropped and its tasks were cancelled
            try:
                await task
            except asyncio.CancelledError:
                pass
            fake.push(b"\r\n> ")          # the prompt arrives after the caller gave up
            r = await at.cmd("AT+CSQ", "+CSQ:", timeout_ms=2000)
            return r, fake.sms, fake.text
        finally:
            at.stop()
    r, sms, pending = asyncio.run(main())
    assert r == ["+CSQ: 9,99"] and sms == b"tolong\x1a" and pending is None


def test_cancelled_command_late_final_goes_nowhere():
    class Late(FakeUART):
        late = None

        async def write(self, buf):
            if self.late is not None and self.sent:
                # the abandoned command's answer lands just after the next command goes out
                self.push(self.late)
                self.late = None
                await asyncio.sleep(0.01)
            await FakeUART.write(self, buf)

    async def main():
        def slow_cpin(fake, cmd):
            async def later():
                await asyncio.sleep(0.03)   # the real answer comes after the late one was read
                fake.push(b"\r\n+CPIN: READY\r\n\r\nOK\r\n")
            asyncio.create_task(later())
        fake = Late({"AT": b"\r\nOK\r\n", "AT+CGACT=1,1": None, "AT+CPIN?": slow_cpin})
        at = AT(fake, dialects.get("EG91"))
        at.start()
        try:
            task = asyncio.create_task(at.cmd("AT+CGACT=1,1", timeout_ms=5000))
            while not fake.sent:
                await asyncio.sleep(0.001)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            fake.late = b"\r\n+CME ERROR: 30\r\n"
            return await at.cmd("AT+CPIN?", "+CPIN:", timeout_ms=2000)
        finally:
            at.stop()
    assert asyncio.run(main()) == ["+CPIN: READY"]
