"""Words on the console: Bahasa Indonesia first, English when an operator switches. Pages render with
``t(key)`` in the operator's language; the JavaScript gets the same table (``window.TEXTS``)."""
from __future__ import annotations

LANGS = ("id", "en")

TEXTS: dict[str, tuple[str, str]] = {
    # key: (Bahasa Indonesia, English)
    "app": ("Pusat Komando", "Command Center"),
    "login": ("Masuk", "Log in"), "logout": ("Keluar", "Log out"), "user": ("Nama pengguna", "User name"),
    "password": ("Kata sandi", "Password"),
    "login_failed": ("Nama pengguna atau kata sandi salah.", "Wrong user name or password."),
    "too_many": ("Terlalu banyak percobaan masuk yang salah. Tunggu beberapa menit.",
                 "Too many failed logins. Wait a few minutes."),
    "unknown_unit": ("unit tidak ada di registri", "unit not in the registry"),
    "login_needed": ("Silakan masuk untuk membuka konsol.", "Please log in to open the console."),
    "nav_board": ("Kesiapan", "Readiness"), "nav_rollcall": ("Absen", "Roll call"),
    "nav_emergency": ("Darurat", "Emergencies"), "nav_audit": ("Jejak audit", "Audit log"),
    "nav_operators": ("Operator", "Operators"), "nav_recordings": ("Rekaman", "Recordings"),
    "lang_switch": ("English", "Bahasa Indonesia"),
    "broker_up": ("Server radio tersambung", "Radio server connected"),
    "broker_down": ("Server radio TIDAK tersambung", "Radio server NOT connected"),
    "ws_down": ("Koneksi ke konsol terputus, menyambung ulang…", "Console connection lost, reconnecting…"),
    "radios": ("Radio", "Radios"), "ready": ("Siap", "Ready"), "not_ready": ("Belum siap", "Not ready"),
    "online": ("Online", "Online"), "offline": ("Offline", "Offline"),
    "unit": ("Unit", "Unit"), "holder": ("Pemegang", "Holder"), "opd": ("OPD", "OPD"),
    "talkgroups": ("Grup bicara", "Talkgroups"), "stage": ("Tahap", "Stage"), "why": ("Sebab", "Why"),
    "signal": ("Sinyal", "Signal"), "battery": ("Baterai", "Battery"), "data_plan": ("Paket data", "Data plan"),
    "sim_paid": ("SIM dibayar s.d.", "SIM paid until"), "last_heard": ("Terakhir terdengar", "Last heard"),
    "all": ("Semua", "All"), "filter_opd": ("OPD", "OPD"), "filter_tg": ("Grup bicara", "Talkgroup"),
    "per_opd": ("Per OPD", "Per OPD"), "budget_month": ("Anggaran data / bulan", "Data budget / month"),
    "budget_year": ("Anggaran data / tahun", "Data budget / year"),
    "st_sim": ("SIM", "SIM"), "st_registered": ("Jaringan", "Network"), "st_data": ("Data", "Data"),
    "st_broker": ("Server", "Server"), "st_ready": ("Siap", "Ready"),
    "quota_left": ("sisa", "left"), "plan_ok": ("cukup", "ok"), "plan_low": ("hampir habis", "low"),
    "plan_exhausted": ("habis", "used up"), "plan_unknown": ("tidak diketahui", "unknown"),
    "ago": ("lalu", "ago"), "never": ("belum pernah", "never"), "stale": ("terlambat", "stale"),
    "bad_input": ("Pesan rusak dari radio", "Bad message from a radio"),
    "sound_enable": ("Klik untuk menyalakan suara", "Click to enable sound"),
    # emergencies
    "emergency": ("DARURAT", "EMERGENCY"), "ack": ("Terima (ACK)", "Acknowledge"),
    "acked_by": ("diterima oleh", "acknowledged by"), "time_to_ack": ("Waktu sampai diterima", "Time to acknowledge"),
    "close_real": ("Tutup: darurat nyata", "Close: real emergency"),
    "close_false": ("Tutup: alarm palsu", "Close: false alarm"),
    "journal": ("Jurnal darurat", "Emergency journal"), "started": ("Mulai", "Started"),
    "verdict": ("Keputusan", "Verdict"), "real": ("nyata", "real"), "false": ("palsu", "false alarm"),
    "escalated": ("dieskalasi", "escalated"), "open": ("terbuka", "open"), "hot_mic": ("Suara mikrofon", "Hot mic"),
    "alerts": ("peringatan", "alerts"), "late_alert": ("terlambat (dikirim ulang)", "late (sent on reconnect)"),
    # roll call
    "rollcall": ("Absen", "Roll call"), "start_rollcall": ("Mulai absen", "Start roll call"),
    "scope": ("Untuk", "For"), "everyone": ("Semua radio", "Every radio"), "deadline": ("Batas waktu (detik)",
                                                                                      "Deadline (seconds)"),
    "answered": ("Menjawab", "Answered"), "late": ("Terlambat", "Late"), "no_answer": ("Tidak menjawab", "No answer"),
    "waiting": ("Menunggu", "Waiting"), "time_to_answer": ("Waktu jawab", "Time to answer"),
    "history": ("Riwayat", "History"), "export_csv": ("Unduh CSV", "Download CSV"), "print": ("Cetak", "Print"),
    "schedules": ("Jadwal absen", "Roll-call schedules"), "days": ("Hari", "Days"), "time_wib": ("Jam (WIB)",
                                                                                                   "Time (WIB)"),
    "add": ("Tambah", "Add"), "remove": ("Hapus", "Remove"), "running": ("berjalan", "running"),
    "finished": ("selesai", "finished"), "by": ("oleh", "by"), "result": ("Hasil", "Result"),
    "weekdays": ("Senin-Jumat", "Monday-Friday"),
    # audit / operators
    "time": ("Waktu", "Time"), "operator": ("Operator", "Operator"), "action": ("Tindakan", "Action"),
    "detail": ("Rincian", "Detail"), "role": ("Peran", "Role"), "supervisor": ("Supervisor", "Supervisor"),
    "operator_role": ("Operator", "Operator"), "disabled": ("nonaktif", "disabled"),
    "users_cli": ("Operator ditambah dan diubah dengan `htctl console user add NAMA --role operator|supervisor`.",
                  "Operators are added and changed with `htctl console user add NAME --role operator|supervisor`."),
    "forbidden": ("Halaman ini hanya untuk supervisor.", "This page is for supervisors only."),
}


def text(key: str, lang: str) -> str:
    pair = TEXTS.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]


def table(lang: str) -> dict[str, str]:
    return {k: text(k, lang) for k in TEXTS}
