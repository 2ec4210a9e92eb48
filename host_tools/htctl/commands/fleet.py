"""htctl fleet import | status | report | unit — the fleet registry (devices, modems, SIMs, officials).

Injected (tests): ``today`` (datetime.date), ``presence`` ({unit: {"online", "last_seen", ...}}) instead of
asking a broker.
"""
import datetime
import pathlib

from .. import boards, inventory, registry, report
from ..i18n import date_text
from ..errors import CheckFailed, NotFoundError, UserError
from ..output import add_json_option
from . import add_actions

NAME = "fleet"
HELP = "fleet registry: import the inventory, readiness status, HTML report for the OPDs"


def configure(parser):
    acts = add_actions(parser, [
        ("import", "validate and import an inventory CSV (all rows or none)", _import_args, run_import),
        ("status", "readiness per OPD, SIM expiry, data budget, radios not ready", _status_args, run_status),
        ("report", "write the fleet report as a self-contained HTML page", _report_args, run_report),
        ("unit", "show one unit: its board, modem, SIM, official, history, certificates, audit", _unit_args,
         run_unit),
        ("update", "offer a signed release to radios over the air, in waves (docs/OTA.md)", _update_args,
         run_update),
        ("key", "rotate the fleet voice key: `key rotate` sends a new key to every radio (both accepted), "
                "`key retire` ends the overlap", _key_args, None),
    ])
    for name in ("import", "status", "report", "unit", "update"):
        add_json_option(acts[name])


def _key_args(p):
    acts = add_actions(p, [
        ("rotate", "new voice key in the registry and to every radio over the air; the old one stays accepted",
         _key_step_args, run_key_rotate),
        ("retire", "end the overlap: every radio forgets the old key (one that missed it needs `provision`)",
         _key_step_args, run_key_retire),
    ], dest="key_action")
    for a in acts.values():
        add_json_option(a)


def _key_step_args(p):
    p.add_argument("--broker", metavar="URL", help="broker to send the key commands through; default "
                   "$HTCTL_BROKER_URL, else `broker` in the config file, else the one the last provisioning used")
    p.add_argument("--no-broker", action="store_true",
                   help="registry only: the radios get the key when provisioned again by cable")
    p.add_argument("--fleet", default=None, help="fleet name in the topics (default: the registry's)")
    p.add_argument("--broker-user", metavar="USER", default="cc",
                   help="console account (default cc); password from $HTCTL_BROKER_PASSWORD")


def _key_step(args, ctx, step):
    from .. import keyrotate
    from ..settings import check_broker_url
    conn = ctx.open_registry(create=False)
    try:
        fleet = ctx.setting("fleet", args.fleet, registry.fleet_id(conn)).value
        units = [u["unit_id"] for u in registry.units(conn)]
        if step == "rotate":
            old, new = registry.rotate_key(conn)
            msgs = keyrotate.rekey_messages(fleet, units, old, new)
        else:
            old, new = registry.retire_key(conn)
            msgs = keyrotate.retire_messages(fleet, units, new)
        ids = keyrotate.summary(step, fleet, [], old, new, None)
        registry.audit(conn, ctx.setting("technician", None, "htctl").value or "htctl", "fleet_key_" + step,
                       detail={"old_kid": ids["old_kid"], "new_kid": ids["new_kid"]})
    finally:
        conn.close()
    sent = None
    broker = None if args.no_broker else ctx.setting("broker", args.broker)
    if broker and msgs:
        sent = keyrotate.publish(check_broker_url(broker), msgs, args.broker_user,
                                 ctx.environ.get("HTCTL_BROKER_PASSWORD"))
    data = keyrotate.summary(step, fleet, units, old, new, sent)

    def render(out, d):
        rot = step == "rotate"
        out.line("armada %s: kunci %s -> %s (%s) / fleet %s: key %s -> %s (%s)" % (
            d["fleet"], d["old_kid"], d["new_kid"], "masa tumpang tindih: keduanya diterima" if rot else
            "kunci lama dicabut", d["fleet"], d["old_kid"], d["new_kid"],
            "overlap: both accepted" if rot else "old key retired"))
        if d["sent"] is not None:
            out.line("dikirim ke %d radio / sent to %d radios" % (d["sent"], d["sent"]))
        else:
            out.line("tanpa broker: provisi ulang setiap radio / no broker: provision every radio again")
        out.line("mulai ulang pengatur saluran (htctl arbiter) / restart the floor arbiters (htctl arbiter)")
    ctx.out.emit(data, render)
    return 0


def run_key_rotate(args, ctx):
    return _key_step(args, ctx, "rotate")


def run_key_retire(args, ctx):
    return _key_step(args, ctx, "retire")


def _import_args(p):
    p.add_argument("csv", help="inventory file (format: docs/inventory-example.csv)")
    p.add_argument("--dry-run", action="store_true", help="validate only; change nothing")


def _common_report(p):
    p.add_argument("--lang", default=None,
                   help="id (Bahasa Indonesia) or en; default $HTCTL_LANG, else `lang` in the config file, else "
                        "the locale (English only for LANG=en_*), else id")
    p.add_argument("--today", metavar="YYYY-MM-DD", help="date to count SIM expiry from (default: today)")
    p.add_argument("--broker", metavar="URL",
                   help="read online/last seen from the broker's retained presence; default $HTCTL_BROKER_URL, "
                        "else `broker` in the config file, else the one the last provisioning used")
    p.add_argument("--no-broker", action="store_true", help="do not ask any broker (registry only)")
    p.add_argument("--fleet", default=None,
                   help="fleet name in the topic scheme (ht/<fleet>/...); default $HTCTL_FLEET, else `fleet` in "
                        "the config file, else the registry's fleet id (the one provisioning and `broker write` "
                        "use; 'kota' unless set)")
    p.add_argument("--broker-user", metavar="USER",
                   help="broker login; the password is read from $HTCTL_BROKER_PASSWORD (never a command-line "
                        "argument, which other users can see in the process list)")


def _status_args(p):
    _common_report(p)
    p.add_argument("--strict", action="store_true", help="exit 1 if any radio is not ready")


def _report_args(p):
    _common_report(p)
    p.add_argument("--html", required=True, metavar="OUT", help="output file, e.g. report.html")


def _unit_args(p):
    p.add_argument("unit", help="unit id, e.g. dinkes-01")


def run(args, ctx):
    return args._run(args, ctx)


def _known_boards(ctx):
    try:
        return {name for name, _ in boards.list_boards(ctx.boards_dir)}
    except NotFoundError:
        return None  # no boards folder: cannot check names, the rest of the row is still validated


def run_import(args, ctx):
    path = pathlib.Path(args.csv)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError("inventory file not found: %s" % path,
                            hint="see docs/inventory-example.csv for the format")
    except UnicodeDecodeError:
        raise UserError("%s is not UTF-8 text" % path, hint="save it from the spreadsheet as CSV UTF-8")
    except OSError as exc:
        raise UserError("cannot read %s: %s" % (path, exc.strerror or exc))
    conn = ctx.open_registry()
    try:
        stats = inventory.import_text(conn, text, str(path), _known_boards(ctx), dry_run=args.dry_run)
    except inventory.ImportFailed as exc:
        if ctx.json:
            ctx.out.emit({"ok": False, "problems": [{"line": line, "column": c, "message": m}
                                                    for line, c, m in exc.problems]})
        else:
            ctx.out.table(["line", "column", "problem"], exc.problems, title="%s: not imported" % path)
        raise
    finally:
        conn.close()
    stats["ok"] = True
    ctx.out.emit(stats, lambda out, s: out.line(
        "%s: %d row(s) %s — %d new unit(s), %d changed, %d unchanged" % (
            path, s["rows"], "valid (dry run, nothing written)" if s.get("dry_run") else "imported",
            s["new_units"], s["changed_units"], s["unchanged_units"])))
    return 0


def _today(args, ctx):
    if args.today:
        try:
            return datetime.date.fromisoformat(args.today)
        except ValueError:
            raise UserError("--today must be YYYY-MM-DD, got %r" % args.today)
    return ctx.get("today") or datetime.date.today()


def _status(args, ctx):
    from ..settings import check_broker_url
    args.lang = ctx.lang(args.lang)
    today = _today(args, ctx)
    conn = ctx.open_registry(create=False)
    try:
        fleet = ctx.setting("fleet", args.fleet, registry.fleet_id(conn)).value
        presence = ctx.get("presence")
        broker = None if args.no_broker else ctx.setting("broker", args.broker)
        if presence is None and broker:
            url = check_broker_url(broker)
            presence = report.fetch_presence(url, fleet, username=args.broker_user,
                                             password=ctx.environ.get("HTCTL_BROKER_PASSWORD"))
            if not presence and registry.units(conn):
                ctx.out.warn(report.LABELS[args.lang]["no_presence"] % {"broker": url, "fleet": fleet})
        st = report.fleet_status(conn, today, presence, args.lang)
        st["fleet"] = fleet
        return st
    finally:
        conn.close()


def run_status(args, ctx):
    st = _status(args, ctx)
    L = report.LABELS[args.lang]

    def render(out, s):
        heads = [L["opd"], L["radios"], L["ready"], L["not_ready"]] + ([L["online"]] if s["presence"] else []) + \
                [L["paid"], L["budget"]]
        rows = [[o["opd"], o["radios"], o["ready"], o["not_ready"]] + ([o["online"]] if s["presence"] else []) +
                [o["paid_radios"], report.format_rupiah(o["yearly_budget_rp"])] for o in s["opds"]]
        t = s["totals"]
        rows.append([L["total"], t["radios"], t["ready"], t["not_ready"]] + ([t["online"]] if s["presence"] else [])
                    + [sum(o["paid_radios"] for o in s["opds"]), report.format_rupiah(t["yearly_budget_rp"])])
        out.table(heads, rows, title="%s — %s" % (L["per_opd"], date_text(s["today"], args.lang)))

        def bench(b):
            return L["never"] if b is None else "%s %s" % (L["pass"] if b["passed"] else L["fail"],
                                                           date_text(b["at"], args.lang))
        out.table([L["unit"], L["official"], L["sim_expiry"], L["bench"], L["status"]],
                  [[u["unit_id"], u["official"], u["sim_expiry_text"], bench(u["bench"]),
                    (L["ready"] if u["ready"] else L["not_ready"]) +
                    "".join("\n- " + r["text"] for r in u["reasons"])] for u in s["units"]],
                  title=L["units"])
    ctx.out.emit(st, render)
    if args.strict and st["totals"]["not_ready"]:
        raise CheckFailed("%d radio(s) not ready" % st["totals"]["not_ready"],
                          hint="bench-test them (`htctl bench`) or renew their SIMs")
    return 0


def run_report(args, ctx):
    st = _status(args, ctx)
    out = pathlib.Path(args.html)
    try:
        out.write_text(report.render_html(st, args.lang), encoding="utf-8")
    except OSError as exc:
        raise UserError("cannot write %s: %s" % (out, exc.strerror or exc))
    L = report.LABELS[args.lang]
    ctx.out.emit({"html": str(out), "radios": st["totals"]["radios"], "not_ready": st["totals"]["not_ready"],
                  "lang": args.lang, "fleet": st["fleet"]},
                 lambda o, d: o.line(L["wrote"] % d))
    return 0


def run_unit(args, ctx):
    conn = ctx.open_registry(create=False)
    try:
        cur = registry.unit(conn, args.unit)
        data = {"unit": cur, "history": registry.assignment_history(conn, args.unit),
                "certificates": registry.bench_certificates(conn, cur["serial"]) if cur["serial"] else [],
                "audit": registry.audit_log(conn, args.unit)}
    finally:
        conn.close()

    def render(out, d):
        u = d["unit"]
        out.table(["field", "value"], [(k, u[k]) for k in ("unit_id", "callsign", "priority", "official",
                                                            "position", "opd", "board", "serial", "mac", "imei",
                                                            "iccid", "msisdn", "plan", "sim_expiry", "sim_opd")
                                       ], title="unit %s" % u["unit_id"])
        out.table(["from", "to", "board", "IMEI", "ICCID", "official"],
                  [(h["start_at"], h["end_at"] or "now", h["serial"], h["imei"], h["iccid"], h["official"])
                   for h in d["history"]], title="history")
        out.table(["at", "technician", "result"], [(c["at"], c["technician"], "PASS" if c["passed"] else "FAIL")
                                                   for c in d["certificates"]], title="bench certificates")
        out.table(["at", "who", "action", "config hash"], [(a["at"], a["who"], a["action"],
                                                             (a["config_hash"] or "")[:16]) for a in d["audit"]],
                  title="audit")
    ctx.out.emit(data, render)
    return 0


def _update_args(p):
    p.add_argument("release", metavar="DIR", help="a release built by `htctl release build`")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--opd", help="only this OPD's radios")
    g.add_argument("--talkgroup", help="only radios on this talkgroup")
    g.add_argument("--units", help="comma-separated unit ids")
    p.add_argument("--broker", metavar="URL", help="the broker (mqtt://host:port); default as `fleet status`")
    p.add_argument("--broker-user", default="cc", help="Command Center login; password from $HTCTL_BROKER_PASSWORD")
    p.add_argument("--max-failure", type=float, default=0.2, help="halt when a wave fails above this share")
    p.add_argument("--dry-run", action="store_true", help="show the waves and the data cost; send nothing")
    p.add_argument("--lang", default=None, help="id (Bahasa Indonesia) or en; default as `fleet status`")


# What the operator reads before and after a rollout (Bahasa Indonesia first; English with --lang en).
_UPDATE_TEXT = {
    "id": ("rilis %(version)s ke %(radios)d radio dalam gelombang %(waves)s: %(each)s MB per radio, %(all)s MB "
           "seluruhnya, biaya data sekitar %(rp)s",
           "%(ok)d dari %(n)d radio diperbarui", "; dihentikan: %s"),
    "en": ("release %(version)s to %(radios)d radio(s) in waves %(waves)s: %(each)s MB each, %(all)s MB in all, "
           "about %(rp)s of data",
           "%(ok)d of %(n)d radios updated", "; halted: %s"),
}


def _mb(n, lang):
    t = "%.1f" % (n / 1e6)
    return t.replace(".", ",") if lang == "id" else t


def run_update(args, ctx):
    import os
    from .. import release as REL, rollout as RO
    from ..settings import check_broker_url
    from ..i18n import format_rupiah
    lang = ctx.lang(args.lang)
    text = _UPDATE_TEXT[lang]
    rel = REL.Release(args.release)
    conn = ctx.open_registry()
    try:
        rows = RO.targets(conn, opd=args.opd, talkgroup=args.talkgroup,
                          units=args.units.split(",") if args.units else None)
        fleet = registry.fleet_id(conn)
        c = RO.cost(rel.wire_bytes(fleet), rows)
        plan = RO.waves([r["unit_id"] for r in rows])
        info = dict(c, version=rel.version, rid=rel.rid, waves=[len(w) for w in plan])
        ctx.out.emit(info, lambda out, d: out.line(text[0] % {
            "version": d["version"], "radios": d["radios"], "waves": d["waves"],
            "each": _mb(d["bytes_per_radio"], lang), "all": _mb(d["bytes_total"], lang),
            "rp": format_rupiah(d["rp_total"])}))
        if args.dry_run:
            return 0
        # the broker as `fleet status` finds it: --broker, $HTCTL_BROKER_URL, the config file, the registry
        url = check_broker_url(ctx.setting("broker", args.broker), "broker to send the release through")
        if url.startswith("mqtts://"):
            raise UserError("%s: the rollout speaks plain MQTT only so far" % url,
                            hint="run it where the broker's mqtt:// listener is reachable (docs/OTA.md)")
        host, _, port = url.split("://", 1)[-1].partition(":")
        RO.record_release(conn, rel.rid, rel.version, rel.total_bytes)
        import binascii
        fc = registry.fleet_config(conn)
        link = RO.PahoLink(host, int(port or 1883), fleet, args.broker_user, os.environ.get("HTCTL_BROKER_PASSWORD"),
                           key=binascii.unhexlify(fc["audio.key"]),
                           accept=tuple(binascii.unhexlify(k) for k in (fc.get("audio.key_old"),) if k))
        try:
            # each radio's status as it reports it (downloading, staged vX, running vX, rolled back..., refused:
            # reason), the same words presence and the registry keep
            summary = RO.run(link, RO.Rollout(sum(plan, []), rel.offer(), args.max_failure, plan=plan),
                             fleet, rel.messages(fleet), conn,
                             on_progress=lambda unit, status: ctx.out.line("  %s: %s" % (unit, status)))
        finally:
            link.close()
    finally:
        conn.close()
    ctx.out.emit(summary, lambda out, s: out.line(text[1] % {"ok": len(s["ok"]), "n": sum(len(w) for w in s["waves"])}
                                                  + (text[2] % s["halted"] if s["halted"] else "")))
    return 1 if summary["halted"] else 0
