"""TLS through the modem's own TLS stack (ht/modem/tls.py) against the modem emulator, which terminates real
TLS with Python's ssl (htsim.emu.tls), CA and server certificates made at test time. Both dialect families, on
CPython and under MicroPython: a binary echo through a TLS server, MQTT over TLS to a real Mosquitto TLS
listener, and the refusals (wrong CA, expired certificate, no CA) with the reason the radio shows; a refused
open never falls back to a plain socket (the server sees no plaintext)."""
import asyncio
import json

import pytest

from fixtures.mpy import run_mpy
from htsim import rig

SCALE = 0.05
FAMILY = {"simcom": ["A7670", "SIM7600"], "quectel": ["EC200U", "EG91"]}


def _cpython(emu, port, mode, ca, *more):
    drv = rig.load("tls_driver")
    return asyncio.run(drv.main([emu.dialect.name, str(emu.uart_port), str(emu.ctl_port), str(port), str(SCALE),
                                 mode, ca or "-"] + list(more)))


def _mpy(emu, port, mode, ca, *more):
    r = run_mpy([rig.program("tls_driver"), emu.dialect.name, emu.uart_port, emu.ctl_port, port, SCALE, mode,
                 ca or "-"] + list(more), timeout=300)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, r.stdout + r.stderr
    return json.loads(lines[-1][7:])


def _tls_sockets(emu):
    return [s for s in emu.state["sockets"].values() if s.get("tls")]


@pytest.mark.sim
@pytest.mark.parametrize("dialect", ["A7670", "EC200U"])
def test_cpython_tls_echo_is_byte_exact(dialect, emulator, tls_certs, tls_echo_server):
    certs = tls_certs()
    srv = tls_echo_server(certs)
    emu = emulator(dialect=dialect, time_scale=SCALE)
    out = _cpython(emu, srv.port, "echo", certs["ca"])
    assert out["up"] and out["echo"], out
    assert out["at_errors"] == 0 and out["badlen"] == 0, out
    assert srv.handshakes == 1
    # the CA went into the modem's file system, and the session was TLS 1.2 verified against it
    assert any("TLSv1.2" in e for _, e in emu.events), emu.events[-5:]


@pytest.mark.sim
@pytest.mark.mpy
@pytest.mark.parametrize("dialect", ["SIM7600", "EG91"])
def test_micropython_tls_echo_is_byte_exact(dialect, emulator, tls_certs, tls_echo_server):
    certs = tls_certs()
    srv = tls_echo_server(certs)
    emu = emulator(dialect=dialect, time_scale=SCALE)
    out = _mpy(emu, srv.port, "echo", certs["ca"])
    assert out["up"] and out["echo"], out
    assert out["at_errors"] == 0 and out["badlen"] == 0, out


@pytest.mark.sim
@pytest.mark.parametrize("family", ["simcom", "quectel"])
@pytest.mark.parametrize("case", ["wrong_ca", "expired", "no_ca"])
def test_refused_certificate_is_refused_with_the_reason(family, case, emulator, tls_certs, tls_echo_server):
    good = tls_certs()
    server = tls_certs(expired=True) if case == "expired" else good
    ca = {"wrong_ca": tls_certs()["ca"], "expired": server["ca"], "no_ca": None}[case]
    srv = tls_echo_server(server)
    emu = emulator(dialect=FAMILY[family][0], time_scale=SCALE)
    out = _cpython(emu, srv.port, "refuse", ca)
    assert out["up"] and out["refused"], out
    en, idn = out["reason"]
    assert en.startswith("TLS") and idn.startswith("TLS"), out
    assert out["last"] == out["reason"]          # what the radio keeps showing
    assert srv.handshakes == 0                   # never a session, and never a plain socket instead
    if case == "no_ca":
        assert "ca.pem" in en and "sertifikat CA" in idn
        assert _tls_sockets(emu) == [] and not any("tls" in e for _, e in emu.events)
    else:
        assert ("modem error" in en) and ("galat modem" in idn), out
        why = [e for _, e in emu.events if "refused:" in e]
        assert why, emu.events[-5:]
        # the module (emulator) says which check failed; the radio gets the module's error number
        # (the other CA has the same name, so OpenSSL finds it and the signature check fails)
        if case == "expired":
            assert "certificate has expired" in why[-1]
        else:
            assert "signature failure" in why[-1] or "unable to get local issuer" in why[-1]
    for f in srv.failures:
        assert "HTTP" not in f and "wrong version" not in f.lower()   # no cleartext ever reached the server


@pytest.mark.sim
@pytest.mark.mpy
def test_micropython_wrong_ca_refused(emulator, tls_certs, tls_echo_server):
    srv = tls_echo_server(tls_certs())
    emu = emulator(dialect="A7670", time_scale=SCALE)
    out = _mpy(emu, srv.port, "refuse", tls_certs()["ca"])
    assert out["refused"] and "15" in out["reason"][0] and out["reason"][1].startswith("TLS ditolak"), out


@pytest.mark.sim
@pytest.mark.mpy
@pytest.mark.parametrize("dialect", ["A7670", "EC200U"])
def test_micropython_radio_mqtt_over_modem_tls_to_mosquitto(dialect, emulator, mosquitto):
    broker = mosquitto(users={"u1": "pw-u1-secret"}, tls=True)
    emu = emulator(dialect=dialect, time_scale=SCALE)
    out = _mpy(emu, broker.port, "mqtt", broker.certs["ca"], "u1", "pw-u1-secret")
    assert out["up"] and out["connected"] and out["acked"] and out["echoed"], out
    assert "u1-tls" in broker.log()
    s = emu.state
    assert s["bytes"]["sock_tx"] > 0


@pytest.mark.sim
def test_plain_listener_port_refuses_modem_tls(emulator, mosquitto):
    # a broker without TLS on the port: the handshake fails, the radio does not speak MQTT in clear to it
    broker = mosquitto(users={"u1": "pw-u1-secret"})
    from htctl.mosquitto import make_ca_and_server_cert
    import tempfile
    ca = make_ca_and_server_cert(tempfile.mkdtemp(), "127.0.0.1")["ca"]
    emu = emulator(dialect="SIM7600", time_scale=SCALE)
    out = _cpython(emu, broker.port, "refuse", ca)
    assert out["refused"], out
    assert "u1" not in broker.log()
