"""htctl and TLS: `broker write` writes a TLS listener (Mosquitto starts with it and a TLS client logs in) and
refuses a plain listener on a non-loopback address unless told --insecure; `provision --ca` installs the fleet
CA on the radio (verified by sha256) and sets broker.tls, and refuses mqtts:// without a CA or with a file that
is not a CA certificate."""
import io
import json
import os
import pathlib
import pwd
import ssl
import subprocess

import pytest

from fixtures.provision import SCALE
from fixtures.wait import wait_until
from htctl import registry
from htctl.cli import main
from htctl.firmware import htconfig
from htctl.mosquitto import MOSQUITTO, free_port, make_ca_and_server_cert
from htctl.provision import new_password


def _run(argv, **kw):
    out, err = io.StringIO(), io.StringIO()
    rc = main(argv, stdout=out, stderr=err, env={"scale": SCALE}, **kw)
    return rc, out.getvalue(), err.getvalue()


def _creds(fleet_unit):
    conn = registry.connect(fleet_unit["registry"])
    pw = new_password()
    registry.set_credentials(conn, fleet_unit["unit"], fleet_unit["unit"], pw)
    conn.close()
    return pw


def test_plain_listener_on_a_network_address_is_refused_without_insecure(fleet_unit, tmp_path):
    _creds(fleet_unit)
    base = ["broker", "write", "--registry", fleet_unit["registry"], "--user", ""]
    rc, out, err = _run(base + ["--out", str(tmp_path / "a"), "--listen", "0.0.0.0"])
    assert rc == 2 and "refusing a plain MQTT listener on 0.0.0.0" in err and "--tls-cert" in err
    assert not (tmp_path / "a" / "mosquitto.conf").exists()
    rc, out, err = _run(base + ["--out", str(tmp_path / "b"), "--listen", "10.1.2.3", "--insecure"])
    assert rc == 0, err
    assert "listener 1883 10.1.2.3" in (tmp_path / "b" / "mosquitto.conf").read_text()
    rc, out, err = _run(base + ["--out", str(tmp_path / "c"), "--listen", "127.0.0.1"])   # loopback: fine
    assert rc == 0, err


def test_bad_tls_files_are_named(fleet_unit, tmp_path):
    _creds(fleet_unit)
    certs = make_ca_and_server_cert(tmp_path, "127.0.0.1")
    base = ["broker", "write", "--registry", fleet_unit["registry"], "--user", "", "--out", str(tmp_path / "o")]
    rc, _, err = _run(base + ["--tls-ca", certs["ca"], "--tls-cert", certs["cert"]])
    assert rc == 2 and "--tls-key" in err
    rc, _, err = _run(base + ["--tls-ca", certs["ca"], "--tls-cert", certs["key"], "--tls-key", certs["key"]])
    assert rc == 2 and "--tls-cert" in err and "not a PEM certificate" in err
    rc, _, err = _run(base + ["--tls-ca", str(tmp_path / "none.pem"), "--tls-cert", certs["cert"],
                              "--tls-key", certs["key"]])
    assert rc == 2 and "none.pem" in err


@pytest.mark.sim
def test_tls_listener_written_starts_and_a_tls_client_logs_in(fleet_unit, tmp_path):
    pw = _creds(fleet_unit)
    certs = make_ca_and_server_cert(tmp_path, "127.0.0.1")
    port, tls_port = free_port(), free_port()
    out_dir = tmp_path / "broker"
    rc, out, err = _run(["broker", "write", "--registry", fleet_unit["registry"], "--out", str(out_dir),
                         "--listen", "127.0.0.1", "--listen-port", str(port), "--tls-port", str(tls_port),
                         "--tls-ca", certs["ca"], "--tls-cert", certs["cert"], "--tls-key", certs["key"],
                         "--user", pwd.getpwuid(os.geteuid()).pw_name, "--json"])    # stays us: reads tmp
    assert rc == 0, err
    r = json.loads(out)
    assert r["tls"]["port"] == tls_port
    conf = (out_dir / "mosquitto.conf").read_text()
    lines = conf.splitlines()
    i = lines.index("listener %d 127.0.0.1" % tls_port)
    assert lines[i + 1:i + 4] == ["cafile %s" % pathlib.Path(certs["ca"]).resolve(),
                                  "certfile %s" % pathlib.Path(certs["cert"]).resolve(),
                                  "keyfile %s" % pathlib.Path(certs["key"]).resolve()]
    proc = subprocess.Popen([MOSQUITTO, "-c", str(out_dir / "mosquitto.conf")], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        import socket
        ctx = ssl.create_default_context(cafile=certs["ca"])
        def listening():
            if proc.poll() is not None:
                raise AssertionError(proc.stdout.read().decode())      # the broker ended: say why
            try:
                return socket.create_connection(("127.0.0.1", tls_port), timeout=5)
            except OSError:
                return None
        raw = wait_until(listening, timeout=30, what="the TLS listener")
        s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        assert s.version() in ("TLSv1.2", "TLSv1.3")
        from ht.mqtt import packet  # the firmware's own CONNECT
        user = fleet_unit["unit"]
        s.sendall(bytes(packet.connect(user + "-t", 30, True, user, pw)))
        ack = s.recv(4)
        assert ack[:1] == b"\x20" and ack[3] == 0, ack      # CONNACK, accepted: over TLS, with the password
        s.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_check_ca_refuses_what_cannot_verify_a_broker(tmp_path):
    from htctl.errors import UserError
    from htctl.provision import check_ca

    certs = make_ca_and_server_cert(tmp_path, "127.0.0.1")
    with pytest.raises(UserError, match="needs the fleet CA"):
        check_ca(None, "mqtts://broker.kota.go.id")
    assert check_ca(None, "mqtt://127.0.0.1:1883") is None
    with pytest.raises(UserError, match="not a CA certificate"):
        check_ca(pathlib.Path(certs["cert"]).read_bytes(), "mqtts://x")
    with pytest.raises(UserError, match="not a PEM certificate"):
        check_ca(b"hello", "mqtts://x")
    ca = pathlib.Path(certs["ca"]).read_bytes()
    assert check_ca(ca, "mqtts://x") == ca


@pytest.mark.sim
@pytest.mark.mpy
def test_provision_installs_the_ca_and_sets_tls(bench_radio, fleet_unit, tmp_path):
    certs = make_ca_and_server_cert(tmp_path, "127.0.0.1")
    dev = bench_radio()
    rc, out, err = _run(["provision", "--port", dev.port, "--unit", fleet_unit["unit"], "--broker",
                         "mqtts://127.0.0.1:18883", "--registry", fleet_unit["registry"], "--ca", certs["ca"],
                         "--json"])
    assert rc == 0, err
    assert (dev.flash_dir / "ca.pem").read_bytes() == pathlib.Path(certs["ca"]).read_bytes()
    cfg, errors = htconfig.load((dev.flash_dir / "config.json").read_text())
    assert errors == [] and cfg.get("broker.tls") is True and cfg.get("broker.url") == "mqtts://127.0.0.1:18883"
    assert json.loads(out)["ca"]
    # mqtts:// without --ca: refused before the radio is touched
    rc, out, err = _run(["provision", "--port", dev.port, "--unit", fleet_unit["unit"], "--broker",
                         "mqtts://127.0.0.1:18883", "--registry", fleet_unit["registry"]])
    assert rc == 2 and "--ca" in err


def _bench(dev, unit):
    from test_acceptance import SLOW_OK
    out, err = io.StringIO(), io.StringIO()
    rc = main(["bench", "--port", dev.port, "--registry", unit["registry"], "--technician", "Ani", "--lang", "en",
               "--json"], stdout=out, stderr=err, env={"scale": SCALE}, limits=SLOW_OK)
    return rc, {r["check"]: r for r in json.loads(out.getvalue())["rows"]}


@pytest.mark.sim
@pytest.mark.mpy
@pytest.mark.parametrize("right_ca", [True, False])
def test_acceptance_bench_over_modem_tls_passes_or_fails_never_skips(right_ca, bench_radio, fleet_unit,
                                                                      fleet_broker, tmp_path):
    certs = make_ca_and_server_cert(tmp_path, "127.0.0.1")
    (tmp_path / "other").mkdir()
    ca = certs["ca"] if right_ca else make_ca_and_server_cert(tmp_path / "other", "127.0.0.1")["ca"]
    dev = bench_radio()
    from fixtures.provision import free_port as fp
    port, tls_port = fp(), fp()
    rc, _, err = _run(["provision", "--port", dev.port, "--unit", fleet_unit["unit"], "--broker",
                       "mqtts://127.0.0.1:%d" % tls_port, "--registry", fleet_unit["registry"], "--ca", ca])
    assert rc == 0, err
    fleet_broker(fleet_unit["registry"], port, tls=(certs, tls_port))
    rc, rows = _bench(dev, fleet_unit)
    b = rows["broker"]
    if right_ca:
        assert b["status"] == "PASS", b
        assert rows["ptt_access"]["status"] == "PASS", rows["ptt_access"]
    else:
        assert rc == 1 and b["status"] == "FAIL", b
        assert b["detail"].startswith("TLS ditolak") and "TLS refused" in b["detail"], b
        assert "--ca" in b["hint"] and b["hint_id"], b
