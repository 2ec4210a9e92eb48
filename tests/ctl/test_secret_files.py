"""Secrets at rest (issue 11): the registry (fleet voice key, broker password hashes), Mosquitto's passwd and
acl and the TLS private key are 0600 from the moment they exist (0640 for $HTCTL_SECRET_GROUP, the group of
the service that reads them), whatever the umask; an old 0644 registry is tightened when opened."""
import grp
import os
import stat

import pytest

from htctl import mosquitto, registry, secretfiles
from htctl.errors import UserError


def mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


@pytest.fixture
def loose_umask():
    old = os.umask(0o000)       # the worst umask: files would come out 0666 if their mode were left to it
    yield
    os.umask(old)


def test_registry_and_its_journal_are_owner_only(tmp_path, loose_umask, monkeypatch):
    monkeypatch.delenv("HTCTL_SECRET_GROUP", raising=False)
    p = tmp_path / "reg" / "registry.sqlite"
    conn = registry.connect(p)
    assert registry.fleet_config(conn)["audio.key"]      # the voice key is in it
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("INSERT INTO fleet_settings (name, value, updated_at) VALUES ('x', 'y', 'z')")
    conn.commit()
    assert mode(p) == 0o600
    for side in (p.with_name(p.name + "-wal"), p.with_name(p.name + "-shm")):
        if side.exists():
            assert mode(side) & 0o077 == 0, side
    conn.close()


def test_an_old_world_readable_registry_is_tightened_on_open(tmp_path, monkeypatch):
    monkeypatch.delenv("HTCTL_SECRET_GROUP", raising=False)
    p = tmp_path / "registry.sqlite"
    registry.connect(p).close()
    os.chmod(p, 0o644)
    registry.connect(p, create=False).close()
    assert mode(p) == 0o600


def test_a_service_group_gets_read_access_and_nobody_else(tmp_path, loose_umask, monkeypatch):
    g = grp.getgrgid(os.getegid()).gr_name        # a group we belong to, so chgrp works without root
    monkeypatch.setenv("HTCTL_SECRET_GROUP", g)
    p = tmp_path / "registry.sqlite"
    registry.connect(p).close()
    assert mode(p) == 0o640 and os.stat(p).st_gid == os.getegid()
    f = secretfiles.write(tmp_path / "s", b"secret")
    assert mode(f) == 0o640 and f.read_bytes() == b"secret"


def test_an_unknown_group_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HTCTL_SECRET_GROUP", "no-such-group-ht")
    with pytest.raises(UserError, match="no-such-group-ht"):
        registry.connect(tmp_path / "registry.sqlite")


def test_broker_passwd_acl_and_tls_key_are_owner_only(tmp_path, loose_umask, monkeypatch):
    monkeypatch.delenv("HTCTL_SECRET_GROUP", raising=False)
    mosquitto.write_broker_config(tmp_path, {"u1": "pw-123456"}, {"u1": (["ht/#"], ["ht/#"])})
    certs = mosquitto.make_ca_and_server_cert(tmp_path / "tls" if (tmp_path / "tls").mkdir() is None else None)
    assert mode(tmp_path / "passwd") == 0o600 and mode(tmp_path / "acl") == 0o600
    assert mode(certs["key"]) == 0o600 and mode(certs["ca"]) & 0o004     # the CA certificate is public
    assert not list(tmp_path.glob("*.tmp"))
