"""Modem emulator: PDP activation and AT sockets that are real loopback TCP connections."""
import re

import pytest

from fixtures.emu import AtPort, LinkModel, booted, wait_until

pytestmark = pytest.mark.sim

PAYLOAD = bytes(range(256)) + b"\r\nOK\r\n\x00\x1a>" + b"\r\n+CIPRXGET: 1,0\r\n"   # nasty on purpose


def simcom_open(at, port, link=0, manual=True):
    assert at.cmd('AT+CGDCONT=1,"IP","internet"').ok
    if manual:
        assert at.cmd("AT+CIPRXGET=1").ok
    assert at.cmd("AT+NETOPEN").ok
    at.wait_for(b"+NETOPEN: 0")
    assert at.cmd('AT+CIPOPEN=%d,"TCP","127.0.0.1",%d' % (link, port)).ok
    at.wait_for(b"+CIPOPEN: %d,0" % link)


def simcom_send(at, link, data):
    at.write(b"AT+CIPSEND=%d,%d\r" % (link, len(data)))
    at.wait_for(b">")
    at.write(data)
    r = at.cmd(b"")      # collect up to the final OK (the empty line itself is ignored by the modem)
    return r


def simcom_read_all(at, link, n):
    """Manual read mode: read until n bytes arrived, via +CIPRXGET: 2 responses carrying raw bytes."""
    got = bytearray()
    while len(got) < n:
        at.write(b"AT+CIPRXGET=2,%d,700\r" % link)
        m = at.wait_for(re.compile(rb"\+CIPRXGET: 2,%d,(\d+),(\d+)\r\n" % link))
        k = int(m.group(1))
        while len(at.buf) < k + 6:
            at.pump(0.05)
        got += at.buf[:k]
        assert at.buf[k:k + 6] == b"\r\nOK\r\n"
        del at.buf[:k + 6]
        if k == 0:
            at.wait_for(b"+CIPRXGET: 1,%d" % link, timeout=20)
    return bytes(got)


@pytest.mark.parametrize("dialect", ["A7670", "SIM7600"])
def test_simcom_socket_echo_manual_read(emulator, tcp_echo_server, dialect):
    emu = emulator(dialect=dialect, powered=True)
    at = booted(emu)
    simcom_open(at, tcp_echo_server.port)
    r = simcom_send(at, 0, PAYLOAD)
    assert r.ok and r.raw.endswith(b"\r\nOK\r\n") or r.ok
    at.wait_for(b"+CIPSEND: 0,%d,%d" % (len(PAYLOAD), len(PAYLOAD)))
    at.wait_for(b"+CIPRXGET: 1,0")
    assert simcom_read_all(at, 0, len(PAYLOAD)) == PAYLOAD
    assert bytes(tcp_echo_server.received) == PAYLOAD
    assert at.cmd("AT+CIPRXGET=4,0").line("+CIPRXGET: 4") == "+CIPRXGET: 4,0,0"
    r = at.cmd("AT+CIPCLOSE=0")
    assert r.ok
    at.wait_for(b"+CIPCLOSE: 0,0")
    st = emu.state
    assert st["bytes"]["sock_tx"] == len(PAYLOAD) and st["bytes"]["sock_rx"] == len(PAYLOAD)


def test_simcom_push_mode_ipd(emulator, tcp_echo_server):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    simcom_open(at, tcp_echo_server.port, manual=False)
    simcom_send(at, 0, b"hi\x00there")
    m = at.wait_for(re.compile(rb"\+IPD(\d+)\r\n"))
    n = int(m.group(1))
    while len(at.buf) < n:
        at.pump(0.05)
    assert bytes(at.buf[:n]) == b"hi\x00there"[:n]


def test_simcom_push_mode_receive_header_names_the_link(emulator, tcp_echo_server):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    assert at.cmd("AT+CIPCCFG=10,0,0,0,1,0,75000").ok
    simcom_open(at, tcp_echo_server.port, link=4, manual=False)
    simcom_send(at, 4, b"abc")
    at.wait_for(b"+RECEIVE,4,3\r\nabc")


def test_simcom_remote_close_urc_and_multiple_links(emulator, tcp_echo_server):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    simcom_open(at, tcp_echo_server.port, link=0)
    assert at.cmd('AT+CIPOPEN=3,"TCP","127.0.0.1",%d' % tcp_echo_server.port).ok
    at.wait_for(b"+CIPOPEN: 3,0")
    wait_until(lambda: tcp_echo_server.accepted == 2, what="two connections")
    tcp_echo_server.drop_all()
    seen = at.wait_for(b"+IPCLOSE: ") + at.wait_for(b"+IPCLOSE: ")
    assert b"+IPCLOSE: 0,1" in seen + at.drain(0.1) or b"+IPCLOSE: 0,1" in bytes(at.seen)
    assert b"+IPCLOSE: 3,1" in bytes(at.seen)
    assert at.cmd("AT+CIPSEND=0,5").final == "ERROR"


def test_simcom_refuses_non_loopback_and_closed_port(emulator, tcp_echo_server):
    emu = emulator(dialect="SIM7600", powered=True)
    at = booted(emu)
    simcom_open(at, tcp_echo_server.port)
    assert at.cmd('AT+CIPOPEN=1,"TCP","8.8.8.8",53').ok
    at.wait_for(b"+CIPOPEN: 1,1")
    assert any("non-loopback" in e for _, e in emu.events)
    free = tcp_echo_server.port
    tcp_echo_server.close()
    assert at.cmd('AT+CIPOPEN=2,"TCP","127.0.0.1",%d' % free).ok
    at.wait_for(b"+CIPOPEN: 2,1")


def test_simcom_cipopen_before_netopen_is_error(emulator):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    r = at.cmd('AT+CIPOPEN=0,"TCP","127.0.0.1",1883')
    assert r.final == "ERROR" and r.line("+CIPOPEN: 0,2")


def quectel_open(at, port, sid=0, access=0):
    assert at.cmd('AT+QICSGP=1,1,"internet","","",1').ok
    assert at.cmd("AT+QIACT=1").ok
    r = at.cmd("AT+QIACT?")
    assert r.line("+QIACT: 1,1,1,")
    assert at.cmd('AT+QIOPEN=1,%d,"TCP","127.0.0.1",%d,0,%d' % (sid, port, access)).ok
    at.wait_for(b"+QIOPEN: %d,0" % sid)


@pytest.mark.parametrize("dialect", ["EC200U", "EG91"])
def test_quectel_socket_echo_buffer_mode(emulator, tcp_echo_server, dialect):
    emu = emulator(dialect=dialect, powered=True)
    at = booted(emu)
    quectel_open(at, tcp_echo_server.port)
    at.write(b"AT+QISEND=0,%d\r" % len(PAYLOAD))
    at.wait_for(b"> ")
    at.write(PAYLOAD)
    assert at.cmd(b"").final == "SEND OK"
    at.wait_for(b'+QIURC: "recv",0')
    got = bytearray()
    while len(got) < len(PAYLOAD):
        at.write(b"AT+QIRD=0,1500\r")
        m = at.wait_for(re.compile(rb"\+QIRD: (\d+)\r\n"))
        k = int(m.group(1))
        while len(at.buf) < k + 8:
            at.pump(0.05)
        got += at.buf[:k]
        tail = b"\r\n\r\nOK\r\n" if k else b"\r\nOK\r\n"
        assert bytes(at.buf[:k + len(tail)]).endswith(tail)
        del at.buf[:k + len(tail)]
        if k == 0:
            at.wait_for(b'+QIURC: "recv",0')
    assert bytes(got) == PAYLOAD
    assert at.cmd("AT+QIRD=0,0").line("+QIRD:") == "+QIRD: %d,%d,0" % (len(PAYLOAD), len(PAYLOAD))
    assert at.cmd("AT+QISEND=0,0").line("+QISEND:") == "+QISEND: %d,%d,0" % (len(PAYLOAD), len(PAYLOAD))
    assert at.cmd("AT+QGDCNT?").line("+QGDCNT:") == "+QGDCNT: %d,%d" % (len(PAYLOAD), len(PAYLOAD))
    assert at.cmd("AT+CGPADDR=1").line("+CGPADDR:").startswith('+CGPADDR: 1,"10.')
    tcp_echo_server.drop_all()
    at.wait_for(b'+QIURC: "closed",0')
    assert at.cmd("AT+QICLOSE=0").ok


def test_quectel_push_mode_and_ctrl_z_send(emulator, tcp_echo_server):
    emu = emulator(dialect="EC200U", powered=True)
    at = booted(emu)
    quectel_open(at, tcp_echo_server.port, sid=2, access=1)
    at.write(b"AT+QISEND=2\r")
    at.wait_for(b"> ")
    at.write(b"ping\x1a")
    assert at.cmd(b"").final == "SEND OK"
    at.wait_for(b'+QIURC: "recv",2,4\r\nping')


def test_quectel_qiopen_without_pdp_fails(emulator, tcp_echo_server):
    emu = emulator(dialect="EG91", powered=True)
    at = booted(emu)
    assert at.cmd('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0' % tcp_echo_server.port).ok
    at.wait_for(b"+QIOPEN: 0,561")


def test_pdp_needs_registration(emulator):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu, registered=False)
    assert at.cmd("AT+CFUN=4").ok
    assert at.cmd("AT+CGACT=1,1").final == "+CME ERROR: no network service"
    assert at.cmd("AT+CFUN=1").ok
    wait_until(lambda: emu.state["reg_stat"] == 1, what="registration")
    assert at.cmd("AT+CGACT=1,1").ok
    r = at.cmd("AT+CGPADDR=1")
    assert re.match(r"\+CGPADDR: 1,10\.\d+\.\d+\.\d+$", r.line("+CGPADDR:"))
    assert at.cmd("AT+CGACT?").line("+CGACT: 1") == "+CGACT: 1,1"


def test_link_model_delays_but_never_loses_bytes(emulator, tcp_echo_server):
    link = LinkModel(delay_ms=20, jitter_ms=10, loss=0.2, seed=3, rto_ms=30)
    emu = emulator(dialect="A7670", powered=True, link=link)
    at = booted(emu)
    simcom_open(at, tcp_echo_server.port)
    data = bytes((i * 7) & 0xFF for i in range(1400))
    simcom_send(at, 0, data)
    at.wait_for(b"+CIPRXGET: 1,0")
    assert simcom_read_all(at, 0, len(data)) == data


def test_uart_pty_socket_echo(emulator, tcp_echo_server):
    emu = emulator(dialect="EC200U", powered=True)
    at = booted(emu, port=AtPort.serial(emu.open_pty()))
    quectel_open(at, tcp_echo_server.port)
    at.write(b"AT+QISEND=0,4\r")
    at.wait_for(b"> ")
    at.write(b"\x00\r\n\xff")
    assert at.cmd(b"").final == "SEND OK"
    at.wait_for(b'+QIURC: "recv",0')
    at.write(b"AT+QIRD=0,10\r")
    at.wait_for(b"+QIRD: 4\r\n\x00\r\n\xff\r\n\r\nOK\r\n")


@pytest.mark.parametrize("dialect", ["A7670", "SIM7600", "EC200U", "EG91"])
def test_pty_boot_pdp_and_binary_echo_each_dialect(emulator, tcp_echo_server, dialect):
    """The same path a pyserial-style client (the virtual device, a technician's terminal) takes."""
    emu = emulator(dialect=dialect)
    at = booted(emu, port=AtPort.serial(emu.open_pty()))      # booted() pulses PWRKEY itself
    data = b"\x00\r\n\xffAT\r\n\x1a"
    if emu.dialect.family == "simcom":
        simcom_open(at, tcp_echo_server.port)
        simcom_send(at, 0, data)
        at.wait_for(b"+CIPRXGET: 1,0")
        assert simcom_read_all(at, 0, len(data)) == data
    else:
        quectel_open(at, tcp_echo_server.port)
        at.write(b"AT+QISEND=0,%d\r" % len(data))
        at.wait_for(b"> ")
        at.write(data)
        assert at.cmd(b"").final == "SEND OK"
        at.wait_for(b'+QIURC: "recv",0')
        at.write(b"AT+QIRD=0,100\r")
        at.wait_for(b"+QIRD: %d\r\n" % len(data) + data + b"\r\n\r\nOK\r\n")
    assert bytes(tcp_echo_server.received) == data


def test_link_fault_degrades_a_live_connection(emulator, tcp_echo_server):
    import time
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    simcom_open(at, tcp_echo_server.port)
    emu.fault("link", delay_ms=1500)        # wall-clock ms: a physical link property
    t0 = time.monotonic()
    simcom_send(at, 0, b"late")
    at.wait_for(b"+CIPRXGET: 1,0")
    assert time.monotonic() - t0 >= 2.9          # two one-way trips of at least 1.5 s each: a lower bound
    assert simcom_read_all(at, 0, 4) == b"late"
    emu.fault("link")                        # all zero: perfect link again
    assert emu.state["bytes"]["sock_rx"] == 4
