# Raw-payload lengths the modem announces are untrusted (issue 11): a negative, oversized or
# non-numeric count in +QIRD / +CIPRXGET must neither hang the reader nor grow a buffer, and the
# next command must still work. Drives the real length parsers of ht/modem/sockets.py.
from ht.modem import parse as P
from ht.modem import sockets as S
from ht.modem.lines import RAW_MAX
from test_at import run

BAD = (b"-12", b"-1", b"99999999", b"1601", b"abc", b"1_0", b"", b"1e3", b" - 5", b"0x10")


def _qird(count, chunk):
    async def body(at, fake):
        await at.cmd("AT+QIRD=0,1500", "+QIRD:", raw=S._raw_quectel, timeout_ms=500)
        got = bytes(at.raw)
        lines = await at.cmd("AT+CSQ", "+CSQ:", timeout_ms=500)
        return got, lines
    reply = b"\r\n+QIRD: " + count + b"\r\nabc\r\n\r\nOK\r\n"
    return run({"AT+QIRD=0,1500": reply, "AT+CSQ": b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"}, body, "EC200U", chunk)


def test_bad_qird_length_reads_nothing_and_the_next_command_works():
    for count in BAD:
        for chunk in (1, 3, 512):
            (got, lines), _, _, at = _qird(count, chunk)
            assert got == b"" and lines == ["+CSQ: 20,99"], count
            assert at.hangs == 0 and at.errors == 0
            assert at.badlen == 1, count


def test_bad_ciprxget_length_reads_nothing():
    for count in BAD:
        async def body(at, fake):
            await at.cmd("AT+CIPRXGET=2,0,1460", "+CIPRXGET:", raw=S._raw_simcom, timeout_ms=500)
            return bytes(at.raw)
        reply = b"\r\n+CIPRXGET: 2,0," + count + b",0\r\nxyz\r\n\r\nOK\r\n"
        got, _, _, at = run({"AT+CIPRXGET=2,0,1460": reply}, body, "A7670", 2)
        assert got == b"" and at.hangs == 0 and at.errors == 0, count


def test_good_length_still_reads_binary():
    (got, _), _, _, at = _qird(b"4", 1)
    assert got == b"abc\r" and at.badlen == 0


def test_length_parser_is_strict():
    assert P.length("12", 100) == 12 and P.length('"7"', 100) == 7 and P.length("0", 9) == 0
    for s in ("-12", "101", "1_0", "", "+5", " 5x", "1234567"):
        assert P.length(s, 100) is None, s
    assert S._raw_simcom("+CIPRXGET: 2,0,-5,0") is None
    assert S._raw_simcom("+CIPRXGET: 2,0,%d,0" % (RAW_MAX + 1)) is None
    assert S._raw_quectel("+QIRD: -12") is None and S._raw_quectel("+QIRD: 12") == 12


def test_raw_buffer_never_passes_the_cap():
    # two raw responses in one reply cannot add up past RAW_MAX
    async def body(at, fake):
        await at.cmd("AT+QIRD=0,1500", "+QIRD:", raw=S._raw_quectel, timeout_ms=500)
        return bytes(at.raw)
    big = b"x" * 1500
    reply = b"\r\n+QIRD: 1500\r\n" + big + b"\r\n+QIRD: 1500\r\n" + big + b"\r\nOK\r\n"
    got, _, _, at = run({"AT+QIRD=0,1500": reply}, body, "EC200U")
    assert len(got) <= RAW_MAX and at.badlen == 1 and at.hangs == 0
