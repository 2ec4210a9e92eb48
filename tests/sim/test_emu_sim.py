"""Modem emulator: SIM states — PIN, retries, PUK, dead card, missing card — in every dialect."""
import pytest

from fixtures.emu import SimCard, booted, wait_until

pytestmark = pytest.mark.sim

DIALECTS = ["A7670", "SIM7600", "EC200U", "EG91"]


def retries(at, emu):
    if emu.dialect.family == "quectel":
        line = at.cmd("AT+QPINC?").line('+QPINC: "SC"')
        pin, puk = line.split(",")[1:3]
    else:
        pin, puk = at.cmd("AT+SPIC").line("+SPIC:").split(":")[1].split(",")[:2]
    return int(pin), int(puk)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_pin_locked_sim_unlocks_with_right_pin(emulator, dialect):
    emu = emulator(dialect=dialect, powered=True, sim=SimCard(pin="1234"))
    at = booted(emu, registered=False)
    at.wait_seen(b"+CPIN: SIM PIN")
    assert at.cmd("AT+CPIN?").line("+CPIN:") == "+CPIN: SIM PIN"
    assert at.cmd("AT+CIMI").final == "+CME ERROR: SIM PIN required"
    assert at.cmd("AT+CEREG?").line("+CEREG:") == "+CEREG: 0,0"   # no registration without the PIN
    assert retries(at, emu) == (3, 10)
    assert at.cmd("AT+CPIN=1234").ok
    at.wait_for(b"+CPIN: READY")
    assert at.cmd("AT+CIMI").ok
    wait_until(lambda: emu.state["reg_stat"] == 1, what="registration after PIN")


@pytest.mark.parametrize("dialect", ["A7670", "EC200U"])
def test_wrong_pins_count_down_then_puk_then_new_pin(emulator, dialect):
    emu = emulator(dialect=dialect, powered=True, sim=SimCard(pin="1234", puk="87654321"))
    at = booted(emu, registered=False)
    at.wait_seen(b"+CPIN: SIM PIN")
    assert at.cmd("AT+CPIN=0000").final == "+CME ERROR: incorrect password"
    assert retries(at, emu) == (2, 10)
    assert at.cmd('AT+CPINR="SIM PIN"').line("+CPINR:") == '+CPINR: "SIM PIN",2,3'
    assert at.cmd("AT+CPIN=1111").final == "+CME ERROR: incorrect password"
    assert at.cmd("AT+CPIN=2222").final == "+CME ERROR: incorrect password"
    at.wait_seen(b"+CPIN: SIM PUK")
    assert at.cmd("AT+CPIN?").line("+CPIN:") == "+CPIN: SIM PUK"
    assert at.cmd("AT+CPIN=1234").final == "+CME ERROR: SIM PUK required"   # PIN alone no longer enough
    assert at.cmd('AT+CPIN="11111111","4321"').final == "+CME ERROR: incorrect password"
    assert retries(at, emu)[1] == 9
    assert at.cmd('AT+CPIN="87654321","4321"').ok
    at.wait_for(b"+CPIN: READY")
    assert emu.sim.pin == "4321"
    assert retries(at, emu) == (3, 10)


def test_puk_exhausted_kills_card(emulator):
    emu = emulator(dialect="SIM7600", powered=True, sim=SimCard(pin="1234", pin_retries=0, puk_retries=1))
    at = booted(emu, registered=False)
    at.wait_seen(b"+CPIN: SIM PUK")
    assert at.cmd('AT+CPIN="00000000","1111"').final == "+CME ERROR: incorrect password"
    assert at.cmd("AT+CPIN?").final == "+CME ERROR: SIM failure"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_no_sim_is_cme_10(emulator, dialect):
    emu = emulator(dialect=dialect, powered=True, sim=SimCard(present=False))
    at = booted(emu, registered=False)
    assert at.cmd("AT+CPIN?").final == "+CME ERROR: SIM not inserted"
    assert at.cmd(emu.dialect.iccid_cmd.join(("AT", ""))).final == "+CME ERROR: SIM not inserted"
    assert at.cmd("AT+CMEE=1").ok
    assert at.cmd("AT+CPIN?").final == "+CME ERROR: 10"
    assert at.cmd("AT+CIMI").final == "+CME ERROR: 10"
    assert emu.state["reg_stat"] == 0
    assert b"+CPIN: SIM REMOVED" in at.seen or b"+CPIN: NOT READY" in at.seen


def test_iccid_readable_while_pin_locked(emulator):
    emu = emulator(dialect="A7670", powered=True, sim=SimCard(iccid="89621000000000000099", pin="1234"))
    at = booted(emu, registered=False)
    assert at.cmd("AT+CICCID").line("+ICCID:") == "+ICCID: 89621000000000000099"


def test_simcard_validates_its_inputs():
    with pytest.raises(ValueError):
        SimCard(iccid="123")
    with pytest.raises(ValueError):
        SimCard(imsi="51010abc")
    with pytest.raises(ValueError):
        SimCard(pin="12")


def test_quectel_pin_locked_boot_still_reports_cfun_and_usim(emulator):
    emu = emulator(dialect="EG91", powered=True, sim=SimCard(pin="1234"))
    at = booted(emu, registered=False)
    at.wait_seen(b"+CPIN: SIM PIN")
    at.wait_seen(b"+QUSIM: 1")
    assert b"+CFUN: 1" in at.seen
    assert b"SMS DONE" not in at.seen          # phonebook/SMS need the unlocked card
    assert at.cmd("AT+CPIN=1234").ok
    at.wait_seen(b"+QIND: PB DONE")
