"""Bahasa Indonesia first for what field staff and Diskominfo read; English on request; WIB times and
Indonesian dates in prose."""
import datetime
import io

from htctl import i18n
from htctl.commands import bench
from htctl.output import Output

CERT = {"serial": "SN-0007", "unit": "dishub-07", "technician": "Ani", "at": "2026-12-07T02:05:00+00:00",
        "passed": False, "certificate": 12, "rows": [
            {"check": "sim", "value": None, "unit": "", "limit": "ready", "status": "FAIL", "detail": "no SIM",
             "hint": "insert the SIM", "hint_id": "masukkan kartu SIM"},
            {"check": "battery", "value": 3900, "unit": "mV", "limit": ">= 3500", "status": "PASS", "detail": "",
             "hint": None, "hint_id": None}]}


def _render(lang):
    out = io.StringIO()
    bench._render(Output(stdout=out), CERT, lang)
    return out.getvalue()


def test_bench_table_in_bahasa_with_wib_time_and_in_english_on_request():
    text = _render("id")
    assert "Uji radio SN-0007 (unit dishub-07) oleh Ani, 7 Desember 2026 09.05 WIB: GAGAL" in text
    assert "Petunjuk: masukkan kartu SIM" in text and "LULUS" in text and "pemeriksaan" in text
    assert "insert the SIM" not in text
    text = _render("en")
    assert "Bench SN-0007 (unit dishub-07) by Ani, 7 December 2026 09:05 WIB: FAIL" in text
    assert "Hint: insert the SIM" in text


def test_wib_is_utc_plus_seven_across_midnight():
    assert i18n.time_text("2026-12-31T17:30:00Z", "id") == "1 Januari 2027 00.30 WIB"
    assert i18n.time_text(datetime.datetime(2026, 6, 1, 0, 0), "en") == "1 June 2026 07:00 WIB"
    assert i18n.date_text("2026-12-07", "id") == "7 Desember 2026"
    assert i18n.date_text(datetime.date(2027, 8, 17), "id") == "17 Agustus 2027"
