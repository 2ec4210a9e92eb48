"""htctl provision — give a radio its unit's config from the fleet registry (docs/PROVISION.md).

Injected names (tests): ``transport`` (a factory ``port -> DeviceTransport``-like context manager),
``env`` (dict passed to the device self-tests, e.g. ``{"scale": 0.02}`` for an emulated modem).
"""
import os

from ..errors import UserError
from ..output import add_json_option
from ._radios import device_env, read_batch

NAME = "provision"
HELP = "write a unit's config to a radio, check its SIM/modem against the registry, record the audit"


def configure(parser):
    parser.add_argument("--port", help="serial port (/dev/ttyUSB0) or a vdev pty (/dev/pts/N)")
    parser.add_argument("--unit", help="unit id in the fleet registry (e.g. dishub-07)")
    parser.add_argument("--batch", metavar="CSV",
                        help="many radios at once: a file of `port,unit` lines (instead of --port/--unit)")
    parser.add_argument("--broker", default=os.environ.get("HTCTL_BROKER_URL"),
                        help="broker URL the radio uses, e.g. mqtt://broker.kota.go.id:1883 "
                             "(default $HTCTL_BROKER_URL)")
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


def _sim_pin():
    # Never on the command line (ps, shell history): the PIN comes from the environment, if the SIMs have one.
    pin = os.environ.get("HTCTL_SIM_PIN", "")
    return pin or None


def _render(out, r):
    rows = [["unit", r["unit"]], ["serial", r["serial"]], ["ICCID", r["iccid"]], ["IMEI", r["imei"]],
            ["modem", r["modem"]], ["broker user", r["broker_user"]],
            ["broker password", "******** (on the radio only)"],
            ["config hash", r["config_hash"][:16]], ["written", "config.json (sha256 verified)"], ["by", r["who"]]]
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

    if not args.broker:
        raise UserError("no broker URL", hint="pass --broker mqtt://host:1883 or set $HTCTL_BROKER_URL")
    opener = ctx.get("transport", DeviceTransport)
    kw = dict(who=args.who, apn=args.apn, sim_pin=_sim_pin(), accept_swap=args.accept_swap,
              env=device_env(args, ctx))
    if args.batch:
        if args.port or args.unit:
            raise UserError("--batch replaces --port/--unit", hint="give either --batch FILE or --port and --unit")
        jobs = read_batch(args.batch, unit_required=True)
        results = lib.provision_many(jobs, ctx.registry_path, args.broker, workers=args.workers,
                                     open_transport=opener, **kw)
        ctx.out.emit(results, _render_many)
        return 0 if all(r["ok"] for r in results) else max(r["exit_code"] for r in results if not r["ok"])
    if not (args.port and args.unit):
        raise UserError("provision needs --port and --unit", hint="e.g. htctl provision --port /dev/ttyUSB0 "
                                                                  "--unit dishub-07 --broker mqtt://host:1883")
    conn = ctx.open_registry(create=False)
    with ctx.out.progress("Provisioning %s" % args.unit, total=4, unit="steps") as bar:
        with opener(args.port) as tr:
            report = lib.provision(tr, conn, args.unit, args.broker, progress=bar, **kw)
            if args.reset:
                from ..deploy import BANNER_RE
                _, m = tr.soft_reset(wait_for=BANNER_RE, timeout=30.0)
                report["banner"] = m.group(0).decode()
    ctx.out.emit(report, _render)
    return 0
