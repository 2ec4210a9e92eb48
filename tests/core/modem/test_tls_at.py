# Portable tests of the modem TLS client's AT side (ht/modem/tls.py) against the ten-line fake UART: the
# SIMCom AT+CCHRECV response that continues after its OK (in either order, byte by byte), the Quectel
# AT+QFUPL CONNECT prompt, untrusted raw lengths in +CCHRECV/+QSSLRECV (issue 11 bounds), the URCs that wake
# or close a session, and the CA file name. Run on CPython and under MicroPython (tests/test_mpy_tier.py).
from ht.modem import tls as T
from ht.modem import dialects
from ht.modem.lines import RAW_MAX
from ht.modem.stream import ATSocket
from test_at import run

BAD = (b"-12", b"-1", b"99999999", b"1601", b"abc", b"1_0", b"", b"1e3")
PAYLOAD = b"\r\nOK\r\n+CCHRECV: 0,0\r\n\x00\xff> "


def _cchrecv(reply, chunk):
    async def body(at, fake):
        lines = await at.cmd("AT+CCHRECV=0,1024", "+CCHRECV:", raw=T._raw_cch, timeout_ms=500, until=T._cch_end)
        got = bytes(at.raw)
        after = await at.cmd("AT+CSQ", "+CSQ:", timeout_ms=500)
        return got, lines, after
    return run({"AT+CCHRECV=0,1024": reply, "AT+CSQ": b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"}, body, "A7670", chunk)


def test_cchrecv_data_after_ok_is_read_byte_exact():
    n = len(PAYLOAD)
    ok_first = b"\r\nOK\r\n\r\n+CCHRECV: DATA,0,%d\r\n" % n + PAYLOAD + b"\r\n+CCHRECV: 0,0\r\n"
    end_first = b"\r\n+CCHRECV: DATA,0,%d\r\n" % n + PAYLOAD + b"\r\n+CCHRECV: 0,0\r\n\r\nOK\r\n"
    for reply in (ok_first, end_first):
        for chunk in (1, 5, 512):
            (got, lines, after), urcs, _, at = _cchrecv(reply, chunk)
            assert got == PAYLOAD, (chunk, got)
            assert lines[-1] == "+CCHRECV: 0,0" and after == ["+CSQ: 20,99"]
            assert at.errors == 0 and at.hangs == 0 and at.badlen == 0 and at.stray == 0


def test_cchrecv_empty_buffer_reads_nothing():
    (got, lines, after), _, _, at = _cchrecv(b"\r\nOK\r\n\r\n+CCHRECV: 0,0\r\n", 3)
    assert got == b"" and after == ["+CSQ: 20,99"] and at.stray == 0


def test_bad_cchrecv_and_qsslrecv_lengths_read_nothing():
    for count in BAD:
        reply = b"\r\nOK\r\n\r\n+CCHRECV: DATA,0," + count + b"\r\n\r\n+CCHRECV: 0,0\r\n"
        (got, _, after), _, _, at = _cchrecv(reply, 2)
        assert got == b"" and after == ["+CSQ: 20,99"], count
        assert at.hangs == 0 and at.errors == 0 and at.badlen == 1, count

        async def body(at, fake):
            await at.cmd("AT+QSSLRECV=4,1500", "+QSSLRECV:", raw=T._raw_qssl, timeout_ms=500)
            got = bytes(at.raw)
            return got, await at.cmd("AT+CSQ", "+CSQ:", timeout_ms=500)
        reply = b"\r\n+QSSLRECV: " + count + b"\r\nabc\r\n\r\nOK\r\n"
        (got, after), _, _, at = run({"AT+QSSLRECV=4,1500": reply, "AT+CSQ": b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"},
                                     body, "EC200U", 3)
        assert got == b"" and after == ["+CSQ: 20,99"] and at.badlen == 1 and at.hangs == 0, count
    assert T._raw_cch("+CCHRECV: DATA,0,%d" % (RAW_MAX + 1)) is None
    assert T._raw_cch("+CCHRECV: DATA,1,12") == 12 and T._raw_cch("+CCHRECV: 0,0") == 0
    assert T._raw_qssl("+QSSLRECV: 12") == 12 and T._raw_qssl("+QSSLRECV: -3") is None


def test_qfupl_waits_for_connect_then_sends_the_file():
    pem = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"

    async def body(at, fake):
        return await at.cmd('AT+QFUPL="UFS:x.pem",%d,60' % len(pem), "+QFUPL:", payload=pem, timeout_ms=500)
    lines, _, fake, at = run({'AT+QFUPL="UFS:x.pem",%d,60' % len(pem):
                              (b"\r\nCONNECT\r\n", b"\r\n+QFUPL: %d,1a2b\r\n\r\nOK\r\n" % len(pem))},
                             body, "EC200U", 4)
    assert fake.payloads == [pem] and lines == ["+QFUPL: %d,1a2b" % len(pem)]


def test_urcs_wake_and_close_their_own_session_only():
    for name, recv, closed, lid in (("A7670", "+CCHEVENT: 1,RECV EVENT", "+CCH_PEER_CLOSED: 1", 1),
                                    ("EC200U", '+QSSLURC: "recv",5', '+QSSLURC: "closed",5', 5)):
        d = dialects.get(name)
        net = T.make(None, d)
        s = ATSocket(net, lid)
        other = ATSocket(net, net.first)
        net.socks[lid] = s
        net.socks[net.first] = other
        assert d.is_urc(recv) and d.is_urc(closed)
        net.on_urc(recv)
        assert s.readable.is_set() and not other.readable.is_set() and not s.peer_closed
        net.on_urc(closed)
        assert s.peer_closed and not other.peer_closed
        net.on_urc("+CCHSEND: 1,6" if name == "A7670" else '+QSSLURC: "recv",99')
        net.drop_all("pdp gone")
        assert s.dead == "pdp gone" and net.socks == {}


def test_plain_net_drops_the_tls_sessions_with_it():
    from ht.modem import sockets as S
    d = dialects.get("SIM7600")
    net = S.make(None, d)
    tls = T.make(None, d)
    net.peers.append(tls)
    s = ATSocket(tls, 0)
    tls.socks[0] = s
    net.drop_all("modem restart")
    assert s.dead == "modem restart" and tls.socks == {}


def test_ca_name_follows_the_content_and_errors_carry_both_languages():
    a = T.ca_name(b"one")
    assert a == T.ca_name(b"one") and a != T.ca_name(b"two")
    assert a.startswith("htca") and a.endswith(".pem") and 5 <= len(a) - 4 <= 108
    e = T._fail(0, 15)
    assert "15" in e.reason[0] and e.reason[1].startswith("TLS ditolak")
    assert "566" in T._fail(4, 566).reason[1] and "tidak terjangkau" in T._fail(0, 14).reason[1]
    assert isinstance(e, OSError)


def test_open_without_ca_refuses_before_any_command():
    import asyncio
    net = T.make(None, dialects.get("EG91"))

    async def main():
        try:
            await net.open("127.0.0.1", 8883)
        except OSError as e:
            return e
    e = asyncio.run(main())
    assert e is not None and e.reason == T.R_NO_CA and net.last == T.R_NO_CA


def test_handshake_refused_with_the_clock_unset_says_so():
    from ht.modem import dialects as D
    from ht.modem.at import AT
    from test_at import FakeUART, _drive

    def go(cclk):
        replies = {"AT+CCERTLIST": b'\r\n+CCERTLIST: "%s"\r\n\r\nOK\r\n' % T.ca_name(b"PEM").encode(),
                   "AT+CCHSTART": b"\r\nOK\r\n\r\n+CCHSTART: 0\r\n",
                   "AT+CCHSSLCFG=0,1": b"\r\nOK\r\n",
                   'AT+CCHOPEN=0,"127.0.0.1",8883,2': b"\r\nOK\r\n\r\n+CCHOPEN: 0,15\r\n",
                   "AT+CCLK?": b'\r\n+CCLK: "%s"\r\n\r\nOK\r\n' % cclk, "AT+CCHCLOSE=0": b"\r\nERROR\r\n"}
        for c in ('AT+CSSLCFG="sslversion",1,3', 'AT+CSSLCFG="authmode",1,1', 'AT+CSSLCFG="enableSNI",1,1',
                  'AT+CSSLCFG="cacert",1,"%s"' % T.ca_name(b"PEM"), "AT+CCHSET=1,1"):
            replies[c] = b"\r\nOK\r\n"
        fake = FakeUART(replies)
        at = AT(fake, D.get("A7670"))
        net = T.make(at, D.get("A7670"))
        at.on_urc = net.on_urc
        net.set_ca(b"PEM")

        async def body(at):
            try:
                await net.open("127.0.0.1", 8883)
            except OSError as e:
                return e
        e = _drive(at, body, at)
        assert "AT+CCERTDOWN" not in " ".join(fake.sent)      # the same CA is never written again
        return e
    e = go(b"80/01/06,00:01:10+00")
    assert e.err == 15 and e.reason[1].startswith("TLS ditolak: jam modem belum diatur"), e.reason
    e = go(b"26/12/07,10:11:12+28")
    assert e.reason[1].startswith("TLS ditolak: sertifikat broker"), e.reason
