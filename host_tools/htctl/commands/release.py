"""htctl release keygen | build — the fleet's release key and signed releases for updates over the air
(docs/OTA.md). The private key stays on this machine; the registry keeps its public half for provisioning."""
from .. import release
from ..output import add_json_option
from . import add_actions

NAME = "release"
HELP = "updates over the air: make the release key, build and sign a release"


def configure(parser):
    acts = add_actions(parser, [
        ("keygen", "make the fleet's RSA-2048 release key (PEM, mode 0600) and register its public half",
         _keygen_args, run_keygen),
        ("build", "build the radio manifest into .mpy files and a signed release manifest", _build_args,
         run_build),
    ])
    for a in acts.values():
        add_json_option(a)


def _keygen_args(p):
    p.add_argument("--key", required=True, metavar="PATH", help="where to write the private key (never overwritten)")


def _build_args(p):
    p.add_argument("--key", required=True, metavar="PATH", help="the release key (from `htctl release keygen`)")
    p.add_argument("--version", required=True, help="the release's version, e.g. 0.2.0 (newer than the fleet's)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for manifest.json, manifest.sig, files/")
    p.add_argument("--arch", default="xtensawin", help="mpy-cross -march (default xtensawin: the ESP32)")
    p.add_argument("--floor", default=None,
                   help="lowest version a radio running this release may later be moved to (default: this one)")
    p.add_argument("--board", action="append", default=None, help="limit to these boards (default: all)")


def run(args, ctx):
    return args._run(args, ctx)


def run_keygen(args, ctx):
    n = release.keygen(args.key)
    conn = ctx.open_registry()
    try:
        release.register_key(conn, args.key)
    finally:
        conn.close()
    ctx.out.emit({"key": args.key, "public": n[:16] + "…", "bits": len(n) * 4},
                 lambda out, d: out.line("release key %s (RSA-%d, public %s) — keep it off the radios and "
                                         "backed up; provisioning installs the public half" % (d["key"], d["bits"],
                                                                                              d["public"])))
    return 0


def run_build(args, ctx):
    m = release.build(args.out, args.key, args.version, arch=args.arch, boards=args.board, floor=args.floor)
    r = release.Release(args.out)
    d = {"version": m["v"], "rid": r.rid, "files": len(m["files"]), "bytes": r.total_bytes, "out": args.out}
    ctx.out.emit(d, lambda out, d: out.line("release %s (%s): %d files, %d bytes in %s" % (
        d["version"], d["rid"], d["files"], d["bytes"], d["out"])))
    return 0
