"""Modem emulator: every fault has the effect a field radio would see, and the modem comes back."""
import socket
import time

import pytest

from fixtures.emu import booted, let_pass, wait_until
from test_emu_sockets import quectel_open, simcom_open, simcom_read_all, simcom_send

pytestmark = pytest.mark.sim


def test_hang_silences_until_power_cycle(emulator):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    emu.fault("hang")
    at.write(b"AT\r")
    assert at.drain(0.3) == b""
    assert emu.state["power"] == "hung"
    emu.set_pin("PWRKEY", 1)               # long press: off
    wait_until(lambda: emu.state["power"] == "off", what="power off by long press")
    emu.set_pin("PWRKEY", 0)
    emu.power_on()
    at.wait_for(b"*ATREADY: 1")
    assert at.cmd("AT").ok


def test_hang_recovered_by_reset_pin(emulator):
    emu = emulator(dialect="EC200U", powered=True)
    at = booted(emu)
    emu.fault("hang")
    emu.set_pin("RESET", 1)
    emu.set_pin("RESET", 0)
    at.wait_for(b"RDY")
    assert at.cmd("AT").ok


def test_reboot_prints_banner_and_forgets_settings(emulator, tcp_echo_server):
    emu = emulator(dialect="SIM7600", powered=True)
    at = booted(emu)
    simcom_open(at, tcp_echo_server.port)
    emu.fault("reboot")
    at.wait_for(b"RDY")
    r = at.cmd("AT")
    assert r.ok and b"AT\r" in r.raw             # echo back on: settings forgotten
    assert emu.state["sockets"] == {} and not emu.state["pdp_active"]


@pytest.mark.parametrize("dialect,urc", [("A7670", b"+CPIN: SIM REMOVED"), ("SIM7600", b"+SIMCARD: NOT AVAILABLE"),
                                         ("EC200U", b"+CPIN: NOT READY")])
def test_sim_remove_and_insert(emulator, dialect, urc):
    emu = emulator(dialect=dialect, powered=True)
    at = booted(emu)
    assert at.cmd("AT+CEREG=1").ok
    emu.fault("sim_remove")
    at.wait_for(urc)
    at.wait_for(b"+CEREG: 0")
    assert at.cmd("AT+CPIN?").final == "+CME ERROR: SIM not inserted"
    emu.fault("sim_insert")
    at.wait_for(b"+CPIN: READY")
    at.wait_for(b"+CEREG: 1")
    assert at.cmd("AT+CPIN?").line("+CPIN:") == "+CPIN: READY"


def test_quectel_qsimstat_urcs_when_enabled(emulator):
    emu = emulator(dialect="EG91", powered=True)
    at = booted(emu)
    assert at.cmd("AT+QSIMSTAT=1").ok
    emu.fault("sim_remove")
    at.wait_for(b"+QSIMSTAT: 1,0")
    emu.fault("sim_insert")
    at.wait_for(b"+QSIMSTAT: 1,1")


def test_reg_lost_drops_data_and_comes_back(emulator, tcp_echo_server):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    assert at.cmd("AT+CEREG=2").ok
    simcom_open(at, tcp_echo_server.port)
    wait_until(lambda: tcp_echo_server.accepted == 1, what="connection")
    emu.fault("reg_lost", duration_s=3)
    at.wait_for(b"+CEREG: 2\r\n")
    at.wait_seen(b"+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY")
    assert not emu.state["pdp_active"]
    at.wait_for(b"+CEREG: 1,")                       # back home after 3 emulated s
    assert at.cmd("AT+NETOPEN").ok
    at.wait_for(b"+NETOPEN: 0")


@pytest.mark.parametrize("fault,stat", [("reg_denied", 3), ("roaming", 5)])
def test_denied_and_roaming(emulator, fault, stat):
    emu = emulator(dialect="EC200U", powered=True)
    at = booted(emu)
    assert at.cmd("AT+CEREG=1").ok
    emu.fault(fault)
    at.wait_for(b"+CEREG: %d\r\n" % stat)
    assert at.cmd("AT+CEREG?").line("+CEREG:") == "+CEREG: 1,%d" % stat
    emu.fault("reg_home")
    at.wait_for(b"+CEREG: 1\r\n")


def test_pdp_drop_simcom(emulator, tcp_echo_server):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    simcom_open(at, tcp_echo_server.port)
    emu.fault("pdp_drop")
    at.wait_for(b"+CGEV: NW PDN DEACT 1")
    at.wait_for(b"+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY")
    assert emu.state["reg_stat"] == 1 and not emu.state["netopen"]
    assert at.cmd("AT+CIPSEND=0,3").final == "ERROR"
    assert at.cmd("AT+NETOPEN").ok
    at.wait_for(b"+NETOPEN: 0")


def test_pdp_drop_quectel(emulator, tcp_echo_server):
    emu = emulator(dialect="EG91", powered=True)
    at = booted(emu)
    quectel_open(at, tcp_echo_server.port)
    emu.fault("pdp_drop")
    at.wait_for(b'+QIURC: "pdpdeact",1')
    assert at.cmd("AT+QISEND=0,3").final == "ERROR"
    assert at.cmd("AT+QICLOSE=0").ok
    assert at.cmd("AT+QIACT=1").ok


def test_socket_close_fault(emulator, tcp_echo_server):
    emu = emulator(dialect="EC200U", powered=True)
    at = booted(emu)
    quectel_open(at, tcp_echo_server.port, sid=1)
    emu.fault("socket_close", link=1)
    at.wait_for(b'+QIURC: "closed",1')


def test_slow_delays_final_results(emulator):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu, registered=False)
    emu.fault("slow", ms=100000)           # emulated ms: 2 s of wall time at time_scale 0.02
    at.write(b"AT\r")
    assert b"OK" not in at.drain(0.1)       # not yet: the answer is held back
    at.wait_for(b"OK")
    emu.fault("slow", ms=0)
    assert at.cmd("AT").ok


def test_garbage_bytes_arrive_and_modem_keeps_working(emulator):
    emu = emulator(dialect="SIM7600", powered=True)
    at = booted(emu)
    at.drain(0.1)
    emu.fault("garbage", n=200)
    got = b""
    end = time.monotonic() + 10
    while len(got) < 200 and time.monotonic() < end:
        at.pump(0.05)
        got = bytes(at.buf)
    assert len(got) >= 200
    at.drain(0.1)
    assert at.cmd("AT+CSQ").ok


@pytest.mark.parametrize("silent", [0, 1])
def test_ussd_timeout(emulator, silent):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    emu.fault("ussd_timeout", count=1, silent=silent)
    assert at.cmd('AT+CUSD=1,"*888#",15').ok
    if silent:
        let_pass(emu, 25)            # well past the 10 s timeout
        assert b"+CUSD" not in at.drain(0.1)
    else:
        at.wait_for(b"+CUSD: 5\r\n")
    assert at.cmd('AT+CUSD=1,"*888#",15').ok       # one-shot: the next one answers
    at.wait_for(b'+CUSD: 0,"Sisa pulsa')


def test_stall_holds_data_then_delivers(emulator, tcp_echo_server):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    simcom_open(at, tcp_echo_server.port)
    emu.fault("stall", ms=150000)          # emulated ms: 3 s of wall time at time_scale 0.02
    simcom_send(at, 0, b"frozen")
    assert bytes(tcp_echo_server.received) == b""          # nothing moved during the stall
    at.wait_for(b"+CIPRXGET: 1,0")
    assert simcom_read_all(at, 0, 6) == b"frozen"


def test_urc_interleave_puts_urcs_before_final(emulator):
    emu = emulator(dialect="A7670", powered=True, urc_interleave=True, seed=5)
    at = booted(emu)
    assert at.cmd("AT+CEREG=2").ok
    interleaved = 0
    for _ in range(40):
        r = at.cmd("AT+CSQ")
        assert r.ok and r.line("+CSQ:")
        if any(ln.startswith("+CEREG: 1") for ln in r.lines):
            idx = r.lines.index("OK")
            assert any(ln.startswith("+CEREG") for ln in r.lines[:idx])
            interleaved += 1
    assert interleaved > 0


def test_network_loss_resets_peer_connection(emulator):
    """The broker side must notice a radio that lost its network (reset), not wait forever."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    simcom_open(at, srv.getsockname()[1])
    conn, _ = srv.accept()
    conn.settimeout(10)
    emu.fault("pdp_drop")
    try:
        data = conn.recv(10)
    except ConnectionResetError:
        data = b""
    assert data == b""
    conn.close()
    srv.close()


def test_peer_on_loss_silent_keeps_peer_connection_open(emulator):
    """With peer_on_loss="silent" a broker sees what it sees in the field: nothing, until its keepalive."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    emu = emulator(dialect="EC200U", powered=True, peer_on_loss="silent")
    at = booted(emu)
    quectel_open(at, srv.getsockname()[1])
    conn, _ = srv.accept()
    emu.fault("reg_lost", duration_s=0)
    at.wait_for(b'+QIURC: "pdpdeact",1')
    conn.settimeout(0.5)
    with pytest.raises(socket.timeout):
        conn.recv(10)                       # no FIN, no RST: the connection just went quiet
    conn.sendall(b"into the void")          # swallowed, no error
    conn.close()
    srv.close()


def test_reboot_fault_on_a_switched_off_modem_does_nothing(emulator):
    emu = emulator(dialect="A7670")
    emu.fault("reboot")
    let_pass(emu, 10)
    assert emu.state["power"] == "off"


def test_dtr_sleep_loses_input_until_dtr_low(emulator):
    emu = emulator(dialect="SIM7600", powered=True)
    at = booted(emu)
    assert at.cmd("AT+CSCLK=1").ok
    emu.set_pin("DTR", 1)
    assert emu.state["sleeping"]
    at.write(b"AT\r")
    assert at.drain(0.3) == b""             # asleep: the UART does not listen
    emu.set_pin("DTR", 0)
    wait_until(lambda: not emu.state["energy"]["waking"], what="the UART up (~30 ms after DTR low)")
    assert at.cmd("AT").ok
    assert emu.state["bytes"]["dropped_rx"] >= 3
