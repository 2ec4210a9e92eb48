"""Modem emulator: control port, scenario files, `python -m htsim.emu` and `htctl emu`, UART client handover."""
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading

import pytest

from fixtures.emu import AtPort, booted, let_pass, wait_until
from fixtures.terminal import as_from_a_terminal

pytestmark = pytest.mark.sim
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ctl(port, *lines):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        f = s.makefile("rwb")
        out = []
        for ln in lines:
            f.write(ln.encode() + b"\n")
            f.flush()
            out.append(f.readline().decode().rstrip("\n"))
        return out


def test_control_port_pins_faults_status(emulator):
    emu = emulator(dialect="EC200U")
    at = AtPort.tcp(emu.uart_port)
    assert ctl(emu.ctl_port, "pin PWRKEY 1") == ["ok"]
    let_pass(emu, 0.6, wall=True)         # Quectel needs >= 500 ms held, on the emulator's wall clock
    assert ctl(emu.ctl_port, "pin PWRKEY 0") == ["ok"]
    at.wait_for(b"RDY")
    wait_until(lambda: emu.state["reg_stat"] == 1, what="registration")
    replies = ctl(emu.ctl_port, "fault reg_lost duration_s=0", "status", "fault nosuch", "fault slow ms=abc",
                  "pin NOSE 1", "pin PWRKEY 7", "bogus", "help")
    assert replies[0] == "ok"
    st = json.loads(replies[1])
    assert st["reg_stat"] == 2 and st["net_mode"] == "lost" and st["dialect"] == "EC200U"
    assert replies[2].startswith("error unknown fault 'nosuch'")
    assert replies[3].startswith("error")
    assert replies[4].startswith("error unknown pin")
    assert replies[5] == "error level must be 0 or 1"
    assert replies[6].startswith("error unknown request")
    assert replies[7].startswith("ok pin")
    assert ctl(emu.ctl_port, "fault reg_home") == ["ok"]
    wait_until(lambda: emu.state["reg_stat"] == 1, what="back home")


def test_control_port_events_and_sms(emulator):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    assert at.cmd("AT+CMGF=1").ok
    at.write(b'AT+CMGS="+62811"\r')
    at.wait_for(b"> ")
    at.write(b"tolong\x1a")
    assert at.cmd(b"").ok
    assert json.loads(ctl(emu.ctl_port, "sms")[0]) == [["+62811", "tolong"]]
    events = json.loads(ctl(emu.ctl_port, "events 5")[0])
    assert len(events) <= 5 and any("SMS to +62811" in e[1] for e in events)
    assert ctl(emu.ctl_port, "events x")[0].startswith("error")


def test_control_port_survives_floods(emulator):
    emu = emulator(dialect="A7670", powered=True)
    with socket.create_connection(("127.0.0.1", emu.ctl_port)) as s:
        s.sendall(b"x" * 200000 + b"\n")
    assert ctl(emu.ctl_port, "status")[0].startswith("{")


def test_scenario_from_file(emulator, tmp_path):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    assert at.cmd("AT+CEREG=1").ok
    steps = [{"at_s": 1, "fault": "sim_remove"}, {"at_s": 3, "fault": "sim_insert"},
             {"at_s": 8, "pin": "RESET", "level": 1}, {"at_s": 8.5, "pin": "RESET", "level": 0}]
    path = tmp_path / "s.json"
    path.write_text(json.dumps(steps))
    assert emu.run_scenario(str(path)) == 4
    at.wait_for(b"+CPIN: SIM REMOVED")
    at.wait_for(b"+CPIN: READY")
    at.wait_for(b"+CEREG: 1")
    at.wait_for(b"*ATREADY: 1")


def test_scenario_repeating_step(emulator):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    assert at.cmd("AT+CEREG=1").ok
    emu.run_scenario([{"at_s": 5, "every_s": 10, "jitter_s": 2, "count": 3, "fault": "reg_lost",
                       "duration_s": 2}])
    for _ in range(3):
        at.wait_for(b"+CEREG: 2\r\n")
        at.wait_for(b"+CEREG: 1\r\n")
    wait_until(lambda: sum("fault reg_lost" in e for _, e in emu.events) == 3, what="three repeats")
    let_pass(emu, 25)                     # 25 emulated s more: count=3 means no fourth one
    assert sum("fault reg_lost" in e for _, e in emu.events) == 3


@pytest.mark.parametrize("steps,msg", [
    ([{"at_s": -1, "fault": "hang"}], "step 0: at_s"),
    ([{"at_s": 1, "fault": "hang"}, {"at_s": 2, "fault": "melt"}], "step 1: unknown fault"),
    ([{"at_s": 1, "pin": "RESET", "level": 3}], "step 0: pin needs level"),
    ([{"at_s": 1}], "needs 'fault' or 'pin'"),
    ([{"at_s": 1, "fault": "slow", "msec": 5}], "step 0: slow: got an unexpected keyword"),
    ({"at_s": 1}, "JSON list"),
    ([{"at_s": 1, "every_s": 0, "fault": "pdp_drop"}], "every_s must be"),
    ([{"at_s": 1, "every_s": 5, "jitter_s": 9, "fault": "pdp_drop"}], "jitter_s must be"),
    ([{"at_s": 1, "count": 2, "fault": "pdp_drop"}], "need every_s"),
])
def test_scenario_rejected_whole(emulator, steps, msg):
    emu = emulator(dialect="A7670", powered=True)
    with pytest.raises(ValueError, match=msg):
        emu.run_scenario(steps)
    let_pass(emu, 5)
    assert emu.state["power"] in ("booting", "on")     # nothing of the bad file was applied


def test_scenario_bad_json_file(emulator, tmp_path):
    emu = emulator(dialect="A7670")
    p = tmp_path / "bad.json"
    p.write_text("[{")
    with pytest.raises(ValueError, match="not valid JSON"):
        emu.run_scenario(str(p))


def test_new_uart_client_replaces_old(emulator):
    emu = emulator(dialect="A7670", powered=True)
    first = booted(emu)
    second = AtPort.tcp(emu.uart_port)
    let_pass(emu, 10)
    assert second.cmd("AT").ok
    assert first.pump(0.2) == b""      # the old connection was closed: EOF, nothing more


def test_python_m_htctl_emu_prints_ports_and_stops_on_signal(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "host_tools"))
    scen = os.path.join(tmp_path, "steps.json")
    with open(scen, "w") as f:
        json.dump([{"at_s": 40, "fault": "sim_remove"}], f)
    p = subprocess.Popen([sys.executable, "-m", "htsim.emu", "--dialect", "SIM7600", "--pty", "--powered",
                          "--time-scale", "0.02", "--json", "--scenario", scen], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, text=True, preexec_fn=as_from_a_terminal)
    try:
        info = json.loads(p.stdout.readline())
        assert info["dialect"] == "SIM7600" and info["pty"].startswith("/dev/")
        assert info["scenario_steps"] == 1
        at = AtPort.serial(info["pty"])
        at.wait_for(b"RDY")
        assert at.cmd("AT").ok
        at.wait_for(b"+SIMCARD: NOT AVAILABLE")          # the scenario ran: 40 emulated s = 0.8 s
        assert json.loads(ctl(info["ctl_port"], "status")[0])["booted"]
        at.close()
    finally:
        p.send_signal(signal.SIGINT)
        rc = p.wait(timeout=20)
    assert rc == 130   # Ctrl-C: 130 like htctl's long-running commands (it was 0: issue 13)


def test_python_m_htctl_emu_bad_dialect_exits_2():
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "host_tools"))
    r = subprocess.run([sys.executable, "-m", "htsim.emu", "--dialect", "BG96"], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 2 and "unknown modem dialect 'BG96'" in r.stderr


def test_htctl_emu_command(emulator):
    from htctl.cli import main
    stop = threading.Event()
    out = io.StringIO()
    rc = []
    t = threading.Thread(target=lambda: rc.append(main(["emu", "--dialect", "EG91", "--powered", "--time-scale",
                                                        "0.02", "--json"], stdout=out, stop_event=stop)))
    t.start()
    try:
        wait_until(lambda: out.getvalue().strip(), what="port listing")
        info = json.loads(out.getvalue())
        at = AtPort.tcp(info["uart_port"])
        at.wait_for(b"RDY")
        assert at.cmd("AT+QCCID").ok
    finally:
        stop.set()
        t.join(timeout=20)
    assert rc == [0]
    err = io.StringIO()
    assert main(["emu", "--dialect", "nope"], stderr=err, stop_event=stop) == 2
    assert "unknown modem dialect" in err.getvalue()
