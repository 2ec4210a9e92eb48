"""htctl deploy — compile the firmware, copy what changed to a radio, verify, reset, check the banner.

Injected names (tests): ``deploy`` (the library function, default htctl.deploy.deploy).
"""
from ..errors import UserError
from ..output import add_json_option
from ._radios import add_port_option, resolve_port

NAME = "deploy"
HELP = "put the firmware on a radio (mpy-cross + mpremote; skips files whose sha256 already matches)"


def configure(parser):
    add_port_option(parser)
    parser.add_argument("--board", default=None,
                        help="board name; installs its board.json (needed once per radio)")
    parser.add_argument("--arch", default="auto",
                        help="auto (ask the device: xtensawin on the ESP32, x64 on a vdev), an mpy-cross "
                             "-march name, or py to copy plain source")
    parser.add_argument("--no-reset", action="store_true", help="do not soft-reset and wait for the banner")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the firmware banner")
    add_json_option(parser)


def _render(out, r):
    rows = [
        ["port", r["port"]],
        ["code", "%s (.mpy)" % r["arch"] if r["arch"] != "py" else "source (.py)"],
        ["files", "%d: %d copied, %d unchanged, %d stale removed" % (
            r["files"], len(r["copied"]), len(r["skipped"]), len(r["removed"]))],
        ["bytes copied", r["bytes_copied"]],
        ["verified", "%d sha256 match" % r["verified"]],
    ]
    if "banner" in r:
        rows.append(["device says", r["banner"]])
    rows.append(["time", "%.1f s" % r["seconds"]])
    out.table(["deploy", ""], rows)


def run(args, ctx):
    from .. import deploy as lib

    if not args.timeout > 0:
        raise UserError("--timeout %s: must be more than 0 seconds" % args.timeout, hint="e.g. --timeout 30")
    if args.board and not (ctx.boards_dir / args.board / "board.json").exists():
        from ..errors import NotFoundError
        raise NotFoundError("--board %s: no such board in %s" % (args.board, ctx.boards_dir),
                            hint="see `htctl boards list`")
    port = resolve_port(ctx, args.port)
    fn = ctx.get("deploy", lib.deploy)
    with ctx.out.progress("Deploying", total=None, unit="bytes") as bar:
        report = fn(port, board=args.board, arch=args.arch, boards_dir=ctx.boards_dir, progress=bar,
                    reset=not args.no_reset, banner_timeout=args.timeout)
    ctx.out.emit(report, _render)
    return 0
