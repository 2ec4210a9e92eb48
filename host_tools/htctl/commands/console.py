"""htctl console — the Command Center console (docs/CONSOLE.md): serve it, manage its operators.

    htctl console serve [--listen 127.0.0.1] [--http-port 8080] [--broker mqtt://127.0.0.1:1883] [--broker-user cc]
    htctl console user add NAME [--role operator|supervisor] [--full-name "…"]   # password: $HTCTL_CONSOLE_PASSWORD
    htctl console user list | disable NAME
    htctl console audit [--limit N]
    htctl console units --out DIR              # systemd units for broker, arbiters and console (docs/DEPLOY.md)
    htctl console backup --out DIR | restore ARCHIVE

Passwords never come from the command line: the broker's from $HTCTL_BROKER_PASSWORD (or --broker-password-file),
an operator's from $HTCTL_CONSOLE_PASSWORD (or typed at a prompt on a terminal).
This module is only the CLI skin: the server is htcc.console.
"""
import getpass
import os
import sys

from . import add_actions
from ..errors import ConflictError, NotFoundError, UserError
from ..output import add_json_option

NAME = "console"
HELP = "the Command Center console: serve it in the browser, manage operators, backups and service units"


def _cfg_serve(p):
    p.add_argument("--listen", default="127.0.0.1",
                   help="address to serve on (default 127.0.0.1: put HTTPS in front, docs/DEPLOY.md)")
    p.add_argument("--http-port", type=int, default=8080, help="HTTP port (default 8080)")
    p.add_argument("--broker", default=None, help="broker URL (default: $HTCTL_BROKER_URL, the config, the registry)")
    p.add_argument("--broker-user", default="cc", help="the console's broker account (default cc)")
    p.add_argument("--broker-password-file", default=None,
                   help="file holding the broker password (else $HTCTL_BROKER_PASSWORD)")
    p.add_argument("--fleet", default=None, help="fleet id in the topics (default the registry's)")
    p.add_argument("--lang", default=None, help="default page language: id (default) or en")
    p.add_argument("--ack-timeout", type=float, default=60.0,
                   help="seconds before an unacknowledged emergency is escalated (default 60)")
    p.add_argument("--escalate-command", default=None, help="command run with the alarm as JSON on stdin")
    p.add_argument("--escalate-url", default=None, help="URL the alarm is POSTed to as JSON")
    p.add_argument("--secure-cookies", action="store_true", help="cookies only over HTTPS (set it behind TLS)")
    p.add_argument("--data-dir", default=None, help="folder for recordings (default next to the registry)")


def _settings_from(args, ctx):
    from htcc.console.settings import Settings
    from ..settings import check_broker_url

    if not 1 <= args.http_port <= 65535:
        raise UserError("--http-port %s: must be 1-65535" % args.http_port, hint="e.g. --http-port 8080")
    url = check_broker_url(ctx.setting("broker", args.broker, "mqtt://127.0.0.1:1883"))
    rest = url.split("://", 1)[1]
    host, _, port = rest.rpartition(":")
    pw = os.environ.get("HTCTL_BROKER_PASSWORD")
    if args.broker_password_file:
        try:
            with open(args.broker_password_file) as f:
                pw = f.read().strip()
        except OSError as e:
            raise NotFoundError("cannot read --broker-password-file %s: %s" % (args.broker_password_file,
                                                                                e.strerror or e),
                                hint="a file holding only the console account's broker password")
    if args.ack_timeout <= 0:
        raise UserError("--ack-timeout %s: must be more than 0 seconds" % args.ack_timeout, hint="e.g. 60")
    if args.escalate_url and not args.escalate_url.startswith(("http://", "https://")):
        raise UserError("--escalate-url %r: must start with http:// or https://" % args.escalate_url)
    lang = ctx.lang(args.lang)
    if not ctx.registry_path.exists():
        raise NotFoundError("fleet registry not found: %s" % ctx.registry_path,
                            hint="import an inventory first: `htctl fleet import inventory.csv`, or pass --registry")
    data_dir = args.data_dir or str(ctx.registry_path.parent / "console-data")
    return Settings(registry=str(ctx.registry_path), broker_host=host or "127.0.0.1", broker_port=int(port or 1883),
                    broker_user=args.broker_user, broker_password=pw, fleet=args.fleet, lang=lang,
                    ack_timeout_s=args.ack_timeout, escalate_command=args.escalate_command,
                    escalate_url=args.escalate_url, secure_cookies=args.secure_cookies, data_dir=data_dir)


def run_serve(args, ctx):
    import logging

    import uvicorn
    from htcc.console.app import create_app

    settings = _settings_from(args, ctx)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    ctx.out.line("console on http://%s:%d (broker %s:%d as %s, fleet %s)" % (
        args.listen, args.http_port, settings.broker_host, settings.broker_port, settings.broker_user,
        app.state.console.fleet))
    users = app.state.console.store.users()
    if not users:
        ctx.out.warn("no operators yet: add one with `HTCTL_CONSOLE_PASSWORD=… htctl console user add NAME "
                     "--role supervisor`")
    try:
        uvicorn.run(app, host=args.listen, port=args.http_port, log_level="warning", ws_max_size=1 << 20)
    except OSError as e:
        raise UserError("cannot serve on %s:%d: %s" % (args.listen, args.http_port, e.strerror or e),
                        hint="pick another --http-port, or stop what listens there")
    return 0


# ---- operators ----------------------------------------------------------------------------------------
def _store(ctx):
    from htcc.console.store import Store
    ctx.open_registry().close()
    return Store(str(ctx.registry_path))


def _cfg_user_add(p):
    p.add_argument("name", help="login name (letters, digits, . _ -)")
    p.add_argument("--role", default="operator", choices=("operator", "supervisor"),
                   help="operator (default) or supervisor (also sees the audit log and manages schedules)")
    p.add_argument("--full-name", default=None, help="the name shown on the console")


def _password(ctx, name):
    pw = ctx.environ.get("HTCTL_CONSOLE_PASSWORD")
    if pw:
        return pw
    if sys.stdin.isatty():
        pw = getpass.getpass("password for %s: " % name)
        if pw != getpass.getpass("again: "):
            raise UserError("the two passwords differ", hint="type the same password twice")
        return pw
    raise UserError("no password for %s" % name,
                    hint="set $HTCTL_CONSOLE_PASSWORD or run on a terminal to type it (never on the command line)")


def run_user_add(args, ctx):
    st = _store(ctx)
    try:
        try:
            st.set_user(args.name, _password(ctx, args.name), args.role, args.full_name)
        except ValueError as e:
            raise UserError(str(e), hint="e.g. `htctl console user add budi --role operator`")
        st.audit(os.environ.get("USER") or "htctl", "user.set", {"name": args.name, "role": args.role})
    finally:
        st.close()
    ctx.out.emit({"user": args.name, "role": args.role, "stored": "scrypt hash only"},
                 lambda out, d: out.line("operator %s (%s) stored (hash only)" % (d["user"], d["role"])))
    return 0


def run_user_list(args, ctx):
    st = _store(ctx)
    try:
        users = st.users()
    finally:
        st.close()
    ctx.out.emit(users, lambda out, d: out.table(["name", "role", "full name", "disabled", "updated"], [
        [u["name"], u["role"], u["full_name"] or "", "yes" if u["disabled"] else "", u["updated_at"]] for u in d]))
    return 0


def _cfg_name(p):
    p.add_argument("name", help="login name")


def run_user_disable(args, ctx):
    st = _store(ctx)
    try:
        if not st.disable_user(args.name):
            raise NotFoundError("no operator %s" % args.name, hint="see `htctl console user list`")
        st.audit(os.environ.get("USER") or "htctl", "user.disable", {"name": args.name})
    finally:
        st.close()
    ctx.out.emit({"user": args.name, "disabled": True},
                 lambda out, d: out.line("operator %s disabled; their sessions ended" % d["user"]))
    return 0


def _cfg_audit(p):
    p.add_argument("--limit", type=int, default=50, help="newest N rows (default 50)")


def run_audit(args, ctx):
    st = _store(ctx)
    try:
        rows = st.audit_log(limit=args.limit)
    finally:
        st.close()
    ctx.out.emit(rows, lambda out, d: out.table(["at", "operator", "action", "detail"], [
        [r["at"], r["operator"], r["action"], r["detail"]] for r in d]))
    return 0


# ---- the host: service units, backup, restore (htcc.console.ops; docs/DEPLOY.md) ----------------------
def _cfg_units(p):
    p.add_argument("--out", required=True, help="folder for the unit files, the nginx site and INSTALL.txt")
    p.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="broker URL the services use")
    p.add_argument("--fleet", default=None, help="fleet id (default the registry's)")
    p.add_argument("--talkgroups", default=None, help="talkgroups the arbiters serve (default: all in the registry)")
    p.add_argument("--http-port", type=int, default=8080, help="the console's loopback port behind nginx")
    p.add_argument("--server-name", default="console.example.go.id", help="the console's HTTPS host name")
    p.add_argument("--user", default="htcc", help="system user the services run as (default htcc)")
    p.add_argument("--data-dir", default="/var/lib/htcc/data", help="recordings and console data")
    p.add_argument("--backup-dir", default="/var/backups/htcc", help="where the nightly backup goes")


def run_units(args, ctx):
    import shutil as _sh

    from htcc.console.ops import service_files
    from ..registry import fleet_id, units

    conn = ctx.open_registry(create=False)
    try:
        fleet = ctx.setting("fleet", args.fleet, fleet_id(conn)).value
        tgs = args.talkgroups or ",".join(sorted({str(t) for u in units(conn) for t in u["talkgroups"]})) or "1"
    finally:
        conn.close()
    r = service_files(args.out, _sh.which("htctl") or sys.argv[0], str(ctx.registry_path.resolve()), args.data_dir,
                      args.broker, fleet, tgs, args.http_port, args.user, args.server_name, args.backup_dir)
    ctx.out.emit(r, lambda out, d: (out.table(["file", "path"], [[k, v] for k, v in d["files"].items()]),
                                    out.line("next: the commands in %s" % d["files"]["INSTALL.txt"])))
    return 0


def _cfg_backup(p):
    p.add_argument("--out", required=True, help="folder for the archive (htcc-backup-<UTC time>.tar.gz)")
    p.add_argument("--data-dir", default=None, help="the console's data folder (default next to the registry)")
    p.add_argument("--keep", type=int, default=None, help="keep only the newest N archives in --out")


def run_backup(args, ctx):
    from htcc.console.ops import backup

    if not ctx.registry_path.exists():
        raise NotFoundError("fleet registry not found: %s" % ctx.registry_path, hint="pass --registry")
    data = args.data_dir or str(ctx.registry_path.parent / "console-data")
    try:
        r = backup(ctx.registry_path, data, args.out, keep=args.keep)
    except OSError as e:
        raise UserError("backup failed: %s" % e, hint="is --out writable and is there room on its disk?")
    ctx.out.emit(r, lambda out, d: out.line("wrote %s (%d files, %d bytes)" % (d["archive"], d["files"], d["bytes"])))
    return 0


def _cfg_restore(p):
    p.add_argument("archive", help="a htcc-backup-*.tar.gz")
    p.add_argument("--data-dir", default=None, help="where recordings go back (default next to the registry)")
    p.add_argument("--force", action="store_true", help="replace an existing registry (stop the console first)")


def run_restore(args, ctx):
    from htcc.console.ops import restore

    data = args.data_dir or str(ctx.registry_path.parent / "console-data")
    try:
        r = restore(args.archive, ctx.registry_path, data, force=args.force)
    except FileExistsError as e:
        raise ConflictError(str(e), hint="stop the console, keep a copy, then add --force")
    except FileNotFoundError as e:
        raise NotFoundError(str(e), hint="give the path of a htcc-backup-*.tar.gz")
    except ValueError as e:
        raise UserError(str(e), hint="take another archive; nothing was written")
    ctx.out.emit(r, lambda out, d: out.line("restored %s into %s (%d files, backup of %s)" % (
        d["archive"], d["registry"], d["files"], d["made_at"])))
    return 0


def _cfg_demo(p):
    p.add_argument("--out", default="out/demo", help="folder for the screenshots (default out/demo)")
    p.add_argument("--http-port", type=int, default=None,
                   help="the console's port on 127.0.0.1 (default 8080 with --keep-running, else a free one)")
    p.add_argument("--no-screenshots", action="store_true", help="skip the scripted screenshots")
    p.add_argument("--keep-running", action="store_true", help="keep the fleet and the console up until Ctrl-C")
    p.add_argument("--password", default=None, help="the demo operator's password (default: a random one, printed)")


def run_demo(args, ctx):
    from . import _console_demo

    try:
        port = args.http_port or (8080 if args.keep_running else _free_port())
        return _console_demo.run(args.out, port, screenshots=not args.no_screenshots,
                                 keep_running=args.keep_running, log=ctx.out.line, password=args.password)
    except RuntimeError as e:
        raise UserError(str(e), hint="see the logs under %s/console-fleet/" % args.out)


def _free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def configure(parser):
    acts = add_actions(parser, [
        ("serve", "serve the console (until Ctrl-C/SIGTERM)", _cfg_serve, run_serve),
        ("user", "manage operators: add, list, disable", None, None),
        ("audit", "show the newest rows of the console's audit log", _cfg_audit, run_audit),
        ("units", "write systemd units (arbiters, console, nightly backup) and the HTTPS front's nginx site",
         _cfg_units, run_units),
        ("backup", "back up the registry and the console's data (recordings) into one checked archive",
         _cfg_backup, run_backup),
        ("restore", "restore a backup archive (checks every file's SHA-256 first)", _cfg_restore, run_restore),
        ("demo", "the console with a simulated fleet (Mosquitto, arbiters, MicroPython radios): screenshots, "
                 "or --keep-running for a person to open in a browser", _cfg_demo, run_demo),
    ])
    users = add_actions(acts["user"], [
        ("add", "add an operator or change their password/role", _cfg_user_add, run_user_add),
        ("list", "list operators", None, run_user_list),
        ("disable", "disable an operator and end their sessions", _cfg_name, run_user_disable),
    ], dest="user_action")
    for p in list(users.values()) + [acts["audit"]]:
        add_json_option(p)
    for p in (acts["units"], acts["backup"], acts["restore"]):
        add_json_option(p)


def run(args, ctx):
    return args._run(args, ctx)
