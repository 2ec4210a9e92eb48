"""htctl broker — the fleet's Mosquitto artefacts from the registry (docs/PROVISION.md).

`htctl broker write --out DIR` writes passwd (only the registry's $7$ hashes: nobody keeps plain passwords),
acl (from the firmware's topic scheme) and mosquitto.conf. `htctl broker user NAME` adds a Command Center
console account whose password comes from $HTCTL_BROKER_PASSWORD (never the command line).
"""
import os

from . import add_actions
from ..errors import UserError
from ..output import add_json_option

NAME = "broker"
HELP = "write the fleet broker's password file, ACL and mosquitto.conf from the registry"


def _cfg_write(p):
    p.add_argument("--out", required=True, help="folder for passwd, acl and mosquitto.conf")
    p.add_argument("--fleet", default=None,
                   help="fleet id in the topics (ht/<fleet>/...); default the registry's (kota unless set)")
    p.add_argument("--listen", default="0.0.0.0", help="listener address (default 0.0.0.0)")
    p.add_argument("--listen-port", type=int, default=1883, help="listener port (default 1883)")
    p.add_argument("--tls-ca", default=None, help="TLS: the fleet CA (PEM) the radios verify the broker with")
    p.add_argument("--tls-cert", default=None, help="TLS: the broker's certificate (PEM), signed by --tls-ca")
    p.add_argument("--tls-key", default=None, help="TLS: the broker's private key (PEM, unencrypted)")
    p.add_argument("--tls-port", type=int, default=8883, help="TLS listener port (default 8883)")
    p.add_argument("--insecure", action="store_true",
                   help="allow a plain (non-TLS) listener on a non-loopback address: radio passwords cross "
                        "the network in clear (closed test networks only)")
    p.add_argument("--console", action="append", default=None,
                   help="console account(s) with Command Center rights (default: cc)")
    p.add_argument("--user", default="mosquitto",
                   help="the user Mosquitto runs as (a `user` line; run as root, the files are chowned to it); "
                        "default mosquitto, as Debian's package creates")


def _cfg_user(p):
    p.add_argument("name", help="console account name, e.g. cc")


def run_write(args, ctx):
    from ..brokerfiles import SERVICE, broker_artifacts
    from ..registry import fleet_id

    if not 1 <= args.listen_port <= 65535:
        raise UserError("--listen-port %s: must be 1-65535" % args.listen_port, hint="MQTT is 1883, TLS 8883")
    if not 1 <= args.tls_port <= 65535:
        raise UserError("--tls-port %s: must be 1-65535" % args.tls_port, hint="MQTT over TLS is 8883")
    tls = None
    if args.tls_ca or args.tls_cert or args.tls_key:
        tls = {"ca": args.tls_ca, "cert": args.tls_cert, "key": args.tls_key}
    conn = ctx.open_registry(create=False)
    try:
        fleet = ctx.setting("fleet", args.fleet, fleet_id(conn)).value
        r = broker_artifacts(conn, args.out, fleet=fleet, host=args.listen, port=args.listen_port,
                             console=tuple(args.console or ("cc",)), run_as=args.user or None, tls=tls,
                             tls_port=args.tls_port, insecure=args.insecure)
    finally:
        conn.close()
    for w in r["warnings"]:
        ctx.out.warn(w)

    def render(out, d):
        out.table(["broker", ""], [
            ["radio accounts", len(d["units"])], ["console accounts", ", ".join(d["console"]) or "-"],
            ["fleet", d["fleet"]],
            ["radios' listener", "TLS port %d" % d["tls"]["port"] if d["tls"] else "plain (no TLS)"],
            ["passwd", d["files"]["passwd"]], ["acl", d["files"]["acl"]],
            ["config", d["files"]["conf"]], ["service", d["files"]["service"]],
            ["owner", d["owner"] or "you (see README)"]])
        out.line("next: see %s — install %s, `systemctl enable --now %s`, and `systemctl reload %s` after "
                 "every provisioning" % (d["files"]["readme"], SERVICE, SERVICE, SERVICE))
    ctx.out.emit(r, render)
    return 0


def run_user(args, ctx):
    from ..provision import set_console_user

    pw = os.environ.get("HTCTL_BROKER_PASSWORD")
    if not pw:
        raise UserError("no password for %s" % args.name,
                        hint="set $HTCTL_BROKER_PASSWORD (it is never taken from the command line)")
    conn = ctx.open_registry()
    set_console_user(conn, args.name, pw)
    ctx.out.emit({"user": args.name, "stored": "hash only"},
                 lambda out, d: out.line("console account %s stored (hash only)" % d["user"]))
    return 0


def configure(parser):
    acts = add_actions(parser, [
        ("write", "write passwd, acl and mosquitto.conf for the whole fleet", _cfg_write, run_write),
        ("user", "add or change a Command Center console account", _cfg_user, run_user),
    ])
    add_json_option(acts["write"])
    add_json_option(acts["user"])


def run(args, ctx):
    return args._run(args, ctx)
