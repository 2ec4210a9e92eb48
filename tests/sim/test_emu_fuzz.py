"""Modem emulator: hypothesis on its parser, SIM state machine and whole UART path - bad input never kills it."""
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from fixtures.emu import ModemEmulator, booted, let_pass
from htsim.emu.atparse import AtError, parse_line, split_args
from htsim.emu.sim import SimCard

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


class RegistrationMachine(RuleBasedStateMachine):
    """Random CFUN / CEREG / SIM / network events: the read form always matches the model, every command
    gets exactly one final result, and the modem never stops answering."""

    def __init__(self):
        super().__init__()
        self.emu = ModemEmulator(dialect="EC200U", powered=True, time_scale=0.02, baud=None).start()
        self.at = booted(self.emu, registered=False)
        self.cfun, self.n, self.sim = 1, 0, True

    @rule(v=st.sampled_from([0, 1, 4]))
    def cfun_set(self, v):
        assert self.at.cmd("AT+CFUN=%d" % v).ok
        self.cfun = v

    @rule(n=st.sampled_from([0, 1, 2]))
    def cereg_set(self, n):
        assert self.at.cmd("AT+CEREG=%d" % n).ok
        self.n = n

    @rule(name=st.sampled_from(["roaming", "reg_home", "reg_denied", "sim_remove", "sim_insert"]))
    def network_event(self, name):
        self.emu.fault(name)
        if name.startswith("sim_"):
            self.sim = name == "sim_insert"

    @rule(wait=st.sampled_from([0.0, 2.5, 10.0]))
    def let_time_pass(self, wait):
        let_pass(self.emu, wait)    # emulated s: registration timers may fire

    @invariant()
    def cereg_read_matches_model(self):
        r = self.at.cmd("AT+CEREG?")
        assert r.ok, r
        m = re.match(r'\+CEREG: (\d),(\d+)(,"[0-9A-F]{4}","[0-9A-F]{8}",7)?$', r.line("+CEREG: %d," % self.n))
        assert m, r
        stat = int(m.group(2))
        assert stat in (0, 1, 2, 3, 5)
        if self.cfun != 1 or not self.sim:
            assert stat == 0
        assert bool(m.group(3)) == (self.n == 2 and stat in (1, 5))

    @invariant()
    def cpin_matches_model(self):
        r = self.at.cmd("AT+CPIN?")
        if not self.sim:
            assert r.final == "+CME ERROR: SIM not inserted"
        else:
            assert r.line("+CPIN:") == "+CPIN: READY" or r.final == "+CME ERROR: SIM busy"

    def teardown(self):
        try:
            rest = self.at.drain(0.1)
            assert re.search(rb"\r\n(OK|ERROR|\+CME ERROR[^\r]*)\r\n", rest) is None, rest
        finally:
            self.at.close()
            self.emu.stop()


RegistrationMachine.TestCase.settings = settings(max_examples=12, stateful_step_count=12, deadline=None)
test_registration_state_machine = pytest.mark.sim(RegistrationMachine.TestCase)
