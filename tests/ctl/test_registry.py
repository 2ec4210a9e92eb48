"""Fleet registry (sqlite) and inventory import: validation by line, one transaction, assignment history,
certificates, audit, credentials stored only as Mosquitto-compatible hashes."""
import io
import json
import pathlib
import shutil
import sqlite3
import subprocess

import pytest
from hypothesis import given, settings, strategies as st

from htctl import inventory, registry
from htctl.errors import EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE, ConflictError, NotFoundError
from fixtures.cli import run_htctl as run

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "inventory-example.csv"
BOARDS = {"LILYGO_T_A7670", "LILYGO_T_SIM7600", "DIY_DEVKITC_EC200U"}


def with_check(body):
    return next(body + d for d in "0123456789" if registry.luhn_ok(body + d))


@pytest.fixture
def conn(tmp_path):
    c = registry.connect(tmp_path / "reg.sqlite")
    yield c
    c.close()


def counts(conn):
    return {t: conn.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
            for t in ("devices", "modems", "sims", "officials", "assignments")}


# ---- identifiers ---------------------------------------------------------------------------------------
def test_luhn_and_identifier_normalisation():
    iccid = with_check("896210900000000001")
    assert registry.norm_iccid(iccid) == iccid
    assert registry.norm_iccid(iccid + "F") == iccid  # the modem's filler digit
    with pytest.raises(ValueError, match="Luhn"):
        registry.norm_iccid(iccid[:-1] + str((int(iccid[-1]) + 1) % 10))
    with pytest.raises(ValueError, match="89"):
        registry.norm_iccid("1" + iccid[1:])
    imei = with_check("86137100000400")
    assert registry.norm_imei(imei) == imei
    with pytest.raises(ValueError, match="Luhn"):
        registry.norm_imei(imei[:-1] + str((int(imei[-1]) + 3) % 10))
    assert registry.norm_msisdn("0812 1000 0001") == "+6281210000001"
    assert registry.norm_mac("24-6F-28-A1-00-01") == "24:6f:28:a1:00:01"
    assert registry.norm_date("15/03/2027") == "2027-03-15"
    with pytest.raises(ValueError):
        registry.norm_date("2027-02-30")
    assert [registry.norm_rupiah(t) for t in ("55000", "55.000", "Rp55.000", "Rp 1.320.000")] == \
        [55000, 55000, 55000, 1320000]
    for bad in ("55,5", "-1", "5.50", "Rp", "abc"):
        with pytest.raises(ValueError):
            registry.norm_rupiah(bad)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=18, max_size=19), st.integers(0, 18), st.integers(1, 9))
def test_luhn_catches_every_single_digit_typo(body, pos, delta):
    number = with_check(body)
    pos = pos % len(number)
    typo = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1:]
    assert registry.luhn_ok(number) and not registry.luhn_ok(typo)


# ---- import --------------------------------------------------------------------------------------------
def test_example_inventory_imports_and_reimport_is_idempotent(conn):
    stats = inventory.import_text(conn, EXAMPLE.read_text(), known_boards=BOARDS)
    assert stats == {"rows": 6, "new_units": 6, "changed_units": 0, "unchanged_units": 0}
    before = counts(conn)
    assert before == {"devices": 6, "modems": 6, "sims": 6, "officials": 6, "assignments": 6}
    stats = inventory.import_text(conn, EXAMPLE.read_text(), known_boards=BOARDS)
    assert stats["unchanged_units"] == 6 and counts(conn) == before
    u = registry.unit(conn, "bpbd-01")
    assert u["sim_expiry"] == "2027-03-15"  # written 15/03/2027 in the file
    assert u["price_rp"] == 55000 and u["talkgroups"] == ["bpbd", "all"] and u["priority"] == "emergency"
    assert registry.unit(conn, "dishub-01")["sim_opd"] == "Diskominfo"


def _lines():
    return EXAMPLE.read_text().splitlines()


def test_bad_rows_reported_by_line_and_nothing_changes(conn):
    inventory.import_text(conn, EXAMPLE.read_text(), known_boards=BOARDS)
    snapshot = list(conn.iterdump())
    lines = _lines()
    lines[2] = lines[2].replace("8962109000000000029", "8962109000000000028")   # ICCID Luhn (line 3)
    lines[4] = lines[4].replace("2027-03-15", "2027-13-15")                     # bad date (line 5)
    lines[5] = lines[5].replace("Rp80.000", "Rp80.5")                           # bad price (line 6)
    lines[6] = lines[6].replace("LILYGO_T_A7670", "LILYGO_T_A9999")             # unknown board (line 7)
    lines.append(lines[1].replace("dinkes-01", "dinkes-09").replace("HT-0001", "HT-0009")
                 .replace("a1:00:01", "a1:00:09").replace("0812 1000 0001", "0812 1000 0009")
                 .replace("861371000004005", with_check("86137100000409")))        # same ICCID as line 2
    with pytest.raises(inventory.ImportFailed) as e:
        inventory.import_text(conn, "\n".join(lines) + "\n", known_boards=BOARDS)
    found = {(line, col) for line, col, _ in e.value.problems}
    assert {(3, "iccid"), (5, "expiry"), (6, "price_rp"), (7, "board"), (8, "iccid")} == found
    assert any("also on line 2" in m for _, _, m in e.value.problems)
    assert list(conn.iterdump()) == snapshot


def test_conflict_with_registry_rolls_back_the_whole_file(conn):
    inventory.import_text(conn, EXAMPLE.read_text(), known_boards=BOARDS)
    snapshot = list(conn.iterdump())
    lines = _lines()
    # A new unit on line 2 (valid on its own, would be written first) and on line 3 a new unit claiming
    # dinkes-01's SIM, which dinkes-01 still holds: the conflict must undo line 2 as well.
    new_iccid = with_check("896210900000000099")
    row_new = lines[1].replace("dinkes-01", "pmi-01").replace("HT-0001", "HT-0100").replace("a1:00:01", "a1:01:00") \
        .replace("0812 1000 0001", "0812 1000 0100").replace("8962109000000000011", new_iccid) \
        .replace("861371000004005", with_check("86137100000999"))
    row_thief = lines[2].replace("dinkes-02", "pmi-02").replace("HT-0002", "HT-0101").replace("a1:00:02", "a1:01:01") \
        .replace("0812 1000 0002", "0812 1000 0101").replace("8962109000000000029", "8962109000000000011") \
        .replace("861371000004013", with_check("86137100000998"))
    with pytest.raises(inventory.ImportFailed) as e:
        inventory.import_text(conn, "\n".join([lines[0], row_new, row_thief]) + "\n", known_boards=BOARDS)
    assert [(n, m) for n, _, m in e.value.problems if "already assigned to unit dinkes-01" in m][0][0] == 3
    assert list(conn.iterdump()) == snapshot


@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("unit_id,serial\n", "required column"),
    ("unit_id,serial,board,iccid,official,opd,colour\n", "unknown column"),
    ("unit_id,serial,board,iccid,official,opd\n", "no rows"),
    ("unit_id,serial,board,iccid,official,opd\nu1,S1,LILYGO_T_A7670,8962109000000000011,A,B,extra\n", "more fields"),
    ("unit_id,serial,board,iccid,official,opd\nu1,S1,LILYGO_T_A7670\n", "fewer fields"),
    ("unit_id,serial,board,iccid,official,opd\nu/1,S1,LILYGO_T_A7670,8962109000000000011,A,B\n", "unit_id"),
    ("unit_id,serial,board,iccid,official,opd\nu1,S1,LILYGO_T_A7670,,A,B\n", "missing"),
])
def test_malformed_files(conn, text, words):
    with pytest.raises(inventory.ImportFailed) as e:
        inventory.import_text(conn, text, known_boards=BOARDS)
    assert any(words in "%s %s" % (c, m) for _, c, m in e.value.problems), e.value.problems
    assert counts(conn)["devices"] == 0


def test_semicolon_csv_with_bom_from_an_indonesian_spreadsheet(conn):
    # An Indonesian-locale spreadsheet saves ';'-separated CSV with a BOM, quoting fields that contain ';'.
    import csv
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    for row in csv.reader(io.StringIO(EXAMPLE.read_text())):
        w.writerow(row)
    assert '"dinkes;all"' in buf.getvalue()
    stats = inventory.import_text(conn, "\ufeff" + buf.getvalue(), known_boards=BOARDS)
    assert stats["new_units"] == 6
    assert registry.unit(conn, "dinkes-01")["talkgroups"] == ["dinkes", "all"]


# ---- assignments, history, certificates, audit, credentials ---------------------------------------------
def test_reassignment_keeps_history_and_refuses_double_use(conn):
    inventory.import_text(conn, EXAMPLE.read_text(), known_boards=BOARDS)
    a = registry.unit(conn, "dinkes-01")
    new_iccid = with_check("896210900000000077")
    registry.upsert_sim(conn, new_iccid, "+6281299990000", "Telkomsel", "InternetMax", 6144, "2027-06-01", 55000,
                        "Dinas Kesehatan")
    b = registry.assign(conn, "dinkes-01", a["serial"], a["imei"], new_iccid, a["official_id"], a["callsign"],
                        a["talkgroups"], a["priority"], at="2027-01-02T00:00:00+00:00")
    hist = registry.assignment_history(conn, "dinkes-01")
    assert [h["iccid"] for h in hist] == [a["iccid"], new_iccid]
    assert hist[0]["end_at"] == "2027-01-02T00:00:00+00:00" and hist[1]["end_at"] is None
    assert b["sim_expiry"] == "2027-06-01"
    with pytest.raises(ConflictError, match="dinkes-01"):
        registry.assign(conn, "dinkes-02", a["serial"], None, None)
    # the raw index backs the check: a second open row for a SIM is impossible even via SQL
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO assignments (unit_id, iccid, start_at) VALUES ('x', ?, 'now')", (new_iccid,))
    with pytest.raises(NotFoundError):
        registry.unit(conn, "nobody")


def test_config_values_build_a_valid_radio_config(conn):
    from htctl.firmware import htconfig
    inventory.import_text(conn, EXAMPLE.read_text(), known_boards=BOARDS)
    for u in registry.units(conn):
        cfg = htconfig.Config(registry.config_values(u))  # raises if the registry held something invalid
        assert cfg.get("unit.id") == u["unit_id"]
    c = htconfig.Config(registry.config_values(registry.unit(conn, "dishub-01")))
    assert c.get("dataplan.opd") == "Diskominfo" and c.get("dataplan.expiry") == "2027-02-01"
    assert c.get("talkgroups.list") == ["dishub", "all"] and c.get("unit.callsign") == "Kadishub"


def test_certificates_and_audit(conn):
    inventory.import_text(conn, EXAMPLE.read_text(), known_boards=BOARDS)
    checks = [{"check": "sim", "ok": True}, {"check": "signal", "ok": False, "value": -121}]
    registry.record_bench(conn, "HT-0001", "tech-a", checks, False, "dinkes-01", at="2027-01-01T08:00:00+00:00")
    registry.record_bench(conn, "HT-0001", "tech-b", checks[:1], True, "dinkes-01", at="2027-01-02T08:00:00+00:00")
    last = registry.last_bench(conn, "HT-0001")
    assert (last["technician"], last["passed"], last["results"]) == ("tech-b", True, checks[:1])
    assert len(registry.bench_certificates(conn, "HT-0001")) == 2
    assert registry.last_bench(conn, "HT-0002") is None
    registry.audit(conn, "tech-a", "provision", "dinkes-01", "HT-0001", "ab" * 32, {"changed": ["broker.url"]})
    log = registry.audit_log(conn, "dinkes-01")
    assert log[0]["config_hash"] == "ab" * 32 and log[0]["detail"] == {"changed": ["broker.url"]}
    with pytest.raises(ValueError, match="secret"):
        registry.audit(conn, "tech-a", "provision", "dinkes-01", detail={"config": {"broker": {"password": "p"}}})
    registry.audit(conn, "tech-a", "provision", "dinkes-01", detail={"broker": {"password": "********"}})
    assert len(registry.audit_log(conn, "dinkes-01")) == 2


def test_credentials_stored_only_as_hash(conn, tmp_path):
    registry.set_credentials(conn, "dinkes-01", "dinkes-01", "correct horse battery")
    dump = "\n".join(conn.iterdump())
    assert "correct horse" not in dump
    assert registry.verify_credentials(conn, "dinkes-01", "correct horse battery")
    assert not registry.verify_credentials(conn, "dinkes-01", "wrong")
    assert not registry.verify_credentials(conn, "nobody", "x")
    [row] = registry.credentials(conn)
    assert row["pw_hash"].startswith("$7$101$")


@pytest.mark.skipif(not shutil.which("mosquitto_passwd"), reason="mosquitto_passwd not installed")
def test_hash_format_is_the_one_mosquitto_writes(tmp_path):
    f = tmp_path / "pw"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(f), "u1", "s3cret pass"], check=True, capture_output=True)
    theirs = f.read_text().strip().split(":", 1)[1]
    assert registry.verify_password("s3cret pass", theirs)
    assert not registry.verify_password("s3cret pasS", theirs)


def test_connect_refuses_a_missing_or_foreign_file(tmp_path):
    with pytest.raises(NotFoundError):
        registry.connect(tmp_path / "none.sqlite", create=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(registry.UserError, match="cannot create"):
        registry.connect(tmp_path / "file" / "sub" / "r.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(registry.UserError):
        registry.connect(junk)


# ---- CLI ------------------------------------------------------------------------------------------------
def test_cli_import_and_json(tmp_path):
    reg = str(tmp_path / "r.sqlite")
    code, out, err = run(["fleet", "import", str(EXAMPLE), "--registry", reg])
    assert code == EXIT_OK and "6 new unit(s)" in out
    code, out, _ = run(["fleet", "import", str(EXAMPLE), "--registry", reg, "--json"])
    assert json.loads(out)["unchanged_units"] == 6
    code, out, _ = run(["fleet", "unit", "bpbd-01", "--registry", reg, "--json"])
    assert json.loads(out)["unit"]["official"] == "Agus Prasetyo"


def test_cli_corrupt_csv_is_a_user_error_with_lines_and_no_traceback(tmp_path):
    reg = tmp_path / "r.sqlite"
    bad = tmp_path / "bad.csv"
    lines = _lines()
    lines[3] = lines[3].replace("861371000004021", "861371000004022")
    bad.write_text("\n".join(lines) + "\n")
    code, out, err = run(["fleet", "import", str(bad), "--registry", str(reg)])
    assert code == EXIT_USAGE
    # the problem table names line 4 (plain columns on a pipe since issue 13, no box drawing)
    assert "IMEI" in out and any(ln.startswith("4 ") for ln in out.splitlines())
    assert err.startswith("error: %s: 1 problem(s) on 1 line(s); nothing was imported" % bad)
    assert "Hint:" in err and "Traceback" not in err
    conn = registry.connect(reg)
    assert counts(conn)["devices"] == 0
    code, out, _ = run(["fleet", "import", str(bad), "--registry", str(reg), "--json"])
    assert json.loads(out)["problems"][0]["line"] == 4
    code, out, _ = run(["fleet", "import", str(EXAMPLE), "--dry-run", "--registry", str(reg)])
    assert code == 0 and "dry run" in out and counts(conn)["devices"] == 0


def test_cli_missing_files(tmp_path):
    code, _, err = run(["fleet", "import", str(tmp_path / "nope.csv"), "--registry", str(tmp_path / "r")])
    assert code == EXIT_NOT_FOUND and "Hint:" in err
    code, _, err = run(["fleet", "status", "--registry", str(tmp_path / "none.sqlite")])
    assert code == EXIT_NOT_FOUND and "htctl fleet import" in err
    code, _, err = run(["fleet", "unit", "ghost", "--registry", str(tmp_path / "r")])
    assert code in (EXIT_NOT_FOUND,)
    (tmp_path / "latin1.csv").write_bytes("unit_id\nCaf\xe9\n".encode("latin-1"))
    code, _, err = run(["fleet", "import", str(tmp_path / "latin1.csv"), "--registry", str(tmp_path / "r")])
    assert code == EXIT_USAGE and "UTF-8" in err
