"""Modem emulator: power/boot, echo, error formats, identity, robustness against bad input."""
import pytest

from fixtures.emu import AtPort, booted, let_pass, wait_until

pytestmark = pytest.mark.sim

DIALECTS = ["A7670", "SIM7600", "EC200U", "EG91"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_boot_needs_pwrkey_pulse_then_banner_and_sim_urcs(emulator, dialect):
    emu = emulator(dialect=dialect)
    at = AtPort.tcp(emu.uart_port)
    at.write(b"AT\r")                       # modem is off: nothing answers
    assert at.drain(0.3) == b""
    assert not emu.state["powered"]
    emu.power_on()
    at.wait_for(emu.dialect.banner[0].encode())
    at.wait_for(b"+CPIN: READY")
    if emu.dialect.family == "quectel":
        at.wait_for(b"+QIND: PB DONE")
    else:
        at.wait_for(b"PB DONE")
    r = at.cmd("AT")
    assert r.ok and b"AT\r\r\nOK" in r.raw      # echo is on by default
    assert emu.state["booted"]


@pytest.mark.parametrize("dialect,short_ms", [("A7670", 10), ("SIM7600", 100), ("EC200U", 100)])
def test_too_short_pwrkey_pulse_does_not_boot(emulator, dialect, short_ms):
    emu = emulator(dialect=dialect)
    # Timed in the emulator's loop: a sleep here could oversleep past the threshold on a loaded machine
    # (10 ms asked, 60 ms slept: the A7670 would boot and the test fail for the machine's sake).
    emu.pulse_pin("PWRKEY", short_ms)
    let_pass(emu, 0.8, wall=True)          # past every threshold's check, which has run in the loop by then
    assert emu.state["power"] == "off"


def test_pty_uart_boot_and_command(emulator):
    emu = emulator(dialect="SIM7600")
    path = emu.open_pty()
    assert path.startswith("/dev/")
    at = AtPort.serial(path)
    emu.power_on()
    at.wait_for(b"RDY")
    r = at.cmd("ATE0")
    assert r.ok
    r = at.cmd("AT+CGSN")
    assert r.ok and "861234567890127" in r.lines


@pytest.mark.parametrize("dialect", DIALECTS)
def test_identity_and_error_formats(emulator, dialect):
    emu = emulator(dialect=dialect, powered=True, imei="867000000000042")
    at = booted(emu)
    assert at.cmd("AT+CGSN").lines == ["867000000000042", "OK"]
    assert at.cmd("AT+CIMI").lines == ["510101234567890", "OK"]
    if emu.dialect.family == "quectel":
        assert at.cmd("AT+QCCID").line("+QCCID:") == "+QCCID: 8962100000000000002F"
    else:
        assert at.cmd("AT+CICCID").line("+ICCID:") == "+ICCID: 8962100000000000002F"
    assert at.cmd("AT+NOSUCHCMD").final == "ERROR"
    assert at.cmd("AT+CPIN=1234").final == "+CME ERROR: operation not allowed"
    assert at.cmd("AT+CMEE=1").ok
    assert at.cmd("AT+CPIN=1234").final == "+CME ERROR: 3"
    assert at.cmd("AT+CMEE=0").ok
    assert at.cmd("AT+CPIN=1234").final == "ERROR"
    assert at.cmd("AT+CMEE?").line("+CMEE:") == "+CMEE: 0"


def test_chained_commands_and_case(emulator):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    r = at.cmd("at+cmee=1;+CEREG=2;+CEREG?")
    assert r.ok and r.line("+CEREG:").startswith("+CEREG: 2,1,")
    assert at.cmd("AT+CMEE?").line("+CMEE:") == "+CMEE: 1"
    r = at.cmd("AT+CMEE=1;+BOGUS;+CMEE=0")     # the first failing command stops the line
    assert r.final == "ERROR"
    assert at.cmd("AT+CMEE?").line("+CMEE:") == "+CMEE: 1"


@pytest.mark.parametrize("junk", [
    b"\x00\x00\x00\r", b"\xff\xfe\xfd garbage\r", b"hello\r", b"AT+CSQ\x00\r", b"AT+CPIN=\"12\r",
    b"A" * 5000 + b"\r", bytes(range(256)) + b"\r",
])
def test_garbage_gets_error_and_modem_carries_on(emulator, junk):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu, registered=False)
    at.drain(0.2)
    at.write(junk)
    at.wait_for(b"\r\nERROR\r\n")   # the junk line is answered with ERROR...
    at.drain(0.3)
    r = at.cmd("AT")                 # ...and a clean command still works afterwards
    assert r.ok
    assert emu.state["booted"]


def test_overlong_line_is_error_not_crash(emulator):
    emu = emulator(dialect="EC200U", powered=True)
    at = booted(emu, registered=False)
    r = at.cmd(b"AT+CGDCONT=1,\"IP\",\"" + b"x" * 3000 + b"\"")
    assert r.final == "ERROR"
    assert at.cmd("AT+CSQ").ok


def test_cpof_powers_off_and_pwrkey_boots_again(emulator):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu, registered=False)
    assert at.cmd("AT+CPOF").ok
    wait_until(lambda: emu.state["power"] == "off", what="power off")
    emu.power_on()
    at.wait_for(b"*ATREADY: 1")
    assert at.cmd("AT").ok


def test_qpowd_prints_powered_down(emulator):
    emu = emulator(dialect="EG91", powered=True)
    at = booted(emu, registered=False)
    assert at.cmd("AT+QPOWD").ok
    at.wait_for(b"POWERED DOWN")
    wait_until(lambda: emu.state["power"] == "off", what="power off")


def test_long_pwrkey_press_turns_running_modem_off(emulator):
    emu = emulator(dialect="EC200U", powered=True)
    at = booted(emu, registered=False)
    emu.pulse_pin("PWRKEY", 900)           # >= 650 ms for Quectel, timed in the emulator's loop
    at.wait_for(b"POWERED DOWN")
    assert emu.state["power"] == "off"


def test_reset_pin_reboots(emulator):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu, registered=False)
    emu.set_pin("RESET", 1)
    wait_until(lambda: emu.state["power"] == "reset", what="reset held")
    at.write(b"AT\r")
    emu.set_pin("RESET", 0)
    at.wait_for(b"*ATREADY: 1")
    assert at.cmd("AT").ok


def test_poweron_pin_cuts_supply(emulator):
    emu = emulator(dialect="A7670", powered=True)
    booted(emu, registered=False)
    emu.set_pin("POWERON", 0)
    assert emu.state["power"] == "off"
    emu.power_on()           # no supply: PWRKEY does nothing
    assert emu.state["power"] == "off"
    emu.set_pin("POWERON", 1)
    emu.power_on()
    wait_until(lambda: emu.state["booted"], what="boot")


def test_baud_throttles_and_ipr_switches(emulator):
    emu = emulator(dialect="A7670", powered=True, baud=9600)
    at = booted(emu, registered=False)
    assert at.cmd("AT+IPR?").line("+IPR:") == "+IPR: 9600"
    assert at.cmd("AT+IPR=921600").ok
    wait_until(lambda: emu.state["baud"] == 921600, what="new baud")
    assert at.cmd("AT+IPR?").line("+IPR:") == "+IPR: 921600"


def test_flood_while_busy_is_dropped_not_buffered_forever(emulator):
    emu = emulator(dialect="A7670", powered=True, baud=None)
    at = booted(emu, registered=False)
    emu.fault("slow", ms=20000)            # 0.4 s wall: the modem is busy with the first command
    at.write(b"AT\r" + b"x" * 300000)
    wait_until(lambda: emu.state["bytes"]["dropped_rx"] > 0, what="input dropped")
    emu.fault("slow", ms=0)
    at.write(b"\r")
    at.drain(1.0)
    assert at.cmd("AT").ok


def test_default_identity_passes_the_registry_checks():
    # A default `htctl vdev start` radio must be provisionable: `htctl provision` refuses an ICCID or IMEI
    # failing its Luhn digit (a misread card), so the emulator's defaults must be numbers a real
    # Telkomsel card (89 62 10 ...) and a real modem could carry.
    import argparse
    from htctl import registry
    from htsim.emu import ModemEmulator, SimCard
    from htsim.emu.__main__ import build_parser

    emu = ModemEmulator()
    iccid = registry.norm_iccid(emu.sim.iccid)
    assert iccid.startswith("896210") and registry.norm_imei(emu.imei) == emu.imei
    assert SimCard().iccid == emu.sim.iccid
    args = build_parser(argparse.ArgumentParser(), json_option=False).parse_args([])
    assert registry.norm_iccid(args.iccid) == iccid and registry.norm_imei(args.imei) == emu.imei
