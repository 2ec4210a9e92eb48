"""The whole radio (ht.radio.boot) under MicroPython, riding MQTT through the modem emulator's TLS client to a
real Mosquitto TLS listener (mqtts://, the CA given as `htctl provision --ca` installs it): it comes online,
talks real speech that another radio hears, loses coverage and comes back over a new TLS session. With the
wrong CA it never comes online, its readiness reason says why (Bahasa beside English), and the broker never
sees its login (no fallback to plain TCP)."""
import json

import pytest

from fixtures.mpy import run_mpy
from htctl.mosquitto import fleet_rights, free_port, make_ca_and_server_cert
from htsim import rig, speech

drv = rig.load("radio_driver")
pytestmark = pytest.mark.sim
UNITS = ("a", "b", "c")


def tls_broker(mosquitto, arbiter, tmp_path):
    # a TLS listener for the radio through the modem; the plain one stays on loopback for the other radios,
    # the console and the floor arbiters (as `htctl broker write --tls-*` writes it)
    certs = make_ca_and_server_cert(tmp_path, "127.0.0.1")
    tls_port = free_port()
    extra = "\n".join(["listener %d 127.0.0.1" % tls_port, "cafile %s" % certs["ca"],
                       "certfile %s" % certs["cert"], "keyfile %s" % certs["key"], "tls_version tlsv1.2"])
    users = {u: drv.password(u) for u in UNITS + ("cc",)}
    users.update({"arb-a": "pw-arb-a", "arb-b": "pw-arb-b"})
    m = mosquitto(users=users, acl=fleet_rights(drv.FLEET, {u: ["1"] for u in UNITS}, command_center=("cc",)),
                  extra_config=extra)
    arbiter(m, drv.FLEET, ("1",), key=drv.KEY)     # floor messages and records carry the fleet key's tag
    return m, tls_port, certs


def _args(m, emu, tmp_path, tls_port, ca, talk_only=False):
    pcm = speech.load()[: 8000 * 2]
    mic = tmp_path / "mic.raw"
    mic.write_bytes(pcm.astype("<i2").tobytes())
    a = {"host": m.host, "port": m.port, "out": str(tmp_path), "scenario": "modem", "mic": str(mic),
         "tls": {"port": tls_port, "ca": ca}, "talk_only": talk_only,
         "emu": {"uart": emu.uart_port, "ctl": emu.ctl_port, "scale": emu.time_scale}}
    (tmp_path / "args.json").write_text(json.dumps(a))
    return tmp_path / "args.json"


@pytest.mark.mpy
def test_micropython_radio_talks_through_modem_tls(mosquitto, arbiter, emulator, tmp_path):
    m, tls_port, certs = tls_broker(mosquitto, arbiter, tmp_path)
    emu = emulator(dialect="A7670", powered=True, time_scale=0.05)
    args = _args(m, emu, tmp_path, tls_port, certs["ca"])
    r = run_mpy([rig.program("radio_driver"), "@%s" % args], timeout=240, heap="16M")
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
    assert line, r.stdout[-3000:] + r.stderr[-3000:]
    res = json.loads(line[0][7:])
    heard = (tmp_path / "b.raw").read_bytes()
    assert len(heard) > 1 * 8000 * 2, len(heard)          # b heard a's burst, which crossed TLS
    # the data plan counts what the air carries, TLS records and handshakes included (the UART only sees
    # plaintext: ht.modem.tls adds the record and handshake bytes); without them it read ~75 % of the wire
    wire = emu.state["bytes"]["sock_tx"] + emu.state["bytes"]["sock_rx"]
    assert 0.8 * wire <= res["plan_bytes"] <= 1.1 * wire, (res["plan_bytes"], wire)
    assert [n for n, _ in emu.sms_log] == ["+628111000111", "+628111000222"]
    # two TLS sessions to the TLS listener: the first, and the one after coverage came back
    sessions = [e for _, e in emu.events if e.startswith("tls ") and "TLSv1.2 to 127.0.0.1:%d" % tls_port in e]
    assert len(sessions) >= 2, emu.events[-20:]
    assert not [e for _, e in emu.events if "refused" in e]


@pytest.mark.mpy
def test_micropython_radio_with_wrong_ca_refuses_and_says_why(mosquitto, arbiter, emulator, tmp_path):
    m, tls_port, _ = tls_broker(mosquitto, arbiter, tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    wrong = make_ca_and_server_cert(other, "127.0.0.1")["ca"]
    emu = emulator(dialect="A7670", powered=True, time_scale=0.05)    # the rig's board has an A7670
    src = """
import sys, json, asyncio
import radio_driver as drv
from radio_modem import _through_modem
from ht.compat import ticks_ms, ticks_diff
async def main():
    args = json.loads(open("%s").read())
    rig = drv.Rig(args["host"], args["port"])
    a, sup, hal = _through_modem(drv, rig, "a", args, args["emu"])
    sup.start()
    t = asyncio.create_task(a.run())
    t0 = ticks_ms()
    while ticks_diff(ticks_ms(), t0) < 60000 and not (a.link.data_up and a.link.reason_id.startswith("TLS")):
        await asyncio.sleep(0.05)
    await asyncio.sleep(1)
    print("RESULT " + json.dumps({"online": a.online, "stage": a.link.stage, "reason": a.link.reason,
                                  "reason_id": a.link.reason_id}))
    t.cancel()
    sup.stop()
asyncio.run(main())
""" % _args(m, emu, tmp_path, tls_port, wrong)
    prog = tmp_path / "wrongca.py"
    prog.write_text(src)
    r = run_mpy([prog], timeout=180, heap="16M")
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
    assert line, r.stdout[-3000:] + r.stderr[-3000:]
    res = json.loads(line[-1][7:])
    assert not res["online"] and res["stage"] == "data", (res, emu.events[-30:])
    assert res["reason_id"] == "TLS ditolak: sertifikat broker tidak dipercaya atau kedaluwarsa (galat modem 15)"
    assert res["reason"].startswith("TLS refused"), res
    assert " as a " not in m.log()           # the broker never saw its login
    assert any("refused" in e for _, e in emu.events)
