"""`htctl broker write` gives a set that starts as written: Mosquitto started as root drops to user mosquitto
and must still read the password file and ACL (it failed with "Unable to open pwfile" before issue 13)."""
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from fixtures.cli import run_htctl as run
from fixtures.emu import wait_until
from fixtures.provision import free_port
from htctl import registry
from htctl.mosquitto import MOSQUITTO
from htctl.provision import new_password

pytestmark = pytest.mark.sim


@pytest.fixture
def service_dir():
    # A folder user mosquitto can enter, as /etc/mosquitto/ht would be (pytest's tmp folders are private).
    d = tempfile.mkdtemp(prefix="ht-broker-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _connect(port, user, password):
    import paho.mqtt.client as mqtt
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    c.username_pw_set(user, password)
    rc = []
    c.on_connect = lambda cl, u, f, r, p=None: rc.append(r)
    c.connect("127.0.0.1", port)
    deadline = time.monotonic() + 10
    while not rc and time.monotonic() < deadline:
        c.loop(0.1)
    c.disconnect()
    return rc[0] if rc else None


@pytest.mark.skipif(os.geteuid() != 0, reason="starts Mosquitto as root, as systemd does")
def test_the_written_set_starts_as_root_and_takes_a_generated_account(fleet_unit, service_dir, monkeypatch):
    try:
        pwd.getpwnam("mosquitto")
    except KeyError:
        pytest.fail("user mosquitto missing: run `make sysdeps` (Debian package mosquitto)")
    conn = registry.connect(fleet_unit["registry"])
    radio_pw = new_password()
    registry.set_credentials(conn, fleet_unit["unit"], fleet_unit["unit"], radio_pw)
    conn.close()
    monkeypatch.setenv("HTCTL_BROKER_PASSWORD", "console-password-123")
    assert run(["broker", "user", "cc", "--registry", fleet_unit["registry"]])[0] == 0
    port = free_port()
    code, out, err = run(["broker", "write", "--out", service_dir, "--listen", "127.0.0.1", "--listen-port",
                          str(port), "--registry", fleet_unit["registry"]])
    assert code == 0, err
    assert "Traceback" not in err and "cannot enter" not in err
    conf = open(os.path.join(service_dir, "mosquitto.conf")).read()
    assert "user mosquitto\n" in conf and "set_tcp_nodelay true\n" in conf
    assert "message_size_limit 8192\n" in conf and "max_queued_messages 1000\n" in conf   # issue 11 limits
    mosq = pwd.getpwnam("mosquitto")
    for name in ("passwd", "acl"):
        st = os.stat(os.path.join(service_dir, name))
        assert st.st_uid == mosq.pw_uid and st.st_mode & 0o777 == 0o600
    unit = open(os.path.join(service_dir, "ht-mosquitto.service")).read()
    assert "ExecStart=/usr/sbin/mosquitto -c %s/mosquitto.conf" % os.path.realpath(service_dir) in unit
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit and "WantedBy=multi-user.target" in unit
    readme = open(os.path.join(service_dir, "README")).read()
    assert "systemctl enable --now ht-mosquitto.service" in readme and "systemctl reload" in readme

    # exactly those files, as the unit's ExecStart runs them
    p = subprocess.Popen([MOSQUITTO, "-c", os.path.join(service_dir, "mosquitto.conf")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def listening():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return True
            except OSError:
                assert p.poll() is None, p.stderr.read().decode()
                return False
        wait_until(listening, 60, what="mosquitto listening")
        owner = open("/proc/%d/status" % p.pid).read()
        assert "\nUid:\t%d\t" % mosq.pw_uid in owner             # it dropped to user mosquitto
        assert _connect(port, fleet_unit["unit"], radio_pw) == 0
        assert _connect(port, "cc", "console-password-123") == 0
        assert _connect(port, "cc", "wrong-password-123") != 0
        # a new provisioning + rewrite + reload (SIGHUP) takes the new password without a restart
        conn = registry.connect(fleet_unit["registry"])
        new_pw = new_password()
        registry.set_credentials(conn, fleet_unit["unit"], fleet_unit["unit"], new_pw)
        conn.close()
        assert run(["broker", "write", "--out", service_dir, "--listen", "127.0.0.1", "--listen-port", str(port),
                    "--registry", fleet_unit["registry"]])[0] == 0
        p.send_signal(1)
        wait_until(lambda: _connect(port, fleet_unit["unit"], new_pw) == 0, 60,
                   what="the reload taking the new password")
    finally:
        p.terminate()
        p.wait(10)
        p.stderr.close()


def test_not_root_names_the_install_step(fleet_unit, tmp_path, monkeypatch):
    conn = registry.connect(fleet_unit["registry"])
    registry.set_credentials(conn, fleet_unit["unit"], fleet_unit["unit"], new_password())
    conn.close()
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    code, _, err = run(["broker", "write", "--out", str(tmp_path / "b"), "--registry", fleet_unit["registry"],
                        "--insecure"])
    assert code == 0
    assert "chown" in (tmp_path / "b" / "README").read_text() and "not root" in err
    code, _, err = run(["broker", "write", "--out", str(tmp_path / "b"), "--registry", fleet_unit["registry"],
                        "--user", "nosuchuser", "--insecure"])
    assert code == 2 and "--user nosuchuser" in err
