"""htctl.release and htctl.rollout: the key is private and refused when others can read it, a release's
signature verifies with OpenSSL and with the radio's own verifier, the chunks rebuild the files, waves and
halts follow the failure share, the data cost follows the SIM plan prices, provisioning carries the key."""
import hashlib
import json
import os

import pytest

from htctl import registry, release as REL, rollout as RO
from htctl.errors import ConflictError, UserError
from ht.ota import rsa
from ht.ota.release import Context, check


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("rel")
    n = REL.keygen(d / "key.pem")
    REL.build(d / "r", d / "key.pem", "0.2.0")
    return d, n, REL.Release(d / "r")


def test_the_key_is_0600_never_overwritten_and_refused_when_readable(built):
    d, n, _ = built
    assert os.stat(d / "key.pem").st_mode & 0o777 == 0o600 and len(n) == 512
    with pytest.raises(ConflictError):
        REL.keygen(d / "key.pem")
    other = d / "loose.pem"
    other.write_bytes((d / "key.pem").read_bytes())
    other.chmod(0o644)
    with pytest.raises(UserError):
        REL.load_key(other)


def test_a_release_is_signed_for_the_esp32_and_the_radio_accepts_it(built):
    d, n, r = built
    m = r.manifest
    assert m["target"] == "xtensawin" and m["min_boot"] == REL.BOOT_VERSION
    paths = [f[0] for f in m["files"]]
    assert "main.py" not in paths and "bootstrap.py" not in paths and "ht/ota/agent.mpy" in paths
    assert all(hashlib.sha256(r.files[p]).hexdigest() == h for p, _, h in m["files"])
    assert REL.verify(n, r.raw, r.sig) and not REL.verify(n, r.raw + b" ", r.sig)
    ctx = Context("0.1.0", None, 1, "xtensawin", "LILYGO_T_A7670", 10 ** 7)
    got, why = check(r.sig + r.raw, rsa.PublicKey(n), ctx)
    assert why is None and got["v"] == "0.2.0"
    ctx.target = "x64"
    assert check(r.sig + r.raw, rsa.PublicKey(n), ctx) == (None, "other target xtensawin")


def test_the_messages_rebuild_the_release(built):
    _, _, r = built
    msgs = dict(r.messages("kota"))
    blob = b"".join(msgs["ht/kota/o/%s/m/%d" % (r.rid, k)] for k in range(10) if "ht/kota/o/%s/m/%d" % (r.rid, k)
                    in msgs)
    assert blob == r.sig + r.raw and r.offer()["ota"]["mb"] == len(blob)
    for i, (p, size, _) in enumerate(r.manifest["files"]):
        data = b"".join(msgs["ht/kota/o/%s/%d/%d" % (r.rid, i, k)] for k in range((size + 1023) // 1024))
        assert data == r.files[p]
    assert all(len(p) <= 1024 for p in msgs.values())
    assert r.total_bytes < r.wire_bytes("kota") < 1.3 * r.total_bytes


def test_waves_one_then_ten_percent_then_the_rest():
    units = ["u%02d" % i for i in range(25)]
    w = RO.waves(units)
    assert [len(x) for x in w] == [1, 3, 21] and sum(w, []) == units
    assert RO.waves(["a"]) == [["a"]] and [len(x) for x in RO.waves(["a", "b"])] == [1, 1]


def test_a_wave_that_fails_too_often_halts_the_rollout():
    ro = RO.Rollout([], {"ota": {"rid": "r", "v": "0.2.0"}}, max_failure=0.2, wave_timeout_s=100,
                    plan=[["a"], ["b", "c", "d"], ["e"]])
    assert ro.step(0) == ["a"]
    assert ro.step(1) == []
    ro.on_status("a", "running v0.2.0")
    assert ro.step(2) == ["b", "c", "d"]
    ro.on_status("b", "running v0.2.0")
    ro.on_status("c", "refused: tampered ht/x.mpy")
    assert ro.step(3) == [] and ro.halted is None       # d still going
    assert ro.step(200) == [] and ro.halted == "wave 2: 2 of 3 failed"    # d timed out
    assert ro.summary()["ok"] == ["a", "b"]


def test_an_older_status_arriving_second_does_not_undo_where_a_radio_ended():
    # the ack says "running", then the retained presence of the trial boot comes in late (CI saw this:
    # a radio that had updated was reported as still on trial)
    ro = RO.Rollout([], {"ota": {"rid": "r", "v": "0.2.0"}}, plan=[["a"], ["b"]])
    assert ro.step(0) == ["a"]
    assert ro.on_status("a", "running v0.2.0")
    assert not ro.on_status("a", "trial v0.2.0")
    assert ro.step(1) == ["b"]
    assert ro.on_status("b", "refused: tampered ht/x.mpy") and not ro.on_status("b", "downloading")
    assert ro.summary()["ok"] == ["a"] and ro.summary()["status"]["b"].startswith("refused")


def test_data_cost_uses_each_sims_price_per_mb():
    rows = [{"price_rp": 50000, "quota_mb": 5000}, {"price_rp": 100000, "quota_mb": 10000}, {"price_rp": None}]
    c = RO.cost(2_000_000, rows)
    assert c["rp_total"] == 40 and c["bytes_total"] == 6_000_000 and c["radios_without_price"] == 1


def test_status_comes_from_acks_and_presence_and_lands_in_the_registry(tmp_path):
    assert RO.status_of("kota", "ht/kota/u/u1/a", json.dumps({"ota": "staged v0.2.0", "rid": "r"}).encode()) == \
        ("u1", "staged v0.2.0", "r")
    assert RO.status_of("kota", "ht/kota/u/u1/p", b'{"u":"u1","s":"online","o":"running v0.2.0"}') == \
        ("u1", "running v0.2.0", None)
    assert RO.status_of("kota", "ht/kota/u/u1/p", b'{"u":"u1","s":"online"}') is None
    conn = registry.connect(tmp_path / "r.sqlite")
    RO.record_status(conn, "r", "u1", "offered", 1)
    RO.record_status(conn, "r", "u1", "refused: no space: 200 KB > 100 KB free")
    assert RO.progress(conn, "r")["u1"]["status"].startswith("refused: no space")
    assert RO.progress(conn, "r")["u1"]["wave"] == 1


def test_provisioning_carries_the_public_key(built, tmp_path):
    d, n, _ = built
    conn = registry.connect(tmp_path / "r.sqlite")
    assert "ota.key" not in registry.fleet_config(conn)
    REL.register_key(conn, d / "key.pem")
    assert registry.fleet_config(conn)["ota.key"] == n


def test_fleet_update_dry_run_shows_waves_and_cost_and_without_a_broker_sends_nothing(tmp_path, monkeypatch):
    # The operator's view before a rollout: how many radios, in which waves, what it costs in data — from the
    # command line, as a technician types it. Without a broker the real run refuses before touching anything.
    import json as _json
    import pathlib
    from fixtures.cli import run_htctl
    monkeypatch.setenv("HTCTL_CONFIG", str(tmp_path / "none.toml"))
    for k in ("HTCTL_LANG", "LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(k, raising=False)       # no locale that asks for English: the default speaks
    reg = str(tmp_path / "reg.sqlite")
    example = pathlib.Path(__file__).resolve().parents[2] / "docs" / "inventory-example.csv"
    assert run_htctl(["--registry", reg, "fleet", "import", str(example)])[0] == 0
    assert run_htctl(["--registry", reg, "release", "keygen", "--key", str(tmp_path / "k.pem")])[0] == 0
    code, out, err = run_htctl(["--registry", reg, "release", "build", "--key", str(tmp_path / "k.pem"),
                                "--version", "9.9.9", "--out", str(tmp_path / "rel")])
    assert code == 0, err
    code, out, err = run_htctl(["--registry", reg, "--json", "fleet", "update", str(tmp_path / "rel"), "--dry-run"])
    assert code == 0, err
    d = _json.loads(out)
    conn = registry.connect(reg)
    try:
        units = RO.targets(conn)
    finally:
        conn.close()
    assert d["radios"] == len(units) > 0 and d["version"] == "9.9.9"
    assert d["waves"][0] == 1 and sum(d["waves"]) == d["radios"]
    assert d["bytes_per_radio"] > 100000 and d["rp_total"] > 0
    # what the operator reads: Bahasa Indonesia by default, English on request, the same figures
    rp = "Rp" + "{:,}".format(d["rp_total"]).replace(",", ".")
    code, out, err = run_htctl(["--registry", reg, "fleet", "update", str(tmp_path / "rel"), "--dry-run"])
    assert code == 0 and out.startswith("rilis 9.9.9 ke %d radio dalam gelombang" % d["radios"]), out + err
    assert "biaya data sekitar " + rp in out and "MB per radio" in out
    code, out, err = run_htctl(["--registry", reg, "fleet", "update", str(tmp_path / "rel"), "--dry-run",
                                "--lang", "en"])
    assert code == 0 and out.startswith("release 9.9.9 to %d radio(s)" % d["radios"]) and rp in out, out + err
    code, out, err = run_htctl(["--registry", reg, "fleet", "update", str(tmp_path / "rel")])
    assert code == 2 and "broker" in err
    conn = registry.connect(reg)
    try:
        assert RO.progress(conn, REL.Release(tmp_path / "rel").rid) == {}
    finally:
        conn.close()


def test_fleet_update_through_a_broker_reports_each_radio_and_records_it(tmp_path, monkeypatch, mosquitto):
    # The real run from the command line, through Mosquitto with the fleet's ACL: the release goes out retained,
    # the offer reaches the radio's command topic, and what the radio answers on its ack topic is printed as it
    # comes (Bahasa Indonesia by default) and kept in the registry. The radio here is a paho client that answers
    # the offer the way ht.radio.update does (tests/e2e/test_ota_fleet.py runs the real ones).
    import json as _json
    import pathlib
    import threading
    import paho.mqtt.client as mqtt
    from fixtures.cli import run_htctl
    from htctl.mosquitto import fleet_rights
    monkeypatch.setenv("HTCTL_CONFIG", str(tmp_path / "none.toml"))
    for k in ("HTCTL_LANG", "LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(k, raising=False)
    reg = str(tmp_path / "reg.sqlite")
    example = pathlib.Path(__file__).resolve().parents[2] / "docs" / "inventory-example.csv"
    assert run_htctl(["--registry", reg, "fleet", "import", str(example)])[0] == 0
    assert run_htctl(["--registry", reg, "release", "keygen", "--key", str(tmp_path / "k.pem")])[0] == 0
    assert run_htctl(["--registry", reg, "release", "build", "--key", str(tmp_path / "k.pem"), "--version", "9.9.9",
                      "--out", str(tmp_path / "rel")])[0] == 0
    rel = REL.Release(tmp_path / "rel")
    conn = registry.connect(reg)
    fleet = registry.fleet_id(conn)
    from ht.radio.msgtag import Tagger
    tags = Tagger(bytes.fromhex(registry.fleet_config(conn)["audio.key"]))    # commands and acks carry its tag
    conn.close()
    unit = "dinkes-01"
    m = mosquitto(users={"cc": "pw-cc", unit: "pw-u"}, acl=fleet_rights(fleet, {unit: ["1"]}))
    got = []
    answered = threading.Event()

    def on_message(c, _u, msg):
        body = tags.open(msg.topic, msg.payload)
        assert body is not None, "the offer lacks the fleet key's tag"
        d = _json.loads(body)
        if "ota" in d and not answered.is_set():
            got.append(d["ota"])
            answered.set()
            for status in ("downloading", "staged v9.9.9", "running v9.9.9"):
                t = "ht/%s/u/%s/a" % (fleet, unit)
                c.publish(t, tags.seal(t, _json.dumps({"u": unit, "ota": status, "rid": d["ota"]["rid"]})), 1)

    radio = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=unit)
    radio.username_pw_set(unit, "pw-u")
    radio.on_message = on_message
    radio.on_connect = lambda c, *_a: c.subscribe("ht/%s/u/%s/c" % (fleet, unit), 1)
    radio.connect(m.host, m.port, 30)
    radio.loop_start()
    try:
        monkeypatch.setenv("HTCTL_BROKER_PASSWORD", "pw-cc")
        code, out, err = run_htctl(["--registry", reg, "fleet", "update", str(tmp_path / "rel"), "--units", unit,
                                    "--broker", "mqtt://%s:%d" % (m.host, m.port)])
    finally:
        radio.loop_stop()
        radio.disconnect()
    assert code == 0, out + err
    assert got and got[0]["rid"] == rel.rid and got[0]["v"] == "9.9.9"
    assert "  %s: downloading" % unit in out and "  %s: running v9.9.9" % unit in out
    assert out.rstrip().endswith("1 dari 1 radio diperbarui"), out
    conn = registry.connect(reg)
    try:
        assert RO.progress(conn, rel.rid)[unit]["status"] == "running v9.9.9"
    finally:
        conn.close()
