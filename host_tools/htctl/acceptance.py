"""The bench acceptance suite (``htctl bench``): runs the firmware's own self-test functions on a radio through
mpremote's raw REPL, judges each measurement against this table of limits, and stores the certificate.

The radio measures (``ht.selftest.local`` for version/board/config/codec/battery, ``ht.selftest.net`` for the
modem, SIM, network, broker, PTT and audio path); the host decides. Keeping the limits here means a
technician's acceptance rules change without reflashing a fleet, and every certificate records the limit
it was judged by.

Library API::

    rows = run_bench(transport, conn, technician="Budi", limits=None, env=None, unit_id=None)
    # -> {"unit", "serial", "passed", "rows": [{"check","value","unit","limit","status","detail","hint"}],
    #     "certificate": id, "at": iso}
"""
from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from . import registry
from .errors import DeviceError

if TYPE_CHECKING:
    import sqlite3

    from .transport import DeviceTransport

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"

# check -> (comparison, limit, unit). Times are modem seconds (wall / emulator time scale on a vdev);
# broker and PTT are wall milliseconds. Sources: registration/data budgets from field boots of the
# A7670/SIM7600 (docs/MODEM.md), RSRP -110 dBm / SINR 0 dB = the edge of usable LTE (3 of 5 bars below
# that drop voice frames), PTT 1000 ms = hard ceiling (MCPTT target is 300 ms, ours 200 ms p95 in the
# fleet sim; the bench fails only a radio that cannot be used), ADPCM SNR 15 dB (21-22 dB measured).
LIMITS = {
    "registration": ("<=", 60.0, "s"),
    "data": ("<=", 30.0, "s"),
    "rsrp": (">=", -110.0, "dBm"),
    "sinr": (">=", 0.0, "dB"),
    "broker": ("<=", 5000, "ms"),
    "ptt_access": ("<=", 1000, "ms"),
    "audio_loopback": (">=", 15.0, "dB"),
    "battery": (">=", 3500, "mV"),
    "mic_noise": ("<=", -60.0, "dBFS"),
}

ORDER = ("version", "board", "config", "modem", "sim", "iccid", "registration", "rsrp", "sinr", "data",
         "broker", "ptt_access", "audio_loopback", "codec", "battery", "mic_noise", "mic_level")
_BASE = ("version", "board", "config", "codec", "battery", "mic_noise", "mic_level")
_NET = ("modem", "sim", "iccid", "registration", "signal", "data", "broker", "ptt_access", "audio_loopback")

# Plain-English advice for a FAIL line (a technician at the bench, not a developer) + Bahasa Indonesia.
HINTS = {
    "version": ("deploy the current firmware: htctl deploy --port PORT",
                "pasang firmware terbaru: htctl deploy --port PORT"),
    "board": ("the board file on the radio is missing or wrong: htctl deploy --port PORT --board BOARD",
              "file board di radio hilang/salah: htctl deploy --port PORT --board BOARD"),
    "config": ("the radio is not provisioned (or its config is damaged): htctl provision --port PORT --unit ID",
               "radio belum diprovisioning: htctl provision --port PORT --unit ID"),
    "modem": ("the modem does not answer or is not the one board.json names: check the battery is connected, "
              "the modem's power switch, and the board type",
              "modem tidak menjawab: periksa baterai, saklar daya modem dan jenis board"),
    "sim": ("insert the SIM (gold contacts down, fully in) and check it is not PIN-locked; then run the bench again",
            "pasang kartu SIM (kontak emas di bawah, masuk penuh), pastikan tidak terkunci PIN; ulangi bench"),
    "iccid": ("this SIM is not the one the registry has for this unit: put back the registered SIM, or record "
              "the swap with htctl provision --accept-swap",
              "SIM ini bukan SIM yang terdaftar: pasang SIM yang benar atau catat dengan --accept-swap"),
    "registration": ("the network did not accept the SIM: check the SIM is active with the operator (not expired, "
                     "has a data plan) and that the antenna is attached",
                     "jaringan menolak SIM: pastikan SIM aktif dan ada paket data, antena terpasang"),
    "rsrp": ("signal too weak: attach the LTE antenna firmly or move the bench near a window",
             "sinyal lemah: pasang antena LTE dengan kuat atau pindah ke dekat jendela"),
    "sinr": ("signal too noisy: attach the LTE antenna, keep it away from the PC and the charger",
             "sinyal berisik: pasang antena, jauhkan dari PC dan charger"),
    "data": ("the modem registered but got no data connection: check the APN (Telkomsel: internet) and the "
             "SIM's data quota (*888#)",
             "data tidak tersambung: periksa APN (Telkomsel: internet) dan kuota (*888#)"),
    "broker": ("the radio cannot reach the broker: check the broker URL it was provisioned with, that the "
               "broker is running and that its port is open to the radios",
               "radio tidak bisa menjangkau broker: periksa URL broker, broker berjalan dan port terbuka"),
    "broker_refused": ("the broker refused the radio's login: rewrite the broker's password file "
                       "(htctl broker write) and reload the broker, or provision the radio again",
                       "broker menolak login radio: tulis ulang file password (htctl broker write) dan "
                       "muat ulang broker, atau provisioning ulang radio"),
    "broker_tls": ("the radio refused the broker's TLS: install the fleet CA on the radio (htctl provision --ca) "
                   "and check the broker's certificate (htctl broker write --tls-cert) is signed by it and not "
                   "expired, and that the radio's clock is set",
                   "radio menolak TLS broker: pasang CA armada di radio (htctl provision --ca), periksa sertifikat "
                   "broker ditandatangani CA itu dan belum kedaluwarsa, dan jam radio sudah benar"),
    "ptt_access": ("pressing PTT did not get a talk permit in time: check the broker and the signal, then run "
                   "the bench again", "PTT tidak mendapat izin bicara: periksa broker dan sinyal, ulangi bench"),
    "audio_loopback": ("the voice path distorts the test tone: redeploy the firmware; if it persists the board is "
                       "faulty", "jalur suara merusak nada uji: deploy ulang firmware; bila tetap, board rusak"),
    "codec": ("the codec self-test failed: redeploy the firmware", "uji codec gagal: deploy ulang firmware"),
    "battery": ("battery low: charge it to full and run the bench again; replace it if it stays low",
                "baterai lemah: isi penuh lalu ulangi; ganti bila tetap lemah"),
    "mic_noise": ("the microphone hisses or hums with the bench quiet (or gives nothing at all): keep the room "
                  "quiet, unplug the charger and run again; if it stays, reseat or replace the INMP441 board",
                  "mikrofon berdesis/berdengung saat hening (atau mati): jaga ruangan tenang, cabut charger, "
                  "ulangi; bila tetap, pasang ulang atau ganti modul INMP441"),
    "mic_level": ("your voice came in too quiet or too loud: count aloud at arm's length in a normal voice "
                  "during the mic check; if it stays wrong, check the mic hole is open and the mic board type",
                  "suara terlalu pelan/keras: hitung dengan suara biasa sejarak satu lengan saat uji mikrofon; "
                  "bila tetap, periksa lubang mikrofon tidak tertutup dan jenis modul mikrofon"),
}
_BLOCKED_HINT = ("fix the first failing check above; this one could not run without it",
                 "perbaiki pemeriksaan gagal pertama di atas; yang ini bergantung padanya")


def _code(names, env=None, mod="ht.selftest.local"):
    # The snippet is the composition root on the radio: it imports the HAL and hands its factory to the
    # checks (ht/ never imports hal).
    args = json.dumps(list(names))
    if mod == "ht.selftest.local":
        return "import hal, ht.selftest.local as _t\n_t.report(%s, {'make_hal': hal.create})\n" % args
    return selftest_net_code(names, env)


def selftest_net_code(names, env=None):
    """Raw-REPL code that runs ht.selftest.net's checks on the radio with its HAL handed in."""
    return ("import json, hal, ht.selftest.net as _n\n_e = json.loads(%r)\n_e['make_hal'] = hal.create\n"
            "_n.report(%s, _e)\n" % (json.dumps(env or {}), json.dumps(list(names))))


def device_facts(transport: DeviceTransport) -> dict[str, Any]:
    """What the radio says about itself: unit id and config hash from its config.json, and its unique id."""
    return transport.exec_json(
        "import json\n"
        "from ht import config as _c, board as _b\n"
        "import hal as _h\n"
        "d = {'unit': None, 'config_hash': None, 'uid': None}\n"
        "try:\n"
        " _cfg = _c.load(open('config.json').read())[0]\n"
        " d['unit'] = _cfg.get('unit.id') or None\n"
        " d['config_hash'] = _c.config_hash(_cfg)\n"
        "except OSError:\n"
        " pass\n"
        "try:\n"
        " d['uid'] = _h.create(_b.load(open('board.json').read())).unique_id()\n"
        "except Exception:\n"
        " pass\n"
        "print(json.dumps(d))\n")


def measure(transport: DeviceTransport, env: dict[str, Any] | None = None, timeout: float = 600
            ) -> dict[str, dict[str, Any]]:
    """Run every self-test on the device: {check: raw result dict from the firmware}."""
    base = transport.exec_json(_code(_BASE), timeout=120)
    net = transport.exec_json(_code(_NET, env, "net"), timeout=timeout)
    return {r["check"]: r for r in base + net}


def _row(check, value, unit, limit, ok, detail, blocked=False):
    status = SKIP if ok is None else (PASS if ok else FAIL)
    hint = None
    if status == FAIL:
        key = "broker_refused" if check == "broker" and (detail or "").startswith("refused") else check
        if check == "broker" and "TLS" in (detail or ""):
            key = "broker_tls"
        hint = _BLOCKED_HINT if blocked else HINTS.get(key, ("see docs/PROVISION.md", "lihat docs/PROVISION.md"))
    return {"check": check, "value": value, "unit": unit, "limit": limit, "status": status,
            "detail": detail or "", "hint": hint[0] if hint else None, "hint_id": hint[1] if hint else None}


def _judge(check, r, limits):
    cmp, lim, unit = limits[check]
    v = r.get("value")
    text = "%s %s %s" % (cmp, lim, unit)
    if r.get("ok") is False or v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
        blocked = (r.get("detail") or "").startswith("not run:")
        return _row(check, v, unit, text, False if r.get("ok") is not None else None, r.get("detail"), blocked)
    ok = v <= lim if cmp == "<=" else v >= lim
    return _row(check, v, unit, text, ok, r.get("detail"))


def judge(raw: dict[str, dict[str, Any]], expected_iccid: str | None = None, expected_version: str | None = None,
          limits: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """raw: {check: firmware result} -> rows in ORDER with PASS/FAIL/SKIP, limit text and hints."""
    lim = dict(LIMITS)
    lim.update(limits or {})
    rows = []
    for check in ORDER:
        if check in lim and check not in ("rsrp", "sinr"):
            r = raw.get(check)
            if r is None:
                rows.append(_row(check, None, lim[check][2], None, None, "not measured by this firmware"))
                continue
            rows.append(_judge(check, r, lim))
        elif check in ("rsrp", "sinr"):
            sig = raw.get("signal") or {}
            extra = sig.get("extra") or {}
            r = {"ok": sig.get("ok"), "value": extra.get(check, sig.get("value") if check == "rsrp" else None),
                 "detail": sig.get("detail")}
            rows.append(_judge(check, r, lim))
        elif check == "iccid":
            rows.append(_iccid_row(raw.get("iccid") or {}, expected_iccid))
        elif check == "version":
            r = raw.get("version") or {}
            ok = r.get("ok")
            detail = r.get("detail") or ""
            if expected_version and r.get("value") != expected_version:
                ok, detail = False, "htctl ships %s" % expected_version
            rows.append(_row("version", r.get("value"), "", expected_version or "", ok, detail))
        else:
            r = raw.get(check)
            if r is None:
                rows.append(_row(check, None, "", None, None, "not measured by this firmware"))
                continue
            blocked = (r.get("detail") or "").startswith("not run:")
            rows.append(_row(check, r.get("value"), r.get("unit") or "", r.get("limit"), r.get("ok"),
                             r.get("detail"), blocked))
    return rows


def _iccid_row(r, expected):
    got = r.get("value")
    if r.get("ok") is False or not got:
        return _row("iccid", got, "", expected, False, r.get("detail") or "no ICCID read", blocked=False)
    try:
        got = registry.norm_iccid(got)
    except ValueError as e:
        return _row("iccid", got, "", expected, False, str(e))
    if expected is None:
        return _row("iccid", got, "", None, None, "no SIM recorded for this unit in the registry")
    return _row("iccid", got, "", expected, got == expected,
                "matches the registry" if got == expected else "registry has %s for this unit" % expected)


def firmware_version() -> str | None:
    from .firmware import FIRMWARE_DIR
    import re
    text = (FIRMWARE_DIR / "ht" / "__init__.py").read_text()
    m = re.search(r'VERSION = "([^"]+)"', text)
    return m.group(1) if m else None


def run_bench(transport: DeviceTransport, conn: sqlite3.Connection, technician: str,
              limits: dict[str, Any] | None = None, env: dict[str, Any] | None = None,
              unit_id: str | None = None, timeout: float = 600, check_version: bool = True) -> dict[str, Any]:
    """Measure, judge, store the certificate. Returns the certificate as data (also when checks FAIL)."""
    t0 = time.monotonic()
    facts = device_facts(transport)
    unit_id = unit_id or facts.get("unit")
    row = registry.current_assignment(conn, unit_id) if unit_id else None
    serial = (row or {}).get("serial") or ("uid:%s" % facts.get("uid") if facts.get("uid") else None)
    if serial is None:
        raise DeviceError("cannot identify the radio (no unit in its config, no unique id)",
                          hint="provision it first: htctl provision --port PORT --unit ID")
    raw = measure(transport, env, timeout)
    rows = judge(raw, (row or {}).get("iccid"), firmware_version() if check_version else None, limits)
    passed = all(r["status"] != FAIL for r in rows)
    at = registry.now_iso()
    cert = registry.record_bench(conn, serial, technician, rows, passed, unit_id=unit_id, at=at)
    return {"unit": unit_id, "serial": serial, "technician": technician, "at": at, "passed": passed,
            "certificate": cert, "rows": rows, "config_hash": facts.get("config_hash"),
            "seconds": round(time.monotonic() - t0, 2)}
