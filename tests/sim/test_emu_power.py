"""Modem emulator: the power model (rrc.py) - RRC connected for the tail after socket traffic, the slow-clock
sleep with DTR, the UART's wake-up time, data arriving while asleep - and the blackhole fault."""

import pytest

from fixtures.emu import booted, let_pass, wait_until
from test_emu_sockets import simcom_open, simcom_read_all, simcom_send, quectel_open

pytestmark = pytest.mark.sim


def energy(emu):
    return emu.state["energy"]


def test_rrc_connected_for_the_tail_after_traffic_then_idle(emulator, tcp_echo_server):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    emu.fault("rrc", tail_s=0.4)
    simcom_open(at, tcp_echo_server.port, 0)
    e0 = energy(emu)
    simcom_send(at, 0, b"hello")
    assert energy(emu)["rrc"] == "connected"
    wait_until(lambda: energy(emu)["rrc"] == "idle", timeout=5, what="RRC idle after the tail")
    e1 = energy(emu)
    assert e1["promotions"] >= e0["promotions"] + 1
    # the connected time is about one tail per burst of traffic (echo back included), never the whole run
    assert 0.3 <= e1["seconds"]["connected"] - e0["seconds"]["connected"] <= 2.0


def test_slow_clock_sleep_is_counted_and_urcs_still_come_out(emulator, tcp_echo_server):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    emu.fault("rrc", tail_s=0.2)
    simcom_open(at, tcp_echo_server.port, 0)
    assert at.cmd("AT+CSCLK=1").ok
    emu.set_pin("DTR", 1)
    s0 = energy(emu)["seconds"]["idle_sleep"]
    wait_until(lambda: emu.state["sleeping"] and energy(emu)["seconds"]["idle_sleep"] - s0 >= 0.3, timeout=20,
               what="0.3 s counted as slow-clock sleep")
    # data for us while asleep: the module wakes itself and says so (the RI/URC path); nothing is lost
    tcp_echo_server.conns[-1].sendall(b"burst-start")
    at.wait_for(b"+CIPRXGET: 1,0", timeout=5)
    emu.set_pin("DTR", 0)
    wait_until(lambda: not energy(emu)["waking"], timeout=20, what="the UART up")
    assert simcom_read_all(at, 0, 11) == b"burst-start"


def test_bytes_sent_before_the_uart_is_up_are_lost(emulator):
    emu = emulator(dialect="EC200U", powered=True)
    at = booted(emu)
    emu.fault("rrc", wake_s=3.0)             # the window made wide: a loaded machine still writes inside it
    assert at.cmd("AT+QSCLK=1").ok
    emu.set_pin("DTR", 1)
    emu.set_pin("DTR", 0)
    at.write(b"AT\r")                        # no wait after DTR low: the module's UART is still asleep
    assert at.drain(0.2) == b""
    assert energy(emu)["wake_lost"] >= 3
    wait_until(lambda: not emu.state["energy"]["waking"], timeout=20, what="the UART up")
    assert at.cmd("AT").ok


@pytest.mark.parametrize("dialect", ["A7670", "EG91"])
def test_blackhole_kills_open_flows_silently_and_new_ones_work_after(dialect, emulator, tcp_echo_server):
    emu = emulator(dialect=dialect, powered=True, time_scale=0.02)
    at = booted(emu)
    simcom = dialect == "A7670"
    simcom_open(at, tcp_echo_server.port, 0) if simcom else quectel_open(at, tcp_echo_server.port)
    emu.fault("blackhole", ms=25000)          # 0.5 s of wall time at this time scale
    n = len(tcp_echo_server.received)
    if simcom:
        simcom_send(at, 0, b"into the void")
    else:
        at.write(b"AT+QISEND=0,13\r")
        at.wait_for(b">")
        at.write(b"into the void")
        at.wait_for(b"SEND OK")
    let_pass(emu, 15)
    assert len(tcp_echo_server.received) == n          # nothing reached the peer, and no close either
    assert emu.state["sockets"][0]["state"] == "open"   # the module still believes in the flow
    let_pass(emu, 25)                                   # the blackhole's 25 s are over
    if simcom:
        assert at.cmd('AT+CIPOPEN=1,"TCP","127.0.0.1",%d' % tcp_echo_server.port).ok
        at.wait_for(b"+CIPOPEN: 1,0", timeout=15)
    else:
        assert at.cmd('AT+QIOPEN=1,1,"TCP","127.0.0.1",%d,0,1' % tcp_echo_server.port).ok
        at.wait_for(b"+QIOPEN: 1,0", timeout=15)
