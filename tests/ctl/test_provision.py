"""htctl provision against a virtual radio with an emulated modem: the config arrives whole and verified, the
SIM/modem is checked against the registry (a swap is an alarm), only a hash of the broker password is kept,
secrets never reach the screen or the audit log, and `htctl broker write` turns the registry into a broker."""
import io
import json

import pytest

from fixtures.provision import ICCID, ICCID_OTHER, IMEI, SCALE
from htctl import registry
from htctl.cli import main
from htctl.firmware import htconfig

pytestmark = [pytest.mark.sim, pytest.mark.mpy]
BROKER = "mqtt://127.0.0.1:18830"


def _run(argv, **kw):
    out, err = io.StringIO(), io.StringIO()
    rc = main(argv, stdout=out, stderr=err, env={"scale": SCALE}, **kw)
    return rc, out.getvalue(), err.getvalue()


def _provision(dev, unit, *extra):
    return _run(["provision", "--port", dev.port, "--unit", unit["unit"], "--broker", BROKER,
                 "--registry", unit["registry"], "--who", "tech-ani"] + list(extra))


def _device_config(dev):
    text = (dev.flash_dir / "config.json").read_text()
    cfg, errors = htconfig.load(text)
    assert errors == []
    return cfg, text


def test_provision_writes_the_units_config_and_keeps_only_a_hash(bench_radio, fleet_unit):
    dev = bench_radio()
    rc, out, err = _provision(dev, fleet_unit, "--json")
    assert rc == 0, err
    report = json.loads(out)
    cfg, text = _device_config(dev)
    assert cfg.get("unit.id") == "dishub-07" and cfg.get("unit.callsign") == "Elang 7"
    assert cfg.get("unit.priority") == "command" and cfg.get("talkgroups.list") == ["1", "2"]
    assert cfg.get("broker.url") == BROKER and cfg.get("broker.user") == "dishub-07"
    assert cfg.get("dataplan.expiry") == "2027-01-19" and cfg.get("dataplan.opd") == "Dishub"
    password = cfg.get("broker.password")
    assert len(password) >= 20
    # Written through a temp file + rename, verified by sha256: nothing half-written is left behind.
    assert not (dev.flash_dir / "config.json.tmp").exists()
    assert report["config_hash"] == htconfig.config_hash(cfg)
    # The secret went to the radio only: not on screen, not in the registry, not in the audit.
    assert password not in out + err
    assert report["config"]["broker"]["password"] == htconfig.MASK
    conn = registry.connect(fleet_unit["registry"])
    assert registry.verify_credentials(conn, "dishub-07", password)
    dump = "\n".join(str(tuple(r)) for t in ("credentials", "audit", "assignments")
                     for r in conn.execute("SELECT * FROM %s" % t))
    assert password not in dump
    audit = [a for a in registry.audit_log(conn, "dishub-07") if a["action"] == "provision"]
    assert audit[-1]["who"] == "tech-ani" and audit[-1]["config_hash"] == report["config_hash"]
    assert report["iccid"] == ICCID and report["imei"] == IMEI


def test_reprovision_rotates_the_password_and_the_table_hides_it(bench_radio, fleet_unit):
    dev = bench_radio()
    assert _provision(dev, fleet_unit)[0] == 0
    first = _device_config(dev)[0].get("broker.password")
    rc, out, err = _provision(dev, fleet_unit)
    assert rc == 0, err
    second = _device_config(dev)[0].get("broker.password")
    assert second != first and second not in out and "********" in out
    conn = registry.connect(fleet_unit["registry"])
    assert registry.verify_credentials(conn, "dishub-07", second)
    assert not registry.verify_credentials(conn, "dishub-07", first)
    # The fleet's voice key and id are the fleet's, not the unit's: the same on every provisioning (every
    # radio must sign and check voice with one key), from the registry, and as secret as the password.
    cfgs = [_device_config(dev)[0]]
    assert _provision(dev, fleet_unit)[0] == 0
    cfgs.append(_device_config(dev)[0])
    key = cfgs[0].get("audio.key")
    assert len(key) == 64 and int(key, 16) and cfgs[1].get("audio.key") == key
    assert cfgs[0].get("fleet.id") == cfgs[1].get("fleet.id") == "kota"
    assert registry.fleet_config(conn) == {"fleet.id": "kota", "audio.key": key}
    assert key not in out + err
    assert key not in json.dumps(registry.audit_log(conn))


def test_fleet_settings_are_made_once_and_shared(tmp_path):
    # Radios provisioned in parallel (one registry connection per thread) must still get one key.
    path = tmp_path / "r.sqlite"
    a, b = registry.connect(path), registry.connect(path)
    ka = registry.fleet_config(a)
    assert registry.fleet_config(b) == ka and ka["fleet.id"] == "kota" and len(ka["audio.key"]) == 64
    registry.set_fleet_id(b, "prov-jatim")
    assert registry.fleet_config(a) == {"fleet.id": "prov-jatim", "audio.key": ka["audio.key"]}
    with pytest.raises(ValueError):
        registry.set_fleet_id(a, "prov/#")
    # broker write follows the registry's fleet id unless told otherwise
    registry.set_credentials(a, "cc", "cc", "console-secret-123456")
    rc, out, err = _run(["broker", "write", "--out", str(tmp_path / "b"), "--registry", str(path), "--json",
                        "--insecure"])
    assert rc == 0, err
    assert json.loads(out)["fleet"] == "prov-jatim"
    a.close()
    b.close()


def test_sim_swap_is_an_alarm_and_changes_nothing_until_accepted(bench_radio, fleet_unit):
    dev = bench_radio(iccid=ICCID_OTHER)
    rc, out, err = _provision(dev, fleet_unit)
    assert rc == 5
    assert "SIM swap" in err and ICCID in err and ICCID_OTHER in err and "--accept-swap" in err
    assert not (dev.flash_dir / "config.json").exists()
    conn = registry.connect(fleet_unit["registry"])
    assert registry.unit(conn, "dishub-07")["iccid"] == ICCID
    assert registry.credentials(conn) == []
    refused = [a for a in registry.audit_log(conn, "dishub-07") if a["action"] == "provision_refused"]
    assert refused and refused[-1]["detail"]["device"]["iccid"] == ICCID_OTHER

    rc, out, err = _provision(dev, fleet_unit, "--accept-swap")
    assert rc == 0, err
    assert registry.unit(conn, "dishub-07")["iccid"] == ICCID_OTHER
    history = registry.assignment_history(conn, "dishub-07")
    assert [h["iccid"] for h in history] == [ICCID, ICCID_OTHER] and history[0]["end_at"]
    actions = [a["action"] for a in registry.audit_log(conn, "dishub-07")]
    assert actions[-2:] == ["swap_accepted", "provision"]


def test_radio_without_sim_is_refused_with_a_hint(bench_radio, fleet_unit):
    dev = bench_radio(present=False)
    rc, out, err = _provision(dev, fleet_unit)
    assert rc == 4
    assert "no SIM" in err and "Hint: insert the unit's SIM" in err
    assert not (dev.flash_dir / "config.json").exists()


def test_unknown_unit_and_missing_broker_are_user_errors(fleet_unit, tmp_path):
    rc, _, err = _run(["provision", "--port", "/dev/null", "--unit", "nope", "--broker", BROKER,
                       "--registry", fleet_unit["registry"]], transport=_NoDevice)
    assert rc == 3 and "nope" in err and "Hint:" in err
    rc, _, err = _run(["provision", "--port", "/dev/null", "--unit", "dishub-07", "--registry",
                       fleet_unit["registry"]], transport=_NoDevice)
    assert rc == 2 and "broker" in err
    bad = tmp_path / "batch.csv"
    bad.write_text("/dev/pts/1,dishub-07\njust-a-port\n")
    rc, _, err = _run(["provision", "--batch", str(bad), "--broker", BROKER, "--registry", fleet_unit["registry"]])
    assert rc == 2 and "line 2" in err


class _NoDevice:
    def __init__(self, port):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def exec_json(self, *a, **k):
        raise AssertionError("the device must not be touched")


def test_broker_write_turns_the_registry_into_a_working_broker(bench_radio, fleet_unit, fleet_broker, monkeypatch):
    import paho.mqtt.client as mqtt

    dev = bench_radio()
    assert _provision(dev, fleet_unit)[0] == 0
    password = _device_config(dev)[0].get("broker.password")
    monkeypatch.setenv("HTCTL_BROKER_PASSWORD", "console-secret-123456")
    assert _run(["broker", "user", "cc", "--registry", fleet_unit["registry"]])[0] == 0
    port, _ = fleet_broker(fleet_unit["registry"])
    out = fleet_unit["registry"].rsplit("/", 1)[0] + "/broker"
    passwd = open(out + "/passwd").read()
    assert password not in passwd and passwd.count("$7$") == 4   # radio, console, the two floor arbiters
    acl = open(out + "/acl").read()
    assert "user dishub-07" in acl and "topic write ht/kota/tg/1/v/dishub-07" in acl

    def login(user, pw):
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t-" + user)
        c.username_pw_set(user, pw)
        rc = []
        c.on_connect = lambda cl, ud, flags, reason, props: rc.append(reason.value)
        c.connect("127.0.0.1", port)
        for _ in range(100):
            c.loop(0.05)
            if rc:
                break
        c.disconnect()
        return rc[0] if rc else None

    assert login("dishub-07", password) == 0
    assert login("cc", "console-secret-123456") == 0
    assert login("dishub-07", password + "x") != 0


def test_an_identity_that_fails_its_check_digit_is_refused_not_recorded(bench_radio, fleet_unit):
    dev = bench_radio(iccid="8962100000000000001")          # Luhn digit wrong: a misread card
    rc, out, err = _provision(dev, fleet_unit)
    assert rc == 4 and "invalid identity" in err and "Luhn" in err and "Hint: reseat the SIM" in err
    conn = registry.connect(fleet_unit["registry"])
    assert registry.unit(conn, "dishub-07")["iccid"] == ICCID
    assert not (dev.flash_dir / "config.json").exists()


def test_modem_swap_is_an_alarm_too(bench_radio, fleet_unit):
    from fixtures.provision import luhn_complete
    other = luhn_complete("86999999999999")
    dev = bench_radio(imei=other)
    rc, out, err = _provision(dev, fleet_unit)
    assert rc == 5 and "modem swap" in err and other in err
    assert registry.unit(registry.connect(fleet_unit["registry"]), "dishub-07")["imei"] == IMEI


class _CutCable:
    """A real transport whose cable is pulled after `after` exec calls of a config write."""

    def __init__(self, after):
        self.after = after

    def __call__(self, port):
        from htctl.errors import DeviceError
        from htctl.transport import DeviceTransport
        tr = DeviceTransport(port)
        real = tr.exec
        calls = [0]

        def exec_(code, timeout=10):
            if "config.json" in code or calls[0]:
                calls[0] += 1
                if calls[0] > self.after:
                    raise DeviceError("device on %s stopped answering: cable pulled" % port)
            return real(code, timeout)
        tr.exec = exec_
        return tr


@pytest.mark.parametrize("after", [1, 2])      # mid-data, or just before the rename
def test_a_cable_pulled_mid_write_keeps_the_old_config_and_the_old_login(bench_radio, fleet_unit, after):
    dev = bench_radio()
    assert _provision(dev, fleet_unit)[0] == 0
    before = (dev.flash_dir / "config.json").read_bytes()
    old_pw = htconfig.load(before.decode())[0].get("broker.password")
    conn = registry.connect(fleet_unit["registry"])
    n_audit = len(registry.audit_log(conn))
    rc, out, err = _run(["provision", "--port", dev.port, "--unit", "dishub-07", "--broker", BROKER,
                         "--registry", fleet_unit["registry"]], transport=_CutCable(after))
    assert rc == 4 and "cable pulled" in err
    assert (dev.flash_dir / "config.json").read_bytes() == before      # the radio still boots as before
    assert registry.verify_credentials(conn, "dishub-07", old_pw)      # and can still log in
    assert len(registry.audit_log(conn)) == n_audit                    # no provisioning was recorded


def test_bench_on_a_port_that_does_not_exist_is_a_device_error(fleet_unit):
    rc, out, err = _run(["bench", "--port", "/dev/ttyNOPE0", "--registry", fleet_unit["registry"]])
    assert rc == 4 and "Hint:" in err


# ---- the config a unit becomes (no device): every registry value round-trips through the shared schema ----
from hypothesis import given, settings, strategies as st  # noqa: E402

from htctl import provision as P  # noqa: E402

_NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1, max_size=32)


def _TEXT(n):
    # text a registry can hold and a radio's flash can store (no lone surrogates)
    return st.text(st.characters(blacklist_categories=("Cs",)), max_size=n)


_UNIT_ROWS = st.fixed_dictionaries({
    "unit_id": _NAME,
    "callsign": st.one_of(st.none(), _TEXT(32)),
    "priority": st.sampled_from(htconfig.PRIORITIES),
    "talkgroups": st.lists(_NAME, max_size=16, unique=True),
    "sim_expiry": st.one_of(st.none(), st.dates().map(lambda d: d.isoformat()).filter(lambda s: len(s) == 10)),
    "quota_mb": st.one_of(st.none(), st.integers(0, 1048576)),
    "price_rp": st.one_of(st.none(), st.integers(0, 100000000)),
    "sim_opd": st.one_of(st.none(), _TEXT(64)),
})


@settings(max_examples=100, deadline=None)
@given(row=_UNIT_ROWS, pw=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=16, max_size=64),
       port=st.integers(1, 65535))
def test_every_registry_unit_becomes_a_config_that_round_trips_exactly(row, pw, port):
    url = "mqtt://broker.kota.go.id:%d" % port
    cfg = P.build_config(row, url, pw)
    back, errors = htconfig.load(htconfig.dump(cfg))
    assert errors == [] and back == cfg
    assert cfg.get("unit.id") == row["unit_id"] and cfg.get("broker.user") == row["unit_id"]
    assert cfg.get("talkgroups.list") == row["talkgroups"] and cfg.get("unit.priority") == row["priority"]
    assert cfg.get("unit.callsign") == (row["callsign"] or "")
    assert cfg.get("dataplan.expiry") == (row["sim_expiry"] or "")
    shown = json.loads(repr(cfg)[len("Config("):-1])
    assert cfg.get("broker.password") == pw and shown["broker"]["password"] == htconfig.MASK
    assert cfg.masked()["broker"]["password"] == htconfig.MASK


@given(row=_UNIT_ROWS, bad=st.sampled_from([("callsign", "x" * 33, "unit.callsign"),
                                           ("talkgroups", ["a/b"], "talkgroups.list"),
                                           ("quota_mb", -1, "dataplan.quota_mb")]))
@settings(max_examples=30, deadline=None)
def test_a_registry_value_the_radio_cannot_take_is_refused_by_name(row, bad):
    key, value, field = bad
    row = dict(row, **{key: value})
    with pytest.raises(ValueError) as e:
        P.build_config(row, "mqtt://h:1883", "pw")
    assert field in str(e.value)
