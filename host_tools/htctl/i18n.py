"""Words, dates and times for people: Bahasa Indonesia first, English on request.

Labels for the fleet status and report, reasons a radio is not ready, Rupiah amounts, Indonesian dates
("7 Desember 2026") and times in WIB (Asia/Jakarta, UTC+7). Pure functions; no printing.
"""
from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

try:
    WIB = ZoneInfo("Asia/Jakarta")
except ZoneInfoNotFoundError:     # no tz database (a bare container): Jakarta has no daylight saving
    WIB = datetime.timezone(datetime.timedelta(hours=7), "WIB")

MONTHS = {"id": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
                 "Oktober", "November", "Desember"),
          "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                 "October", "November", "December")}


LABELS = {
    "en": {
        "title": "Radio fleet report", "generated": "Generated", "opd": "OPD (department)", "radios": "Radios",
        "ready": "Ready", "not_ready": "Not ready", "online": "Online", "budget": "Yearly data budget",
        "monthly": "Monthly", "unit": "Unit", "official": "Official", "board": "Board", "sim": "SIM",
        "sim_expiry": "SIM expiry", "bench": "Last bench test", "status": "Status", "last_seen": "Last seen",
        "not_ready_list": "Radios not ready, and why", "all_ready": "All radios are ready.",
        "total": "Total", "per_opd": "Readiness per OPD", "units": "All radios", "pass": "PASS", "fail": "FAIL",
        "never": "never", "yes": "yes", "no": "no", "unknown": "unknown", "warnings": "Attention",
        "budget_note": "Budget = each SIM's monthly price × 12, added up by the OPD that pays for the SIM.",
        "expiring": "SIMs ending within %d days", "expiring_none": "No SIM ends within 30 days.",
        "offline": "offline", "is_online": "online", "payer": "paid by", "paid": "SIMs paid",
        "no_presence": "the broker %(broker)s answered but no radio's presence arrived on ht/%(fleet)s/u/+/p: "
                       "check --fleet (the registry's fleet id) and the broker login",
        "wrote": "wrote %(html)s (%(radios)d radios, %(not_ready)d not ready)",
    },
    "id": {
        "title": "Laporan armada radio", "generated": "Dibuat", "opd": "OPD", "radios": "Radio",
        "ready": "Siap", "not_ready": "Belum siap", "online": "Online", "budget": "Anggaran data per tahun",
        "monthly": "Per bulan", "unit": "Unit", "official": "Pejabat", "board": "Jenis perangkat", "sim": "SIM",
        "sim_expiry": "Masa aktif SIM", "bench": "Uji terakhir", "status": "Status", "last_seen": "Terakhir terlihat",
        "not_ready_list": "Radio yang belum siap, dan sebabnya", "all_ready": "Semua radio siap.",
        "total": "Jumlah", "per_opd": "Kesiapan per OPD", "units": "Semua radio", "pass": "LULUS", "fail": "GAGAL",
        "never": "belum pernah", "yes": "ya", "no": "tidak", "unknown": "tidak diketahui", "warnings": "Perhatian",
        "budget_note": "Anggaran = harga paket tiap SIM per bulan × 12, dijumlah menurut OPD yang membayar SIM.",
        "expiring": "SIM habis ≤ %d hari", "expiring_none": "Tidak ada SIM yang habis dalam 30 hari.",
        "offline": "offline", "is_online": "online", "payer": "dibayar oleh", "paid": "SIM dibayar",
        "no_presence": "broker %(broker)s menjawab tetapi tidak ada kabar kehadiran radio di ht/%(fleet)s/u/+/p: "
                       "periksa --fleet (id armada di registri) dan login broker",
        "wrote": "%(html)s ditulis (%(radios)d radio, %(not_ready)d belum siap)",
    },
}

# The bench table (htctl bench) for the technician at the bench.
BENCH = {
    "en": {"columns": ["check", "measured", "limit", "result", "detail / what to do"], "hint": "Hint",
           "title": "Bench %(serial)s (unit %(unit)s) by %(technician)s, %(at)s: %(verdict)s",
           "PASS": "PASS", "FAIL": "FAIL", "SKIP": "SKIP", "stored": "certificate #%s stored in the registry",
           "failed": "%d of %d radio(s) failed the bench: %s",
           "failed_hint": "each FAIL line above says what to do; fix the first one and run the bench again"},
    "id": {"columns": ["pemeriksaan", "terukur", "batas", "hasil", "keterangan / yang harus dilakukan"],
           "hint": "Petunjuk",
           "title": "Uji radio %(serial)s (unit %(unit)s) oleh %(technician)s, %(at)s: %(verdict)s",
           "PASS": "LULUS", "FAIL": "GAGAL", "SKIP": "LEWAT", "stored": "sertifikat #%s disimpan di registri",
           "failed": "%d dari %d radio gagal uji: %s",
           "failed_hint": "setiap baris GAGAL di atas menyebut yang harus dilakukan; perbaiki yang pertama lalu "
                          "uji lagi"},
}

# Why a radio is not ready (blocking) or needs attention (warning). {0} is filled with a detail.
REASONS = {
    "no_bench": ("block", "never bench-tested", "belum pernah diuji"),
    "bench_failed": ("block", "bench test failed: {0}", "uji gagal: {0}"),
    "no_sim": ("block", "no SIM recorded", "SIM belum tercatat"),
    "sim_expired": ("block", "SIM {0}", "SIM {0}"),
    "no_official": ("block", "not assigned to an official", "belum diserahkan ke pejabat"),
    "sim_expiring": ("warn", "SIM {0}", "SIM {0}"),
    "no_expiry": ("warn", "SIM expiry date unknown", "masa aktif SIM tidak diketahui"),
    "offline": ("warn", "offline", "offline"),
}


def format_rupiah(amount: int | None) -> str:
    """Indonesian style: Rp1.320.000 (dots group thousands)."""
    s = "{:,}".format(int(amount)).replace(",", ".")
    return "Rp" + s




def date_text(d: datetime.date | str | None, lang: str = "id") -> str:
    """'7 Desember 2026' / '7 December 2026' (prose style; tables and JSON keep ISO dates)."""
    if d is None:
        return LABELS[lang]["unknown"]
    if isinstance(d, str):
        d = datetime.date.fromisoformat(d[:10])
    return "%d %s %d" % (d.day, MONTHS[lang][d.month - 1], d.year)


def wib(t: datetime.datetime | str) -> datetime.datetime:
    """A time (aware, or naive = UTC, or ISO text) in WIB."""
    if isinstance(t, str):
        t = datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t.astimezone(WIB)


def time_text(t: datetime.datetime | str | None, lang: str = "id") -> str:
    """'7 Desember 2026 21.05 WIB' (Indonesian time style uses a dot) / '7 December 2026 21:05 WIB'."""
    if t is None:
        return LABELS[lang]["unknown"]
    w = wib(t)
    sep = "." if lang == "id" else ":"
    return "%s %02d%s%02d WIB" % (date_text(w.date(), lang), w.hour, sep, w.minute)
