"""Modem emulator: registration (CEREG read vs URC forms), operator, signal, APN, CFUN, clock."""
import re
import time

import pytest

from fixtures.emu import booted, wait_until

pytestmark = pytest.mark.sim

DIALECTS = ["A7670", "SIM7600", "EC200U", "EG91"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_cereg_urc_and_read_forms(emulator, dialect):
    emu = emulator(dialect=dialect, powered=True)
    at = booted(emu, registered=False)
    assert at.cmd("AT+CFUN=4").ok
    assert at.cmd("AT+CEREG=2").ok
    assert at.cmd("AT+CEREG?").line("+CEREG:") == "+CEREG: 2,0"
    assert at.cmd("AT+CFUN=1").ok
    at.wait_for(b"\r\n+CEREG: 2\r\n")                                   # searching: URC has no <n>
    m = at.wait_for(re.compile(rb'\r\n\+CEREG: 1,"([0-9A-F]{4})","([0-9A-F]{8})",7\r\n'))
    read = at.cmd("AT+CEREG?").line("+CEREG:")
    assert read == '+CEREG: 2,1,"%s","%s",7' % (m.group(1).decode(), m.group(2).decode())  # read: leading <n>
    assert at.cmd("AT+CEREG=1").ok
    assert at.cmd("AT+CEREG?").line("+CEREG:") == "+CEREG: 1,1"
    assert at.cmd("AT+CFUN=0").ok
    at.wait_for(b"\r\n+CEREG: 0\r\n")


def test_a7670_creg_stays_zero_but_sim7600_follows(emulator):
    a = emulator(dialect="A7670", powered=True)
    at = booted(a)
    assert at.cmd("AT+CREG?").line("+CREG:") == "+CREG: 0,0"
    assert at.cmd("AT+CGREG?").line("+CGREG:") == "+CGREG: 0,1"     # PS attach is what TinyGSM reads
    s = emulator(dialect="SIM7600", powered=True)
    at2 = booted(s)
    assert at2.cmd("AT+CREG?").line("+CREG:") == "+CREG: 0,1"


@pytest.mark.parametrize("dialect", ["A7670", "EC200U"])
def test_operator_and_signal(emulator, dialect):
    emu = emulator(dialect=dialect, powered=True, rsrp_dbm=-95, rsrq_db=-10, sinr_db=12)
    at = booted(emu)
    assert at.cmd("AT+COPS?").line("+COPS:") == '+COPS: 0,0,"TELKOMSEL",7'
    assert at.cmd("AT+COPS=3,2").ok
    assert at.cmd("AT+COPS?").line("+COPS:") == '+COPS: 0,2,"51010",7'
    csq = int(at.cmd("AT+CSQ").line("+CSQ:").split()[1].split(",")[0])
    assert -113 + 2 * csq == pytest.approx(-95 + 28, abs=2)
    cesq = at.cmd("AT+CESQ").line("+CESQ:").split(": ")[1].split(",")
    assert cesq[:4] == ["99", "99", "255", "255"]
    assert -20 + 0.5 * int(cesq[4]) == -10 and int(cesq[5]) - 141 == -95
    if emu.dialect.family == "simcom":
        f = at.cmd("AT+CPSI?").line("+CPSI:").split(",")
        assert f[:3] == ["+CPSI: LTE", "Online", "510-10"] and f[11] == "-950"
    else:
        q = at.cmd('AT+QENG="servingcell"').line("+QENG:")
        assert q.startswith('+QENG: "servingcell","NOCONN","LTE","FDD",510,10,') and ",-95,-10," in q
    emu.fault("signal", rsrp_dbm=-120)
    cesq = at.cmd("AT+CESQ").line("+CESQ:").split(",")
    assert int(cesq[5]) == 21


def test_unregistered_signal_and_operator(emulator):
    emu = emulator(dialect="SIM7600", powered=True)
    at = booted(emu, registered=False)
    assert at.cmd("AT+CFUN=4").ok
    assert at.cmd("AT+CSQ").line("+CSQ:") == "+CSQ: 99,99"
    assert at.cmd("AT+COPS?").line("+COPS:") == "+COPS: 0"
    assert at.cmd("AT+CPSI?").line("+CPSI:") == "+CPSI: NO SERVICE,Online"


def test_apn_set_read_and_persists_across_reboot(emulator):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    assert at.cmd("AT+CFUN=4").ok
    assert at.cmd('AT+CGDCONT=1,"IP","internet"').ok
    assert at.cmd("AT+CGDCONT?").line("+CGDCONT: 1") == '+CGDCONT: 1,"IP","internet","0.0.0.0",0,0'
    emu.fault("reboot")
    at.wait_for(b"*ATREADY: 1")
    assert at.cmd("AT+CGDCONT?").line("+CGDCONT: 1") == '+CGDCONT: 1,"IP","internet","0.0.0.0",0,0'


def test_clock_syncs_to_wib_after_ctzu(emulator):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu, registered=False)
    assert at.cmd("AT+CCLK?").line("+CCLK:").startswith('+CCLK: "80/01/06,')
    assert at.cmd("AT+CTZU=1").ok
    wait_until(lambda: emu.state["reg_stat"] == 1, what="registration")
    line = at.cmd("AT+CCLK?").line("+CCLK:")
    m = re.match(r'\+CCLK: "(\d\d)/(\d\d)/(\d\d),(\d\d):(\d\d):(\d\d)\+28"', line)
    assert m
    wib = time.gmtime(time.time() + 7 * 3600)
    assert int(m.group(1)) == wib.tm_year % 100 or int(m.group(1)) == (wib.tm_year - 1) % 100


def test_quectel_clock_synced_by_default(emulator):
    emu = emulator(dialect="EG91", powered=True)
    at = booted(emu)
    assert at.cmd("AT+CCLK?").line("+CCLK:").endswith('+28"')
    assert at.cmd("AT+QLTS=2").line("+QLTS:").startswith('+QLTS: "20')


def test_cops_deregister_and_back(emulator):
    emu = emulator(dialect="EC200U", powered=True)
    at = booted(emu)
    assert at.cmd("AT+CEREG=1").ok
    assert at.cmd("AT+COPS=2").ok
    at.wait_for(b"+CEREG: 0")
    assert at.cmd("AT+COPS=0").ok
    at.wait_for(b"+CEREG: 1")


def test_flight_pin_low_takes_radio_off(emulator):
    emu = emulator(dialect="SIM7600", powered=True)
    at = booted(emu)
    assert at.cmd("AT+CEREG=1").ok
    emu.set_pin("FLIGHT", 0)
    at.wait_for(b"+CEREG: 0")
    emu.set_pin("FLIGHT", 1)
    at.wait_for(b"+CEREG: 1")
