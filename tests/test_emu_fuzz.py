"""Modem emulator: hypothesis on its parser, SIM state machine and whole UART path - bad input never kills it."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.emu import AtPort, ModemEmulator, booted
from htctl.emu.atparse import AtError, parse_line, split_args
from htctl.emu.sim import SimCard

pytestmark = pytest.mark.sim


@given(st.text(max_size=200))
def test_parse_line_only_raises_at_error(body):
    try:
        cmds = parse_line(body)
    except AtError:
        return
    for c in cmds:
        assert c.kind in ("exec", "set", "read", "test") and c.name


@given(st.lists(st.text(alphabet="abc1 ", max_size=5), min_size=1, max_size=6))
def test_split_args_round_trip(parts):
    quoted = ['"%s"' % p for p in parts]
    assert [a.strip('"') for a in split_args(",".join(quoted))] == parts


@given(st.lists(st.tuples(st.sampled_from(["pin", "puk"]), st.booleans()), max_size=30))
def test_sim_state_machine(steps):
    sim = SimCard(pin="1234", puk="11112222")
    sim.power_up()
    for kind, right in steps:
        st_before = sim.status()
        try:
            if kind == "pin":
                ok = sim.enter_pin("1234" if right else "9999")
            else:
                ok = sim.enter_puk("11112222" if right else "00000000", "4321")
        except ValueError:
            assert st_before != ("pin" if kind == "pin" else "puk")
            continue
        assert ok == right
        assert 0 <= sim.pin_retries <= 3 and 0 <= sim.puk_retries <= 10
        if ok:
            assert sim.status() == "ready"
        if st_before == "puk" and not ok and sim.puk_retries == 0:
            assert sim.status() == "dead"
    assert sim.status() in ("pin", "puk", "dead", "ready")


@pytest.fixture(scope="module")
def fuzz_modem():
    emu = ModemEmulator(dialect="A7670", powered=True, time_scale=0.02, baud=None, imei="861234567890777").start()
    at = booted(emu)
    yield emu, at
    emu.stop()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=400),
                 st.lists(st.sampled_from([b"AT", b"+", b"CPIN", b"=", b"?", b'"', b",", b";", b"\x00", b"\r",
                                           b"\n", b"\xff", b"CSQ", b"E0", b"S3=", b"&F", b"CGDCONT"]),
                          max_size=40).map(b"".join)))
def test_random_bytes_never_break_the_modem(fuzz_modem, junk):
    emu, at = fuzz_modem
    at.write(junk + b"\x1b\r")      # ESC + CR: also leaves any prompt the junk might have opened
    at.write(b"AT+CGSN\r")
    at.wait_for(b"861234567890777\r\n\r\nOK\r\n", timeout=30)
    at.drain(0.02)
    assert emu.state["booted"]
