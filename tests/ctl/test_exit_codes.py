"""docs/CLI.md's exit-code table, walked row by row as a user meets it, and "every argument is checked before
a radio is touched": a typo costs a message naming the option or variable, not a 5-second SIM read."""
import os
import pathlib
import re
import signal
import subprocess
import sys

import pytest

from fixtures.cli import run_htctl as run
from fixtures.terminal import as_from_a_terminal

HTCTL = pathlib.Path(sys.executable).parent / "htctl"
ROOT = pathlib.Path(__file__).resolve().parents[2]


class NeverOpened:
    """A transport factory that fails the test if a command opens a radio."""
    opened = []

    def __call__(self, port):
        self.opened.append(port)
        raise AssertionError("the radio was touched before the arguments were checked")


def _doc_codes():
    text = (ROOT / "docs" / "CLI.md").read_text()
    return {int(m.group(1)) for m in re.finditer(r"^\| (\d+) \| `EXIT_", text, re.M)}


def test_the_table_in_the_docs_is_the_one_walked_here():
    assert _doc_codes() == {0, 1, 2, 3, 4, 5, 70, 130}


def test_0_ok_and_2_usage(tmp_path):
    assert run(["boards", "list"])[0] == 0
    code, _, err = run(["fleet", "status", "--frobnicate"])
    assert code == 2 and err.startswith("error: ") and "Hint:" in err


def test_1_failed_check(tmp_path):
    bad = tmp_path / "board.json"
    bad.write_text('{"name": "X"}')
    assert run(["boards", "check", str(bad)])[0] in (1, 2)
    reg = tmp_path / "r.sqlite"
    csv = ROOT / "docs" / "inventory-example.csv"
    assert run(["fleet", "import", str(csv), "--registry", str(reg)])[0] == 0
    code, _, err = run(["fleet", "status", "--strict", "--registry", str(reg), "--no-broker"])
    assert code == 1 and ("not ready" in err or "belum siap" in err)


def test_3_missing_files(tmp_path):
    missing = str(tmp_path / "nope.json")
    for argv in (["sim", missing], ["fleet", "import", missing], ["bench", "--batch", missing],
                 ["provision", "--batch", missing, "--broker", "mqtt://h:1883"]):
        code, _, err = run(argv, transport=NeverOpened())
        assert code == 3, (argv, err)
        assert "nope.json" in err and "internal" not in err


def test_binary_input_is_bad_input_not_a_crash(tmp_path):
    blob = tmp_path / "scenario.json"
    blob.write_bytes(bytes(range(256)) * 4)
    for argv in (["sim", str(blob)], ["fleet", "import", str(blob)], ["bench", "--batch", str(blob)]):
        code, _, err = run(argv, transport=NeverOpened())
        assert code == 2, (argv, err)
        assert "internal error" not in err and "scenario.json" in err


def test_4_device_and_5_conflict_are_distinct_families():
    from htctl.errors import ConflictError, DeviceError
    assert DeviceError("x").exit_code == 4 and ConflictError("x").exit_code == 5


def test_4_port_auto_without_a_radio():
    code, _, err = run(["deploy", "--port", "auto"], ports=[])
    assert code == 4 and "no radio found" in err


@pytest.mark.parametrize("argv,names", [
    (["--broker", "mqtt//broker.kota.go.id:1883"], "--broker 'mqtt//broker.kota.go.id:1883'"),
    (["--broker", "mqtt://:1883"], "--broker"),
    (["--broker", "mqtt://h:99999"], "port must be 1-65535"),
    (["--broker", "mqtt://h:1883", "--apn", ""], "--apn ''"),
    (["--broker", "mqtt://h:1883", "--apn", "x" * 80], "--apn"),
    (["--broker", "mqtt://h:1883", "--workers", "0"], "--workers 0"),
    (["--broker", "mqtt://h:1883", "--unit", "nobody"], "nobody"),
])
def test_provision_checks_every_argument_before_the_radio(fleet_unit, argv, names):
    opener = NeverOpened()
    base = ["provision", "--registry", fleet_unit["registry"], "--port", "/dev/null"]
    if "--unit" not in argv:
        base += ["--unit", fleet_unit["unit"]]
    code, _, err = run(base + argv, transport=opener)
    assert code in (2, 3), err
    assert names in err, err
    assert not opener.opened


def test_provision_names_the_environment_variable(fleet_unit):
    env = dict(os.environ, HTCTL_BROKER_URL="mqtt//typo:1883", HTCTL_CONFIG="/nonexistent")
    code, _, err = run(["provision", "--registry", fleet_unit["registry"], "--port", "/dev/null", "--unit",
                        fleet_unit["unit"]], transport=NeverOpened(), environ=env)
    assert code == 2 and "$HTCTL_BROKER_URL 'mqtt//typo:1883'" in err
    env = dict(env, HTCTL_BROKER_URL="mqtt://h:1883", HTCTL_SIM_PIN="12")
    code, _, err = run(["provision", "--registry", fleet_unit["registry"], "--port", "/dev/null", "--unit",
                        fleet_unit["unit"]], transport=NeverOpened(), environ=env)
    assert code == 2 and "$HTCTL_SIM_PIN" in err and "12" not in err.split("$HTCTL_SIM_PIN")[1][:3]


def test_json_after_the_command_on_every_data_command(tmp_path, fleet_unit):
    out = tmp_path / "r.html"
    code, stdout, err = run(["fleet", "report", "--html", str(out), "--registry", fleet_unit["registry"],
                             "--no-broker", "--json"])
    assert code == 0, err
    import json
    assert json.loads(stdout)["html"] == str(out) and out.exists()


def _interrupt(argv, ready):
    p = subprocess.Popen([str(HTCTL)] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=as_from_a_terminal)
    try:
        line = p.stdout.readline()
        assert ready in line, line + p.stderr.read()
    finally:
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    return p.returncode, err


@pytest.mark.sim
def test_130_ctrl_c_on_emu():
    code, err = _interrupt(["emu", "--dialect", "A7670"], "modem emulator")
    assert code == 130 and "Traceback" not in err


@pytest.mark.sim
@pytest.mark.mpy
def test_130_ctrl_c_on_vdev_start(tmp_path):
    code, err = _interrupt(["vdev", "start", "--modem", "none", "--flash", str(tmp_path / "f")], "virtual device")
    assert code == 130 and "Traceback" not in err


@pytest.mark.sim
def test_130_ctrl_c_on_sim(tmp_path):
    p = subprocess.Popen([str(HTCTL), "sim", "demo", "--out", str(tmp_path / "o")], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, preexec_fn=as_from_a_terminal)
    try:
        p.stderr.readline()          # it started talking: the fleet is up
    finally:
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "Traceback" not in err
