"""Fleet status and the HTML report: readiness per OPD, SIM expiry wording (id/en), yearly data budget in
Indonesian rupiah format, radios not ready and why, presence from a dict or the broker's retained messages."""
import datetime
import json
import pathlib
from html.parser import HTMLParser

import pytest

from htctl import inventory, registry, report
from htctl.errors import EXIT_FAILED, EXIT_USAGE
from fixtures.cli import run_htctl as run

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "inventory-example.csv"
TODAY = datetime.date(2027, 1, 7)


@pytest.fixture
def reg(tmp_path):
    path = tmp_path / "reg.sqlite"
    conn = registry.connect(path)
    inventory.import_text(conn, EXAMPLE.read_text())
    ok = [{"check": "sim", "ok": True}, {"check": "signal", "ok": True}]
    for serial, unit in (("HT-0001", "dinkes-01"), ("HT-0002", "dinkes-02"), ("HT-0003", "bpbd-01"),
                         ("HT-0006", "dishub-01")):
        registry.record_bench(conn, serial, "tech-a", ok, True, unit, at="2027-01-05T09:00:00+00:00")
    registry.record_bench(conn, "HT-0004", "tech-a", [{"check": "sim", "ok": True},
                                                      {"check": "signal", "ok": False, "value": -123}],
                          False, "bpbd-02", at="2027-01-05T10:00:00+00:00")
    # HT-0005 (satpolpp-01) never bench-tested; its SIM expires 2026-12-31 (already expired on TODAY)
    conn.close()
    return path


def status(reg, **kw):
    conn = registry.connect(reg)
    try:
        return report.fleet_status(conn, kw.pop("today", TODAY), **kw)
    finally:
        conn.close()


# ---- wording and numbers ------------------------------------------------------------------------------
def test_rupiah_format():
    assert report.format_rupiah(1320000) == "Rp1.320.000"
    assert report.format_rupiah(55000) == "Rp55.000"
    assert report.format_rupiah(0) == "Rp0"
    assert report.format_rupiah(999) == "Rp999"


def test_expiry_text_both_languages():
    # Prose dates in Indonesian style ("19 Januari 2027") since issue 13; they were ISO before.
    today = datetime.date(2027, 1, 7)
    assert report.expiry_text("2027-01-19", today, "en") == "expires 19 January 2027, in 12 days"
    assert report.expiry_text("2027-01-19", today, "id") == "habis 19 Januari 2027, 12 hari lagi"
    assert report.expiry_text("2027-01-08", today, "en") == "expires 8 January 2027, in 1 day"
    assert report.expiry_text("2027-01-07", today, "en") == "expires today (7 January 2027)"
    assert report.expiry_text("2027-01-07", today, "id") == "habis hari ini (7 Januari 2027)"
    assert report.expiry_text("2026-12-31", today, "en") == "expired 31 December 2026, 7 days ago"
    assert report.expiry_text("2026-12-31", today, "id") == "sudah habis 31 Desember 2026, 7 hari lalu"
    assert report.expiry_text(None, today, "id") == "tidak diketahui"


# ---- status -------------------------------------------------------------------------------------------
def test_readiness_and_reasons(reg):
    st = status(reg)
    by = {u["unit_id"]: u for u in st["units"]}
    assert by["dinkes-01"]["ready"] and by["bpbd-01"]["ready"] and by["dishub-01"]["ready"]
    # dinkes SIMs expire 2027-01-19: a warning (12 days), not a blocker
    assert [r["code"] for r in by["dinkes-01"]["reasons"]] == ["sim_expiring"]
    assert by["dinkes-01"]["reasons"][0]["text"] == "SIM expires 19 January 2027, in 12 days"
    assert not by["bpbd-02"]["ready"]
    assert by["bpbd-02"]["reasons"][0]["text"] == "bench test failed: signal"
    sat = by["satpolpp-01"]
    assert not sat["ready"] and {r["code"] for r in sat["reasons"]} == {"no_bench", "sim_expired"}
    assert st["totals"] == {"radios": 6, "ready": 4, "not_ready": 2, "yearly_budget_rp": 4260000, "online": None}


def test_budget_per_paying_opd(reg):
    opds = {o["opd"]: o for o in status(reg)["opds"]}
    assert opds["Dinas Kesehatan"]["yearly_budget_rp"] == 2 * 55000 * 12 == 1320000
    assert opds["Satpol PP"]["yearly_budget_rp"] == 80000 * 12
    # Dishub's radio has a SIM paid by Diskominfo: the budget goes to the payer
    assert opds["Dinas Perhubungan"]["yearly_budget_rp"] == 0 and opds["Dinas Perhubungan"]["radios"] == 1
    assert opds["Diskominfo"]["yearly_budget_rp"] == 660000 and opds["Diskominfo"]["radios"] == 0
    assert opds["BPBD"]["ready"] == 1 and opds["BPBD"]["not_ready"] == 1


def test_missing_price_uses_the_default(reg):
    conn = registry.connect(reg)
    conn.execute("UPDATE sims SET price_rp = NULL WHERE iccid = '8962109000000000052'")
    conn.commit()
    conn.close()
    opds = {o["opd"]: o for o in status(reg)["opds"]}
    assert opds["Satpol PP"]["yearly_budget_rp"] == 55000 * 12


def test_presence_dict_gives_online_and_offline_warning(reg):
    presence = {"dinkes-01": {"online": True, "stage": "online", "last_seen": "2027-01-07T08:00:00+00:00"},
                "bpbd-01": {"online": False, "stage": "offline", "last_seen": None}}
    st = status(reg, presence=presence)
    by = {u["unit_id"]: u for u in st["units"]}
    assert by["dinkes-01"]["online"] is True and by["dinkes-01"]["last_seen"].startswith("2027-01-07")
    assert by["bpbd-01"]["online"] is False and by["bpbd-01"]["ready"]  # offline is a warning only
    assert "offline" in [r["code"] for r in by["bpbd-01"]["reasons"]]
    assert by["dishub-01"]["online"] is False  # never seen
    assert st["totals"]["online"] == 1
    assert {o["opd"]: o["online"] for o in st["opds"]}["Dinas Kesehatan"] == 1


def test_presence_from_retained_messages_uses_the_firmware_parser():
    msgs = {"ht/demo/u/dinkes-01/p": b'{"u":"dinkes-01","s":"online","b":81,"r":-85,"i":54}',
            "ht/demo/u/bpbd-01/p": b'{"u":"bpbd-01","s":"offline"}',
            "ht/demo/u/junk/p": b"not json"}
    p = report.presence_from_messages(msgs, "2027-01-07T08:00:00+00:00")
    assert p == {"dinkes-01": {"online": True, "stage": "online", "battery": 81, "signal": -85,
                               "interval_s": 54, "last_seen": "2027-01-07T08:00:00+00:00"},
                 "bpbd-01": {"online": False, "stage": "offline", "battery": None, "signal": None,
                             "interval_s": 0, "last_seen": None}}


# ---- HTML ---------------------------------------------------------------------------------------------
class Page(HTMLParser):
    """Collect visible text per element id/table so tests assert what a reader sees."""

    def __init__(self):
        super().__init__()
        self.stack, self.text, self.tags, self.rows, self.lang = [], [], set(), {}, None
        self._table = self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "table":
            self._table = a.get("id")
            self.rows[self._table] = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        for bad in ("src", "href"):
            if bad in a and tag in ("script", "link", "img"):
                self.tags.add("external:" + a[bad])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows[self._table].append(self._row)
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data + " ")

    @property
    def visible(self):
        return " ".join(" ".join(self.text).split())


def parse(text):
    p = Page()
    p.feed(text)
    p.close()
    return p


def test_html_report_english(reg):
    page = parse(report.render_html(status(reg), "en"))
    assert page.lang == "en"
    assert not [t for t in page.tags if t.startswith("external:") or t == "script"]  # self-contained
    opds = {r[0]: r for r in page.rows["opds"][1:]}
    assert page.rows["opds"][0][:4] == ["OPD (department)", "Radios", "Ready", "Not ready"]
    assert opds["Dinas Kesehatan"][-1] == "Rp1.320.000"
    assert opds["Total"][-1] == "Rp4.260.000"
    units = {r[0]: r for r in page.rows["units"][1:]}
    assert "expires 19 January 2027, in 12 days" in units["dinkes-01"]
    assert units["satpolpp-01"][5] == "expired 31 December 2026, 7 days ago"
    assert units["bpbd-02"][6].startswith("FAIL 5 January 2027")
    assert "paid by Diskominfo" in units["dishub-01"][4]
    v = page.visible
    assert "Radios not ready, and why" in v
    assert "bpbd-02 (Dewi Lestari, BPBD): bench test failed: signal" in v
    assert "satpolpp-01 (Hendra Wijaya, Satpol PP): never bench-tested; SIM expired 31 December 2026, 7 days ago" in v


def test_html_report_bahasa_indonesia_and_presence(reg):
    presence = {"dinkes-01": {"online": True, "stage": "online", "last_seen": "2027-01-07T08:00:00+00:00"}}
    page = parse(report.render_html(status(reg, lang="id", presence=presence), "id"))
    assert page.lang == "id"
    assert page.rows["opds"][0] == ["OPD", "Radio", "Siap", "Belum siap", "Online", "SIM dibayar", "Per bulan",
                                    "Anggaran data per tahun"]
    units = {r[0]: r for r in page.rows["units"][1:]}
    assert "habis 19 Januari 2027, 12 hari lagi" in units["dinkes-01"]
    # last seen in WIB (UTC+7), Indonesian style, since issue 13 (it was the raw UTC ISO time)
    assert units["dinkes-01"][7] == "online" and units["dinkes-01"][8] == "7 Januari 2027 15.00 WIB"
    assert units["bpbd-01"][7] == "offline"
    v = page.visible
    assert "Radio yang belum siap, dan sebabnya" in v
    assert "uji gagal: signal" in v and "belum pernah diuji" in v and "SIM sudah habis 31 Desember 2026, 7 hari lalu" in v


def test_html_escapes_registry_text(reg):
    conn = registry.connect(reg)
    conn.execute("UPDATE officials SET name = '<script>alert(1)</script>' WHERE name = 'Budi Santoso'")
    conn.commit()
    conn.close()
    text = report.render_html(status(reg), "en")
    page = parse(text)
    assert "script" not in page.tags and "<script>alert" not in text
    assert "<script>alert(1)</script>" in page.visible


def test_all_ready_message(tmp_path):
    conn = registry.connect(tmp_path / "r.sqlite")
    inventory.import_text(conn, EXAMPLE.read_text())
    for u in registry.units(conn):
        registry.record_bench(conn, u["serial"], "t", [], True, u["unit_id"])
    page = parse(report.render_html(report.fleet_status(conn, datetime.date(2026, 6, 1)), "id"))
    assert "Semua radio siap." in page.visible


# ---- CLI ----------------------------------------------------------------------------------------------
def test_cli_status_json_and_table(reg):
    code, out, _ = run(["fleet", "status", "--registry", str(reg), "--today", "2027-01-07", "--json"])
    assert code == 0
    data = json.loads(out)
    assert data["totals"]["not_ready"] == 2 and data["today"] == "2027-01-07"
    code, out, _ = run(["fleet", "status", "--registry", str(reg), "--lang", "id"], today=TODAY)
    assert "Kesiapan per OPD" in out and "Rp1.320.000" in out and "uji gagal: signal" in out
    assert "GAGAL 5 Januari 2027" in out and "belum pernah" in out
    code, _, err = run(["fleet", "status", "--registry", str(reg), "--strict"], today=TODAY)
    assert code == EXIT_FAILED and "2 radio(s) not ready" in err


def test_cli_status_with_injected_presence(reg):
    code, out, _ = run(["fleet", "status", "--registry", str(reg), "--json"], today=TODAY,
                       presence={"bpbd-01": {"online": True, "last_seen": "x"}})
    assert json.loads(out)["totals"]["online"] == 1


def test_cli_report_writes_html(reg, tmp_path):
    out_file = tmp_path / "laporan.html"
    code, out, _ = run(["fleet", "report", "--html", str(out_file), "--lang", "id", "--today", "2027-01-07",
                        "--registry", str(reg)])
    assert code == 0 and "laporan.html" in out
    page = parse(out_file.read_text(encoding="utf-8"))
    assert page.lang == "id" and "Laporan armada radio" in page.visible


def test_cli_report_bad_arguments(reg, tmp_path):
    code, _, err = run(["fleet", "report", "--html", str(tmp_path / "x.html"), "--today", "07/01/2027",
                        "--registry", str(reg)])
    assert code == EXIT_USAGE and "YYYY-MM-DD" in err and "Traceback" not in err
    code, _, err = run(["fleet", "report", "--registry", str(reg)])
    assert code == EXIT_USAGE and "--html" in err
    code, _, err = run(["fleet", "report", "--html", str(tmp_path / "no" / "dir" / "x.html"), "--registry", str(reg)])
    assert code == EXIT_USAGE and "cannot write" in err
    code, _, err = run(["fleet", "status", "--lang", "fr", "--registry", str(reg)])
    assert code == EXIT_USAGE


@pytest.mark.sim
def test_presence_fetched_from_a_real_broker(reg, mosquitto):
    import paho.mqtt.client as mqtt
    m = mosquitto()
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    pub.connect(m.host, m.port)
    pub.loop_start()
    infos = [pub.publish("ht/demo/u/dinkes-01/p", b'{"u":"dinkes-01","s":"online","b":90}', qos=1, retain=True),
             pub.publish("ht/demo/u/bpbd-02/p", b'{"u":"bpbd-02","s":"offline"}', qos=1, retain=True),
             pub.publish("ht/other/u/x/p", b'{"u":"x","s":"online"}', qos=1, retain=True)]
    for i in infos:
        i.wait_for_publish(timeout=10)
    pub.loop_stop()
    pub.disconnect()
    presence = report.fetch_presence("mqtt://%s:%d" % (m.host, m.port), "demo")
    assert set(presence) == {"dinkes-01", "bpbd-02"}
    assert presence["dinkes-01"]["online"] and presence["dinkes-01"]["battery"] == 90
    assert presence["bpbd-02"]["online"] is False
    # The fleet defaults to the registry's (kota, as provisioning and `broker write` use), no longer to "demo"
    # (issue 13): these radios publish under "demo", so the default finds none and says so.
    code, out, err = run(["fleet", "status", "--registry", str(reg), "--json", "--broker",
                          "mqtt://%s:%d" % (m.host, m.port), "--lang", "en"], today=TODAY)
    assert json.loads(out)["totals"]["online"] == 0 and json.loads(out)["fleet"] == "kota"
    assert "no radio's presence arrived on ht/kota/u/+/p" in err
    code, out, _ = run(["fleet", "status", "--registry", str(reg), "--json", "--broker",
                        "mqtt://%s:%d" % (m.host, m.port), "--fleet", "demo"], today=TODAY)
    assert json.loads(out)["totals"]["online"] == 1


@pytest.mark.sim
def test_broker_login_from_environment(reg, mosquitto, monkeypatch):
    m = mosquitto(users={"cc": "console-pass"}, acl={"cc": (["ht/demo/#"], ["ht/demo/#"])})
    url = "mqtt://%s:%d" % (m.host, m.port)
    monkeypatch.setenv("HTCTL_BROKER_PASSWORD", "wrong")
    code, _, err = run(["fleet", "status", "--registry", str(reg), "--broker", url, "--broker-user", "cc"])
    assert code == 4 and "refused" in err and "HTCTL_BROKER_PASSWORD" in err
    monkeypatch.setenv("HTCTL_BROKER_PASSWORD", "console-pass")
    code, out, err = run(["fleet", "status", "--registry", str(reg), "--broker", url, "--broker-user", "cc",
                          "--json"], today=TODAY)
    assert code == 0, err
    assert json.loads(out)["totals"]["online"] == 0 and json.loads(out)["presence"] is True


def test_unreachable_broker_is_a_device_error(reg):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens here now
    code, _, err = run(["fleet", "status", "--registry", str(reg), "--broker", "mqtt://127.0.0.1:%d" % port])
    assert code == 4 and "cannot reach the broker" in err and "Hint:" in err
