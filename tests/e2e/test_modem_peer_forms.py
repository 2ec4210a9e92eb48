"""The radio against modem output forms ModemManager's vectors show (docs/MODEM.md, "Forms real modems
print"): the emulator speaks them, the firmware runs under MicroPython unix
(host_tools/htsim/rig/peer_forms.py), and what the radio then does is what a user would notice."""
import json

import pytest

from fixtures.mpy import run_mpy
from htsim import rig
from ht.modem import link as L

SCALE = 0.05


def _mpy(emu, case):
    r = run_mpy([rig.program("peer_forms"), case, emu.dialect.name, str(emu.uart_port), str(emu.ctl_port),
                 str(SCALE)], timeout=240)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, r.stdout + r.stderr
    return json.loads(lines[-1][7:])


@pytest.mark.sim
@pytest.mark.mpy
@pytest.mark.parametrize("dialect", ["A7670", "EC200U"])
def test_network_locked_modem_says_so_instead_of_waiting(dialect, emulator):
    emu = emulator(dialect=dialect, time_scale=SCALE)
    emu.fault("sim_lock", code="PH-NET PIN")
    out = _mpy(emu, "lock")
    assert out["locked"], out
    assert "another network" in out["reason"] and "jaringan lain" in out["reason_id"], out
    assert L.DATA_UP not in out["states"] and out["at_errors"] == 0, out


@pytest.mark.sim
@pytest.mark.mpy
@pytest.mark.parametrize("codes", ["2", "3", "2,3"])
def test_ussd_answer_survives_release_and_other_client_notices(codes, emulator):
    emu = emulator(dialect="A7670", time_scale=SCALE)
    emu.fault("ussd_notice", codes=codes)
    out = _mpy(emu, "ussd")
    assert out["up"], out
    bal = out["balance"]
    assert bal and bal["balance_rp"] == 12500 and bal["status"] == "answer", out
    assert out["ussd"] == "answer"


@pytest.mark.sim
@pytest.mark.mpy
def test_unquoted_clock_and_ucs2_operator_name_are_read(emulator):
    # a build that prints +CCLK without quotes and refuses AT+CSCS, staying in UCS2
    emu = emulator(dialect="SIM7600", time_scale=SCALE)
    emu.fault("quirks", cclk_quoted=0, charset="UCS2", charset_locked=1)
    out = _mpy(emu, "forms")
    assert out["up"], out
    assert out["operator"] == "TELKOMSEL", out
    assert out["clock"] and out["clock"][0] >= 2024 and out["tz"] == 28, out
