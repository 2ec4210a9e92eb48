"""The Command Center host (docs/DEPLOY.md): `htctl console units` writes the services and the HTTPS
front; `htctl console backup` / `restore` bring back the registry (units, operators, audit, journal) and the
recordings, checked file by file; a damaged archive is refused and nothing is written; the console starts
on the restored registry and its operators log in."""
import hashlib
import json
import shutil
import sqlite3
import urllib.parse
import urllib.request

import pytest

from fixtures.cli import run_htctl
from fixtures.console import OPERATOR_PW, seed_registry
from htcc.console.settings import Settings
from htcc.console.store import Store


def test_units_write(tmp_path):
    reg = seed_registry(tmp_path / "reg.sqlite")
    code, out, err = run_htctl(["console", "units", "--out", str(tmp_path / "units"), "--registry", str(reg),
                                "--server-name", "radio.kota.go.id", "--json"])
    assert code == 0, err
    d = json.loads(out)
    console = (tmp_path / "units" / "htcc-console.service").read_text()
    assert "console serve --listen 127.0.0.1 --http-port 8080" in console and "--secure-cookies" in console
    assert "HTCTL_REGISTRY=%s" % reg.resolve() in console and "password-file" in console
    arb = (tmp_path / "units" / "htcc-arbiter@.service").read_text()
    assert "--talkgroups 1,2 --name %i" in arb and "--standby" in arb
    nginx = (tmp_path / "units" / "htcc-console.nginx").read_text()
    assert "proxy_set_header Upgrade $http_upgrade" in nginx and "server_name radio.kota.go.id" in nginx
    assert "OnCalendar" in (tmp_path / "units" / "htcc-backup.timer").read_text()
    assert any("systemctl enable --now" in c for c in d["install"])


def _state(reg, data):
    conn = sqlite3.connect(str(reg))
    s = {t: conn.execute("SELECT * FROM %s ORDER BY 1" % t).fetchall()
         for t in ("assignments", "officials", "sims", "console_users", "console_audit", "console_emergencies")}
    conn.close()
    files = {p.relative_to(data).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in data.rglob("*") if p.is_file()}
    return s, files


def test_backup_and_restore_bring_everything_back(tmp_path, console_server):
    reg = seed_registry(tmp_path / "live" / "reg.sqlite")
    data = tmp_path / "live" / "console-data"
    st = Store(str(reg))
    st.set_user("budi", OPERATOR_PW, "operator")
    st.audit("budi", "rollcall.start", {"id": "rc1"})
    st.conn.execute("INSERT INTO console_emergencies (unit_id, started_at, acked_by, verdict) VALUES "
                    "('u02', '2026-12-07T01:00:00+00:00', 'budi', 'real')")
    st.close()
    (data / "recordings" / "2026-12-07").mkdir(parents=True)
    (data / "recordings" / "2026-12-07" / "tg1-u01-0001.wav").write_bytes(b"RIFF" + bytes(range(256)) * 40)
    (data / "recordings.sqlite").write_bytes(b"metadata")
    before = _state(reg, data)

    code, out, err = run_htctl(["console", "backup", "--registry", str(reg), "--data-dir", str(data),
                                "--out", str(tmp_path / "bk"), "--json"])
    assert code == 0, err
    archive = json.loads(out)["archive"]
    assert json.loads(out)["files"] == 3

    # The machine is lost.
    shutil.rmtree(tmp_path / "live")
    new_reg, new_data = tmp_path / "new" / "reg.sqlite", tmp_path / "new" / "console-data"

    # A damaged copy is refused and nothing is written.
    bad = tmp_path / "bad.tar.gz"
    raw = bytearray(open(archive, "rb").read())
    raw[len(raw) // 2] ^= 0xFF
    bad.write_bytes(bytes(raw))
    code, _, err = run_htctl(["console", "restore", str(bad), "--registry", str(new_reg), "--data-dir", str(new_data)])
    assert code == 2 and "nothing was written" in err
    assert not new_reg.exists() and not new_data.exists()

    code, out, err = run_htctl(["console", "restore", archive, "--registry", str(new_reg), "--data-dir", str(new_data)])
    assert code == 0, err
    assert _state(new_reg, new_data) == before

    # Restoring over a registry is a conflict unless forced.
    code, _, err = run_htctl(["console", "restore", archive, "--registry", str(new_reg)])
    assert code == 5 and "--force" in err

    # The console runs on it: its operator logs in with the old password; the units are on the board.
    srv = console_server(Settings(registry=str(new_reg), broker_port=1), users=())
    pre = "x" * 16
    req = urllib.request.Request(srv.url + "/login", method="POST", data=urllib.parse.urlencode(
        {"name": "budi", "password": OPERATOR_PW, "pre": pre}).encode(),
        headers={"Cookie": "htcc_login=" + pre, "Content-Type": "application/x-www-form-urlencoded"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.build_opener(NoRedirect).open(req, timeout=30)
    assert e.value.code == 303 and e.value.headers["location"] == "/"
    cookie = e.value.headers["set-cookie"].split(";")[0]
    with urllib.request.urlopen(urllib.request.Request(srv.url + "/api/board", headers={"Cookie": cookie}),
                                timeout=30) as r:
        units = {row["unit"] for row in json.loads(r.read())["rows"]}
    assert units == {"u01", "u02", "u03"}
