"""Fleet status and the HTML report for department heads: readiness per OPD, SIM expiry, yearly data budget.

``fleet_status(conn, today, presence=None)`` returns plain data; ``render_html(status, lang)`` turns it into
one self-contained page (inline CSS, no scripts, no external files) in Bahasa Indonesia or English.
Presence (online / last seen) comes in as a dict so it is testable without a broker; ``fetch_presence``
builds that dict from the broker's retained presence messages (paho-mqtt).
"""
from __future__ import annotations

import datetime
import html
import sqlite3
import time
from collections.abc import Mapping
from typing import Any

from . import registry
from .i18n import LABELS, REASONS, date_text, format_rupiah, time_text  # noqa: F401  (commands use report.LABELS)


DEFAULT_PRICE_RP = 55000
EXPIRY_WARN_DAYS = 30
_QUIET_S = 0.3  # retained presence has arrived when the broker has been quiet this long

def _days(n, lang):
    if lang == "id":
        return "%d hari" % n
    return "%d day%s" % (n, "" if n == 1 else "s")


def expiry_text(expiry: str | None, today: datetime.date, lang: str = "en") -> str:
    """'expires 19 January 2027, in 12 days' / 'habis 19 Januari 2027, 12 hari lagi' (and past/today forms)."""
    if not expiry:
        return LABELS[lang]["unknown"]
    d = (datetime.date.fromisoformat(expiry) - today).days
    expiry = date_text(expiry, lang)     # prose: "19 Januari 2027"
    if lang == "id":
        if d > 0:
            return "habis %s, %s lagi" % (expiry, _days(d, lang))
        if d == 0:
            return "habis hari ini (%s)" % expiry
        return "sudah habis %s, %s lalu" % (expiry, _days(-d, lang))
    if d > 0:
        return "expires %s, in %s" % (expiry, _days(d, lang))
    if d == 0:
        return "expires today (%s)" % expiry
    return "expired %s, %s ago" % (expiry, _days(-d, lang))


def reason_text(reason: Mapping[str, Any], lang: str = "en") -> str:
    kind, en, idn = REASONS[reason["code"]]
    return (idn if lang == "id" else en).format(reason.get("detail", ""))


def _failed_checks(results):
    # Certificates hold the bench's check list (ht.selftest.local rows {"check", "ok", ...}, possibly with a
    # "result": "PASS"/"FAIL" column), bare or as {"checks": [...]}.
    checks = results.get("checks", []) if isinstance(results, dict) else results
    names = []
    for c in checks if isinstance(checks, list) else []:
        if not isinstance(c, dict):
            continue
        if c.get("ok") is False or str(c.get("result", c.get("status", ""))).upper() == "FAIL":
            names.append(str(c.get("check", c.get("name", "?"))))
    return names


def unit_status(u: Mapping[str, Any], cert: Mapping[str, Any] | None, today: datetime.date,
                presence: Mapping[str, Any] | None = None, lang: str = "en") -> dict[str, Any]:
    """One radio's readiness: {ready, reasons[{code, detail}], ...} from its assignment + last certificate."""
    reasons = []
    sim_days = (datetime.date.fromisoformat(u["sim_expiry"]) - today).days if u.get("sim_expiry") else None
    if cert is None:
        reasons.append({"code": "no_bench"})
    elif not cert["passed"]:
        reasons.append({"code": "bench_failed", "detail": ", ".join(_failed_checks(cert["results"])) or "?"})
    if not u.get("iccid"):
        reasons.append({"code": "no_sim"})
    elif not u.get("sim_expiry"):
        reasons.append({"code": "no_expiry"})
    elif sim_days < 0:
        reasons.append({"code": "sim_expired", "detail": expiry_text(u["sim_expiry"], today, lang)})
    elif sim_days <= EXPIRY_WARN_DAYS:
        reasons.append({"code": "sim_expiring", "detail": expiry_text(u["sim_expiry"], today, lang)})
    if not u.get("official"):
        reasons.append({"code": "no_official"})
    online = last_seen = stage = None
    if presence is not None:
        p = presence.get(u["unit_id"])
        online = bool(p and p.get("online"))
        last_seen = p.get("last_seen") if p else None
        stage = p.get("stage") if p else None
        if not online:
            reasons.append({"code": "offline"})
    for r in reasons:
        r["text"] = reason_text(r, lang)
    blocking = [r for r in reasons if REASONS[r["code"]][0] == "block"]
    return {
        "unit_id": u["unit_id"], "opd": u.get("opd") or u.get("sim_opd") or "", "official": u.get("official"),
        "position": u.get("position"), "board": u.get("board"), "serial": u.get("serial"),
        "iccid": u.get("iccid"), "msisdn": u.get("msisdn"), "sim_opd": u.get("sim_opd"),
        "price_rp": u.get("price_rp") if u.get("price_rp") is not None else DEFAULT_PRICE_RP,
        "sim_expiry": u.get("sim_expiry"), "sim_days_left": sim_days,
        "sim_expiry_text": expiry_text(u.get("sim_expiry"), today, lang),
        "bench": None if cert is None else {"passed": cert["passed"], "at": cert["at"],
                                            "technician": cert["technician"]},
        "online": online, "last_seen": last_seen, "stage": stage,
        "ready": not blocking, "reasons": reasons,
    }


def fleet_status(conn: sqlite3.Connection, today: datetime.date | None = None,
                 presence: Mapping[str, Mapping[str, Any]] | None = None, lang: str = "en") -> dict[str, Any]:
    """Everything the status table and the HTML report show, as plain data."""
    today = today or datetime.date.today()
    units = [unit_status(u, registry.last_bench(conn, u["serial"]) if u.get("serial") else None, today,
                         presence, lang) for u in registry.units(conn)]
    opds = {}

    def opd_row(name):
        return opds.setdefault(name, {"opd": name, "radios": 0, "ready": 0, "not_ready": 0,
                                      "online": 0 if presence is not None else None,
                                      "monthly_rp": 0, "yearly_budget_rp": 0, "paid_radios": 0})
    for u in units:
        o = opd_row(u["opd"])
        o["radios"] += 1
        o["ready" if u["ready"] else "not_ready"] += 1
        if presence is not None and u["online"]:
            o["online"] += 1
    for u in units:  # the budget belongs to whoever pays for the SIM, which may be another OPD
        if not u["iccid"]:
            continue
        o = opd_row(u["sim_opd"] or u["opd"])
        o["paid_radios"] += 1
        o["monthly_rp"] += u["price_rp"]
        o["yearly_budget_rp"] += u["price_rp"] * 12
    rows = [opds[k] for k in sorted(opds)]
    totals = {"radios": len(units), "ready": sum(u["ready"] for u in units),
              "not_ready": sum(not u["ready"] for u in units),
              "yearly_budget_rp": sum(o["yearly_budget_rp"] for o in rows),
              "online": None if presence is None else sum(bool(u["online"]) for u in units)}
    return {"today": today.isoformat(), "lang": lang, "presence": presence is not None,
            "opds": rows, "units": units, "totals": totals}


# ---- presence from the broker -------------------------------------------------------------------------
def presence_from_messages(messages: Mapping[str, bytes | str], seen_at: str) -> dict[str, dict[str, Any]]:
    """{topic: payload} of retained ``ht/<fleet>/u/<unit>/p`` messages -> {unit: {online, stage, last_seen…}}.

    A retained message carries no time: a unit online now was seen at ``seen_at``; an offline one (its last
    will) has no known last-seen time. Online is judged by the radios' own rule (ht.radio.presence.Roster: not
    "offline", seen within 1.5 x the interval it carries; a retained copy counts as seen on arrival), so the
    report names the same online set a radio subscribing at that moment would. Unparseable payloads are
    skipped (a broken radio must not break the report).
    """
    from ht.radio.presence import Roster

    roster = Roster()
    out = {}
    for topic, payload in messages.items():
        try:
            p = roster.on_presence(payload, 0)
        except ValueError:
            continue
        online = roster.is_online(p["unit"], 0)
        out[p["unit"]] = {"online": online, "stage": p["stage"], "battery": p["battery"],
                          "signal": p["signal"], "interval_s": p["interval_s"],
                          "last_seen": seen_at if online else None}
    return out


def fetch_presence(url: str, fleet: str, wait_s: float = 5.0, username: str | None = None,
                   password: str | None = None) -> dict[str, dict[str, Any]]:
    """Collect retained presence from the broker at ``url`` (mqtt://host:port); gives up after ``wait_s``."""
    import threading
    import urllib.parse

    import paho.mqtt.client as mqtt

    from .errors import DeviceError

    u = urllib.parse.urlparse(url)
    if u.scheme not in ("mqtt", "mqtts") or not u.hostname:
        from .errors import UserError
        raise UserError("broker URL must look like mqtt://host:1883, got %r" % url)
    messages, subscribed = {}, threading.Event()
    last = [0.0]
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    if username:
        client.username_pw_set(username, password)
    if u.scheme == "mqtts":
        client.tls_set()

    refused = []

    def on_connect(c, userdata, flags, rc, props=None):
        if rc.is_failure:
            refused.append(str(rc))
            subscribed.set()
            return
        c.subscribe("ht/%s/u/+/p" % fleet, qos=1)

    def on_subscribe(c, userdata, mid, rcs, props=None):
        last[0] = time.monotonic()
        subscribed.set()

    def on_message(c, userdata, msg):
        if msg.retain:
            messages[msg.topic] = msg.payload
            last[0] = time.monotonic()
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    try:
        client.connect(u.hostname, u.port or (8883 if u.scheme == "mqtts" else 1883), keepalive=30)
    except OSError as exc:
        raise DeviceError("cannot reach the broker at %s: %s" % (url, exc),
                          hint="check the URL, or leave out --broker to report without online status")
    client.loop_start()
    try:
        deadline = time.monotonic() + wait_s
        answered = subscribed.wait(wait_s)
        if refused:
            raise DeviceError("the broker at %s refused the connection: %s" % (url, refused[0]),
                              hint="check --broker-user and $HTCTL_BROKER_PASSWORD")
        if not answered:
            raise DeviceError("the broker at %s did not answer the subscription" % url,
                              hint="check user/password and the ACL for ht/%s/u/+/p" % fleet)
        # Retained messages follow the SUBACK back to back and MQTT marks no end: stop after a quiet gap.
        while time.monotonic() < deadline and time.monotonic() - last[0] < _QUIET_S:
            time.sleep(0.05)
    finally:
        client.loop_stop()
        client.disconnect()
    seen = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    return presence_from_messages(messages, seen)


# ---- HTML ---------------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1b1f24;background:#fff}
h1{font-size:1.6rem;margin:0 0 .2rem}h2{font-size:1.2rem;margin:2rem 0 .6rem;border-bottom:2px solid #d0d7de}
.meta{color:#57606a;margin-bottom:1rem}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{border:1px solid #d0d7de;padding:.35rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f6f9}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#116329;font-weight:600}.bad{color:#a40e26;font-weight:600}.warn{color:#7a4f00;font-weight:600}
#expiring td.warn{background:#fff8c5}#expiring td.bad{background:#ffebe9}
tr.notready td{background:#fff5f5}tfoot td{font-weight:700;background:#f6f8fa}
ul.reasons{margin:.2rem 0 .2rem 1.1rem;padding:0}.note{color:#57606a;font-size:.85rem}
@media print{body{margin:0}}
"""


def _e(v):
    return html.escape("" if v is None else str(v))


def _expiring(status: Mapping[str, Any], L: Mapping[str, str], lang: str) -> list[str]:
    """The SIMs to renew first: expired or ending within EXPIRY_WARN_DAYS, soonest first."""
    soon = sorted((u for u in status["units"] if u["sim_days_left"] is not None
                   and u["sim_days_left"] <= EXPIRY_WARN_DAYS), key=lambda u: u["sim_days_left"])
    out = ['<h2 id="expiring-title">%s</h2>' % _e(L["expiring"] % EXPIRY_WARN_DAYS)]
    if not soon:
        return out + ['<p id="expiring-none">%s</p>' % _e(L["expiring_none"])]
    out.append('<table id="expiring"><thead><tr>%s</tr></thead><tbody>' % "".join(
        "<th>%s</th>" % _e(h) for h in (L["unit"], L["official"], L["opd"], L["sim"], L["sim_expiry"])))
    for u in soon:
        out.append('<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class="%s">%s</td></tr>' % (
            _e(u["unit_id"]), _e(u["official"]), _e(u["sim_opd"] or u["opd"]), _e(u["msisdn"] or u["iccid"]),
            "bad" if u["sim_days_left"] < 0 else "warn", _e(u["sim_expiry_text"])))
    return out + ["</tbody></table>"]


def render_html(status: Mapping[str, Any], lang: str = "en") -> str:
    """The report as one self-contained HTML page."""
    L = LABELS[lang]
    pres = status["presence"]
    out = ['<!DOCTYPE html>', '<html lang="%s"><head><meta charset="utf-8">' % lang,
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           '<title>%s</title><style>%s</style></head><body>' % (_e(L["title"]), _CSS),
           '<h1>%s</h1>' % _e(L["title"]),
           '<p class="meta">%s: %s</p>' % (_e(L["generated"]), _e(date_text(status["today"], lang)))]
    # per OPD
    out.append('<h2>%s</h2><table id="opds"><thead><tr>' % _e(L["per_opd"]))
    heads = [L["opd"], L["radios"], L["ready"], L["not_ready"]] + ([L["online"]] if pres else []) + \
            [L["paid"], L["monthly"], L["budget"]]
    out.append("".join("<th>%s</th>" % _e(h) for h in heads) + "</tr></thead><tbody>")
    for o in status["opds"]:
        cells = ['<td>%s</td>' % _e(o["opd"]), '<td class="num">%d</td>' % o["radios"],
                 '<td class="num">%d</td>' % o["ready"],
                 '<td class="num%s">%d</td>' % (" bad" if o["not_ready"] else "", o["not_ready"])]
        if pres:
            cells.append('<td class="num">%d</td>' % o["online"])
        cells += ['<td class="num">%d</td>' % o["paid_radios"],
                  '<td class="num">%s</td>' % _e(format_rupiah(o["monthly_rp"])),
                  '<td class="num">%s</td>' % _e(format_rupiah(o["yearly_budget_rp"]))]
        out.append("<tr>%s</tr>" % "".join(cells))
    t = status["totals"]
    foot = ['<td>%s</td>' % _e(L["total"]), '<td class="num">%d</td>' % t["radios"],
            '<td class="num">%d</td>' % t["ready"], '<td class="num">%d</td>' % t["not_ready"]]
    if pres:
        foot.append('<td class="num">%d</td>' % t["online"])
    foot += ['<td class="num">%d</td>' % sum(o["paid_radios"] for o in status["opds"]),
             '<td class="num">%s</td>' % _e(format_rupiah(sum(o["monthly_rp"] for o in status["opds"]))),
             '<td class="num">%s</td>' % _e(format_rupiah(t["yearly_budget_rp"]))]
    out.append('</tbody><tfoot><tr>%s</tr></tfoot></table>' % "".join(foot))
    out.append('<p class="note" id="budget-note">%s</p>' % _e(L["budget_note"]))
    out += _expiring(status, L, lang)
    # not ready
    out.append('<h2>%s</h2>' % _e(L["not_ready_list"]))
    bad = [u for u in status["units"] if not u["ready"]]
    if not bad:
        out.append('<p class="ok" id="all-ready">%s</p>' % _e(L["all_ready"]))
    else:
        out.append('<ul id="not-ready">')
        for u in bad:
            why = "; ".join(r["text"] for r in u["reasons"] if REASONS[r["code"]][0] == "block")
            out.append('<li><strong>%s</strong> (%s, %s): %s</li>' % (_e(u["unit_id"]), _e(u["official"]),
                                                                     _e(u["opd"]), _e(why)))
        out.append('</ul>')
    # all units
    out.append('<h2>%s</h2><table id="units"><thead><tr>' % _e(L["units"]))
    heads = [L["unit"], L["official"], L["opd"], L["board"], L["sim"], L["sim_expiry"], L["bench"]] + \
            ([L["online"], L["last_seen"]] if pres else []) + [L["status"]]
    out.append("".join("<th>%s</th>" % _e(h) for h in heads) + "</tr></thead><tbody>")
    for u in status["units"]:
        b = u["bench"]
        bench = L["never"] if b is None else "%s %s (%s)" % (L["pass"] if b["passed"] else L["fail"],
                                                              date_text(b["at"], lang), b["technician"])
        days = u["sim_days_left"]
        exp_cls = "bad" if days is not None and days < 0 else ("warn" if days is not None and
                                                               days <= EXPIRY_WARN_DAYS else "")
        sim = "%s%s" % (u["msisdn"] or u["iccid"] or "-",
                        " (%s %s)" % (L["payer"], u["sim_opd"]) if u["sim_opd"] and u["sim_opd"] != u["opd"] else "")
        cells = ["<td>%s</td>" % _e(u["unit_id"]),
                 "<td>%s<br><span class=\"note\">%s</span></td>" % (_e(u["official"]), _e(u["position"])),
                 "<td>%s</td>" % _e(u["opd"]), "<td>%s</td>" % _e(u["board"]), "<td>%s</td>" % _e(sim),
                 '<td class="%s">%s</td>' % (exp_cls, _e(u["sim_expiry_text"])),
                 '<td class="%s">%s</td>' % ("" if b is None else ("ok" if b["passed"] else "bad"), _e(bench))]
        if pres:
            cells.append('<td class="%s">%s</td>' % ("ok" if u["online"] else "bad",
                                                     _e(L["is_online"] if u["online"] else L["offline"])))
            cells.append("<td>%s</td>" % _e(time_text(u["last_seen"], lang) if u["last_seen"] else "-"))
        state = '<span class="%s">%s</span>' % ("ok" if u["ready"] else "bad",
                                                _e(L["ready"] if u["ready"] else L["not_ready"]))
        if u["reasons"]:
            state += '<ul class="reasons">%s</ul>' % "".join("<li>%s</li>" % _e(r["text"]) for r in u["reasons"])
        cells.append("<td>%s</td>" % state)
        out.append('<tr class="%s">%s</tr>' % ("ready" if u["ready"] else "notready", "".join(cells)))
    out.append("</tbody></table></body></html>")
    return "\n".join(out) + "\n"
