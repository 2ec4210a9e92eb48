"""Everyday conventions a technician expects from esptool/mpremote: ports listed and auto-detected, -p on every
command that talks to a radio, shell completion, plain tables on a pipe."""
import json
import pathlib
import subprocess
import sys

import pytest

from fixtures.cli import run_htctl as run
from htctl import ports
from htctl.cli import build_parser

HTCTL = pathlib.Path(sys.executable).parent / "htctl"
RADIO = {"port": "/dev/ttyACM0", "vid": "303a", "pid": "1001", "serial": "A1", "what": "Espressif USB",
         "likely": True}
OTHER = {"port": "/dev/ttyUSB3", "vid": "067b", "pid": "2303", "serial": None, "what": "GPS", "likely": False}


def test_ports_lists_radios_first():
    code, out, _ = run(["ports", "--json"], ports=[RADIO, OTHER])
    assert code == 0 and [p["port"] for p in json.loads(out)] == ["/dev/ttyACM0", "/dev/ttyUSB3"]
    code, out, _ = run(["ports"], ports=[])
    assert code == 0 and "no USB serial port" in out


def test_port_auto_picks_the_one_radio_or_says_why_not():
    assert ports.auto_port([OTHER, RADIO]) == "/dev/ttyACM0"
    with pytest.raises(Exception, match="2 radios connected"):
        ports.auto_port([RADIO, dict(RADIO, port="/dev/ttyACM1")])
    code, _, err = run(["bench", "-p", "auto"], ports=[])
    assert code == 4 and "no radio found" in err and "htctl ports" in err


@pytest.mark.parametrize("command", ["flash", "deploy", "provision", "bench"])
def test_every_radio_command_takes_dash_p(command):
    sub = build_parser()._subparsers._group_actions[0].choices[command]
    opts = {s for a in sub._actions for s in a.option_strings}
    assert {"-p", "--port"} <= opts


def test_shell_completion_knows_the_commands():
    code, out, _ = run(["completion", "bash"])
    assert code == 0 and "provision" in out and "--broker" in out and "complete" in out


def test_tables_on_a_pipe_have_no_box_drawing():
    r = subprocess.run([str(HTCTL), "boards", "list"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    assert not set("│┃━─┏┗╇") & set(r.stdout)
    lines = r.stdout.splitlines()
    assert lines[0].split()[0] == "board" and set(lines[1]) <= {"-", " "}
    assert any(ln.startswith("LILYGO_T_A7670 ") for ln in lines)
