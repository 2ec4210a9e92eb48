"""htctl bench — the acceptance test of one radio; stores a certificate in the registry (docs/PROVISION.md).

Injected names (tests): ``transport`` (factory ``port -> DeviceTransport``-like), ``env`` (dict for the
device self-tests, e.g. ``{"scale": 0.02}``), ``limits`` (overrides of htctl.acceptance.LIMITS).
"""
from ..errors import CheckFailed, UserError
from ..output import add_json_option
from ._radios import add_port_option, check_workers, device_env, read_batch, resolve_port

NAME = "bench"
HELP = "acceptance-test a radio (modem, SIM, network, broker, PTT, audio, battery) and store its certificate"


def configure(parser):
    add_port_option(parser, multiple=True)
    parser.add_argument("--batch", metavar="FILE",
                        help="many radios: a file of `port` or `port,unit` lines (as for provision --batch)")
    parser.add_argument("--technician", default=None,
                        help="who ran the bench (on the certificate); default $HTCTL_TECHNICIAN, else "
                             "`technician` in ~/.config/htctl/config.toml, else the login name")
    parser.add_argument("--unit", default=None, help="unit id if the radio is not provisioned yet")
    parser.add_argument("--lang", default=None,
                        help="id (Bahasa Indonesia) or en for the table and hints; default $HTCTL_LANG, the config "
                             "file's `lang`, else the locale (English only for LANG=en_*)")
    parser.add_argument("--workers", type=int, default=2, help="radios tested at once with several --port")
    parser.add_argument("--time-scale", type=float, default=None,
                        help="virtual device only: the modem emulator's time scale")
    add_json_option(parser)


def _render(out, cert, lang="id"):
    from ..i18n import BENCH, time_text
    L = BENCH[lang]
    rows = []
    for r in cert["rows"]:
        v = r["value"]
        value = "" if v is None else ("%s %s" % (v, r["unit"])).strip()
        hint = r.get("hint_id") if lang == "id" and r.get("hint_id") else r["hint"]
        rows.append([r["check"], value, r["limit"] or "", L[r["status"]],
                     r["detail"] + (("\n%s: %s" % (L["hint"], hint)) if hint else "")])
    title = L["title"] % {"serial": cert["serial"], "unit": cert["unit"] or "-", "technician": cert["technician"],
                          "at": time_text(cert["at"], lang), "verdict": L["PASS" if cert["passed"] else "FAIL"]}
    out.table(L["columns"], rows, title=title)
    out.line(L["stored"] % cert["certificate"])


def bench_one(port, registry_path, technician, opener, env, limits, unit_id=None):
    from .. import acceptance, registry

    conn = registry.connect(registry_path)
    conn.execute("PRAGMA busy_timeout = 30000")
    try:
        with opener(port) as tr:
            cert = acceptance.run_bench(tr, conn, technician, limits=limits, env=env, unit_id=unit_id)
    finally:
        conn.close()
    cert["port"] = port
    return cert


def run(args, ctx):
    from ..provision import who_default
    from ..transport import DeviceTransport

    check_workers(args)
    lang = ctx.lang(args.lang)
    if args.time_scale is not None and not args.time_scale > 0:
        raise UserError("--time-scale %s: must be more than 0" % args.time_scale)
    tech = ctx.setting("technician", args.technician).value or who_default()
    jobs = [(p, args.unit) for p in args.port or []]
    if args.batch:
        jobs += read_batch(args.batch, unit_required=False)
    if not jobs:
        jobs = [(resolve_port(ctx, None), args.unit)]
    jobs = [(resolve_port(ctx, p) if p == "auto" else p, u) for p, u in jobs]
    opener = ctx.get("transport", DeviceTransport)
    env = device_env(args, ctx)
    limits = ctx.get("limits")
    ctx.open_registry().close()
    if len(jobs) == 1:
        with ctx.out.progress("Bench %s" % jobs[0][0], total=None, unit="checks"):
            certs = [bench_one(jobs[0][0], ctx.registry_path, tech, opener, env, limits, jobs[0][1])]
    else:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=max(1, args.workers)) as ex:
            certs = list(ex.map(lambda j: bench_one(j[0], ctx.registry_path, tech, opener, env, limits, j[1]),
                                jobs))
    if ctx.json:
        ctx.out.emit(certs[0] if len(certs) == 1 else certs)
    else:
        for c in certs:
            _render(ctx.out, c, lang)
    failed = [c for c in certs if not c["passed"]]
    if failed:
        from ..i18n import BENCH
        L = BENCH[lang]
        raise CheckFailed(L["failed"] % (
            len(failed), len(certs), ", ".join("%s (%s)" % (c["serial"], ", ".join(
                r["check"] for r in c["rows"] if r["status"] == "FAIL")) for c in failed)),
            hint=L["failed_hint"])
    return 0
