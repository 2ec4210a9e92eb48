"""The console's pieces without a browser: the board's judging and bad input, passwords and the append-only
audit log, roll-call checks and schedules."""
import datetime
import json
import sqlite3

import pytest

from fixtures.console import seed_registry
from htcc.console import rollcall as RC
from htcc.console.fleet import FleetBoard
from htcc.console.store import Store, hash_password, verify_password


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


@pytest.fixture
def board(tmp_path):
    st = Store(str(seed_registry(tmp_path / "reg.sqlite")))
    clk = Clock()
    b = FleetBoard(st.conn, "kota", clock=clk)
    b.clk = clk
    yield b
    st.close()


def pres(u, s="online", **kw):
    d = {"u": u, "s": s}
    d.update(kw)
    return json.dumps(d).encode()


def test_registry_units_never_heard_are_not_ready_with_reason(board):
    rows = board.snapshot()["rows"]
    assert {r["unit"] for r in rows} == {"u01", "u02", "u03"}
    r = board.rows["u01"]
    assert not r["ready"] and not r["online"] and r["reasons"][0]["id"] == "Belum pernah terhubung ke server"
    assert r["official"] == "Budi Santoso" and r["opd"] == "Dinas Kominfo" and r["talkgroups"] == ["1"]
    # u03's SIM ran out three days ago: a registry reason, in both languages
    codes = {x["code"]: x for x in board.rows["u03"]["reasons"]}
    assert "sudah habis" in codes["sim_expired"]["id"] and "expired" in codes["sim_expired"]["en"]


def test_presence_makes_ready_and_staleness_takes_it_back(board):
    board.on_presence("u01", pres("u01", b=80, r=-90, p="ok", v="1.0", i=54))
    r = board.rows["u01"]
    assert r["online"] and r["ready"] and r["step"] == 5 and r["battery"] == 80 and r["bars"] == 3
    board.take_dirty()
    board.clk.t += 54 * 1.5 - 0.1
    assert board.tick() == [] and board.rows["u01"]["online"]
    board.clk.t += 0.2
    assert board.tick() == ["u01"]
    r = board.rows["u01"]
    assert not r["online"] and not r["ready"] and r["reasons"][0]["code"] == "offline"
    assert [x["unit"] for x in board.take_dirty()] == ["u01"]
    # A short beat brings it back and keeps the full readiness of the last change.
    board.on_presence("u01", pres("u01", i=54))
    r = board.rows["u01"]
    assert r["online"] and r["battery"] == 80 and r["plan"] == "ok"


def test_stage_reasons_in_bahasa_and_the_will(board):
    board.on_presence("u02", pres("u02", s="registered", b=10, p="low", i=54))
    r = board.rows["u02"]
    assert not r["ready"] and r["step"] == 2
    texts = [x["id"] for x in r["reasons"]]
    assert texts[0].startswith("Terdaftar di jaringan") and "Kuota data hampir habis" in texts
    assert "Baterai lemah" in texts
    board.on_presence("u02", pres("u02", s="offline"))
    assert board.rows["u02"]["reasons"][0]["id"].startswith("Terputus")
    board.on_presence("u01", pres("u01", n="nofloor", i=54))
    assert any(x["code"] == "note_nofloor" for x in board.rows["u01"]["reasons"])


@pytest.mark.parametrize("unit,payload,why", [
    ("u01", b"{not json", "not JSON"),
    ("u01", b"[1,2]", "lacks unit"),
    ("u01", pres("u02"), "names unit"),
    ("u01", pres("u01", b=150), "out of range"),
    ("u01", pres("u01", s="flying"), "lacks unit or stage"),
    ("u01", pres("u01", i=-5), "interval"),
    ("u01", b"{" + b" " * 5000 + b"}", "larger than"),
])
def test_bad_presence_is_refused_and_changes_nothing(board, unit, payload, why):
    board.on_presence("u01", pres("u01", b=80, i=54))
    before = dict(board.rows["u01"])
    with pytest.raises(ValueError, match=why):
        board.on_presence(unit, payload)
    assert board.rows["u01"] == before


def test_bad_telemetry_is_refused(board):
    with pytest.raises(ValueError, match="not a number"):
        board.on_telemetry("u01", b'{"u":"u01","tx":"lots"}')
    with pytest.raises(ValueError, match="lacks its unit"):
        board.on_telemetry("u01", b'{"u":"u02","tx":1}')
    board.on_telemetry("u01", b'{"u":"u01","t":5,"tx":1000000,"rx":500000}')
    assert board.rows["u01"]["used_mb"] == 1.5 and board.rows["u01"]["quota_left_mb"] == 2998.5


def test_unknown_unit_shows_with_a_reason(board):
    board.on_presence("zz9", pres("zz9", i=54))
    r = board.rows["zz9"]
    assert r["online"] and not r["ready"] and r["reasons"][0]["code"] == "unknown_unit"


def test_scopes(board):
    assert board.units_in("all") == ["u01", "u02", "u03"]
    assert board.units_in("tg:2") == ["u02", "u03"]
    assert board.units_in("opd:BPBD") == ["u02"]
    with pytest.raises(ValueError):
        board.units_in("kelurahan:x")


def test_passwords_hash_only_and_sessions(tmp_path):
    h = hash_password("kata-sandi-panjang")
    assert h.startswith("scrypt$") and "kata-sandi" not in h
    assert verify_password("kata-sandi-panjang", h) and not verify_password("salah", h)
    assert not verify_password("x", "garbage")
    st = Store(str(tmp_path / "reg.sqlite"))
    st.set_user("budi", "kata-sandi-panjang", "operator")
    with pytest.raises(ValueError, match="too short"):
        st.set_user("ani", "pendek")
    with pytest.raises(ValueError, match="role"):
        st.set_user("ani", "kata-sandi-panjang", "admin")
    assert st.check_login("budi", "kata-sandi-panjang")["role"] == "operator"
    assert st.check_login("budi", "wrong") is None and st.check_login("nobody", "x") is None
    token, csrf = st.new_session("budi", 1.0)
    assert st.session(token)["csrf"] == csrf and st.session("forged") is None
    row = st.conn.execute("SELECT token_hash FROM console_sessions").fetchone()
    assert row[0] != token                         # only a hash of the cookie is stored
    st.disable_user("budi")
    assert st.session(token) is None and st.check_login("budi", "kata-sandi-panjang") is None
    st.close()


def test_audit_is_append_only_and_refuses_secrets(tmp_path):
    st = Store(str(tmp_path / "reg.sqlite"))
    st.audit("budi", "talk.start", {"tg": "1"})
    with pytest.raises(ValueError, match="secret"):
        st.audit("budi", "x", {"password": "hunter2"})
    for sql in ("UPDATE console_audit SET action='y'", "DELETE FROM console_audit WHERE id=1"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            st.conn.execute(sql)
    assert [r["action"] for r in st.audit_log()] == ["talk.start"]
    st.close()


def test_rollcall_checks():
    assert RC.check_scope("all") == "all" and RC.check_scope("opd:BPBD") == "opd:BPBD"
    for bad in ("", "opd:", "everyone", "tg"):
        with pytest.raises(ValueError):
            RC.check_scope(bad)
    assert RC.check_days("54321") == "12345"
    with pytest.raises(ValueError, match="1-7"):
        RC.check_days("89")
    assert RC.check_time("8:05") == "08:05"
    for bad in ("25:00", "8", "ab:cd"):
        with pytest.raises(ValueError, match="HH:MM"):
            RC.check_time(bad)


class _FakeConsole:
    # Just enough of htcc.console.core.Console for the scheduler: a store, and a begin() that records.
    def __init__(self, store):
        self.store = store
        self.started = []

        class Bus:
            def subscribe(self, *a, **k):
                pass
        self.bus = Bus()
        self.fleet = "kota"

        class Audit:
            def __init__(self, st):
                self.st = st

            def record(self, *a):
                return self.st.audit(*a)
        self.audit = Audit(store)


def test_schedule_fires_once_on_its_days_in_wib(tmp_path):
    from htctl.i18n import WIB
    st = Store(str(tmp_path / "reg.sqlite"))
    fc = _FakeConsole(st)
    rcs = RC.RollCalls(fc)
    rcs.begin = lambda op, scope, dl: fc.started.append((op, scope, dl))
    rcs.add_schedule("sri", "12345", "08:00", "all", 120)
    mon_8 = datetime.datetime(2026, 12, 7, 8, 0, 10, tzinfo=WIB)          # a Monday
    rcs._schedules(mon_8)
    rcs._schedules(mon_8 + datetime.timedelta(seconds=30))              # same minute: not again
    rcs._schedules(mon_8 + datetime.timedelta(minutes=1))
    rcs._schedules(datetime.datetime(2026, 12, 12, 8, 0, tzinfo=WIB))   # Saturday: no
    rcs._schedules(datetime.datetime(2026, 12, 8, 8, 0, tzinfo=WIB))    # Tuesday: yes
    assert [s[1] for s in fc.started] == ["all", "all"]
    assert fc.started[0][0].startswith("jadwal#")
    st.close()


def test_a_rollcall_cut_by_a_restart_is_closed_with_what_arrived(tmp_path):
    st = Store(str(tmp_path / "reg.sqlite"))
    st.conn.execute("INSERT INTO console_rollcalls (id, started_at, started_by, scope, deadline_s, units) VALUES "
                    "('rc1', '2026-12-07T01:00:00+00:00', 'sri', 'all', 60, '[\"u01\", \"u02\"]')")
    st.conn.execute("INSERT INTO console_rollcall_answers (rc_id, unit_id, status, ms) VALUES ('rc1','u01','answered',900)")
    RC.RollCalls(_FakeConsole(st))
    r = st.conn.execute("SELECT finished_at, report FROM console_rollcalls WHERE id='rc1'").fetchone()
    assert r[0] is not None
    assert json.loads(r[1]) == {"answered": 1, "late": 0, "missed": 0, "offline": 0, "waiting": 1, "interrupted": 1}
    st.close()
