"""The fleet report as a kepala OPD sees it: rendered by a real browser (chromium headless)."""
import datetime
import html
import pathlib
import re

import pytest

from htctl import inventory, registry, report
from fixtures.cli import run_htctl as run

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "inventory-example.csv"



@pytest.fixture
def page(tmp_path):
    path = tmp_path / "reg.sqlite"
    conn = registry.connect(path)
    inventory.import_text(conn, EXAMPLE.read_text())
    for serial, unit in (("HT-0001", "dinkes-01"), ("HT-0003", "bpbd-01")):
        registry.record_bench(conn, serial, "Ani", [{"check": "sim", "ok": True}], True, unit,
                              at="2027-01-05T09:00:00+00:00")
    conn.close()
    out = tmp_path / "laporan.html"
    code, _, err = run(["fleet", "report", "--html", str(out), "--registry", str(path), "--no-broker",
                        "--today", "2027-01-07", "--lang", "id"])
    assert code == 0, err
    return out


def test_the_rendered_page_shows_expiring_sims_plain_numbers_and_the_budget_rule(page, chromium, tmp_path):
    r = chromium("--dump-dom", page.resolve().as_uri())
    assert r.returncode == 0, r.stderr[-2000:]
    text = html.unescape(re.sub(r"<[^>]+>", " ", r.stdout))
    text = re.sub(r"\s+", " ", text)
    assert "SIM habis ≤ 30 hari" in text
    # the expiring section lists the dinkes SIMs (19 Januari 2027) and the expired satpolpp one, soonest first
    section = text.split("SIM habis ≤ 30 hari", 1)[1].split("Radio yang belum siap", 1)[0]
    assert section.index("satpolpp-01") < section.index("dinkes-01")
    assert "sudah habis 31 Desember 2026" in section and "habis 19 Januari 2027, 12 hari lagi" in section
    assert "harga paket tiap SIM per bulan × 12" in text and "jumlah radio ×" not in text
    # a zero "Siap" is a plain number, not green bold
    ready_cells = re.findall(r'<td class="([^"]*)">0</td>', r.stdout)
    assert ready_cells and all("ok" not in c for c in ready_cells)

    shot = tmp_path / "laporan.png"
    r = chromium("--screenshot=%s" % shot, "--window-size=1280,2000", page.resolve().as_uri())
    assert r.returncode == 0 and shot.stat().st_size > 20000      # a real picture, not a blank page


def test_report_in_english_on_request(tmp_path):
    conn = registry.connect(tmp_path / "r.sqlite")
    inventory.import_text(conn, EXAMPLE.read_text())
    st = report.fleet_status(conn, datetime.date(2027, 1, 7), lang="en")
    conn.close()
    page = report.render_html(st, "en")
    assert "SIMs ending within 30 days" in page and "each SIM&#x27;s monthly price × 12" in page
