"""htctl provision — give a radio its unit's config from the fleet registry (docs/PROVISION.md).

Injected names (tests): ``transport`` (a factory ``port -> DeviceTransport``-like context manager),
``env`` (dict passed to the device self-tests, e.g. ``{"scale": 0.02}`` for an emulated modem).
"""
from ..errors import UserError
from ..output import add_json_option
from ..settings import Value, check_apn, check_broker_url
from ._radios import add_port_option, check_workers, device_env, read_batch, resolve_port

NAME = "provision"
HELP = "write a unit's config to a radio, check its SIM/modem against the registry, record the audit"


def configure(parser):
    add_port_option(parser)
    parser.add_argument("--unit", help="unit id in the fleet registry (e.g. dishub-07)")
    parser.add_argument("--batch", metavar="CSV",
                        help="many radios at once: a file of `port,unit` lines (instead of --port/--unit)")
    parser.add_argument("--broker", default=None,
                        help="broker URL the radio uses, e.g. mqtt://broker.kota.go.id:1883 (default "
                             "$HTCTL_BROKER_URL, else `broker` in ~/.config/htctl/config.toml, else the one "
                             "the last provisioning used)")
    parser.add_argument("--ca", default=None, metavar="PEM",
                        help="the fleet CA (PEM) for a TLS broker (mqtts://): installed on the radio as ca.pem, "
                             "its modem verifies the broker with it")
    parser.add_argument("--apn", default=None, help="APN (default: the schema's, Telkomsel 'internet')")
    parser.add_argument("--accept-swap", action="store_true",
                        help="the radio holds a different SIM/modem than the registry: record it (audited)")
    parser.add_argument("--reset", action="store_true",
                        help="soft-reset the radio afterwards so it starts with the new config (waits for the "
                             "firmware banner)")
    parser.add_argument("--who", default=None, help="who provisions (audit log); default the login name")
    parser.add_argument("--workers", type=int, default=2, help="radios provisioned at once with --batch")
    parser.add_argument("--time-scale", type=float, default=None,
                        help="virtual device only: the modem emulator's time scale (timeouts scale with it)")
    add_json_option(parser)


def _sim_pin(ctx):
    # Never on the command line (ps, shell history): the PIN comes from the environment, if the SIMs have one.
    pin = ctx.environ.get("HTCTL_SIM_PIN", "")
    if pin and not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise UserError("$HTCTL_SIM_PIN: the SIM PIN must be 4-8 digits",
                        hint="set it to the PIN printed on the SIM's card, or unset it if the SIMs have none")
    return pin or None


def _render(out, r):
    rows = [["unit", r["unit"]], ["serial", r["serial"]], ["ICCID", r["iccid"]], ["IMEI", r["imei"]],
            ["modem", r["modem"]], ["broker user", r["broker_user"]],
            ["broker password", "******** (on the radio only)"],
            ["config hash", r["config_hash"][:16]], ["written", "config.json (sha256 verified)"], ["by", r["who"]]]
    if r.get("ca"):
        rows.append(["TLS CA", "ca.pem (sha256 %s, verified)" % r["ca"][:16]])
    if r.get("banner"):
        rows.append(["restarted", r["banner"]])
    for k, v in sorted(r["recorded"].items()):
        rows.append(["recorded new %s" % k.upper(), v])
    out.table(["provision", ""], rows)


def _render_many(out, results):
    rows = []
    for r in results:
        rows.append([r["port"], r["unit"], "OK" if r["ok"] else "FAILED",
                     r["report"]["config_hash"][:16] if r["ok"] else "%s (%s)" % (r["error"], r.get("hint") or "")])
    out.table(["port", "unit", "result", "config hash / why"], rows)


def run(args, ctx):
    from .. import provision as lib
    from ..transport import DeviceTransport

    # Every argument is checked before a radio is touched (reading its SIM takes seconds).
    broker = check_broker_url(ctx.setting("broker", args.broker))
    apn = check_apn(Value(args.apn, "--apn"))
    check_workers(args)
    if args.time_scale is not None and not args.time_scale > 0:
        raise UserError("--time-scale %s: must be more than 0" % args.time_scale)
    opener = ctx.get("transport", DeviceTransport)
    ca = None
    if args.ca:
        try:
            with open(args.ca, "rb") as f:
                ca = f.read()
        except OSError as e:
            raise UserError("--ca %s: %s" % (args.ca, e.strerror or e), hint="name the CA's PEM file")
    ca = lib.check_ca(ca, broker)
    kw = dict(who=args.who, apn=apn, sim_pin=_sim_pin(ctx), accept_swap=args.accept_swap,
              env=device_env(args, ctx), ca=ca)
    if args.batch:
        if args.port or args.unit:
            raise UserError("--batch replaces --port/--unit", hint="give either --batch FILE or --port and --unit")
        jobs = read_batch(args.batch, unit_required=True)
        conn = ctx.open_registry(create=False)
        try:
            for _, unit in jobs:
                lib.preflight(conn, unit, broker, apn, kw["sim_pin"])
        finally:
            conn.close()
        results = lib.provision_many(jobs, ctx.registry_path, broker, workers=args.workers,
                                     open_transport=opener, **kw)
        ctx.out.emit(results, _render_many)
        return 0 if all(r["ok"] for r in results) else max(r["exit_code"] for r in results if not r["ok"])
    if not args.unit:
        raise UserError("provision needs --unit (or --batch FILE)",
                        hint="e.g. htctl provision --port /dev/ttyUSB0 --unit dishub-07 --broker mqtt://host:1883")
    conn = ctx.open_registry(create=False)
    lib.preflight(conn, args.unit, broker, apn, kw["sim_pin"])
    port = resolve_port(ctx, args.port)
    with ctx.out.progress("Provisioning %s" % args.unit, total=4, unit="steps") as bar:
        with opener(port) as tr:
            report = lib.provision(tr, conn, args.unit, broker, progress=bar, **kw)
            if args.reset:
                from ..deploy import BANNER_RE
                _, m = tr.soft_reset(wait_for=BANNER_RE, timeout=30.0)
                report["banner"] = m.group(0).decode()
    ctx.out.emit(report, _render)
    return 0
