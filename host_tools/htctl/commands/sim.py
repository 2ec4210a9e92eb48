"""htctl sim [scenario] [--radios N] [--broker URL|mosquitto] [--mode mpy|cpython] [--out DIR] [--link lte|clean|lossy]
— run a fleet of virtual radios (the real firmware) through a broker and a scripted scenario, then print the
summary and write the transcript, a WAV per radio of what it heard and summary.json (docs/FLEET.md)."""
import pathlib
import sys

from ..errors import NotFoundError, UserError
from ..output import add_json_option

NAME = "sim"
HELP = "fleet simulation: N virtual radios, a broker, LTE links and a scenario -> transcript, WAVs, summary"


def configure(parser):
    parser.add_argument("scenario", nargs="?", default=None,
                        help="scenario file (JSON/YAML) or a name from scenarios/ (default: demo)")
    parser.add_argument("--radios", type=int, default=None,
                        help="at least N radios: extra listeners u001, u002, ... join the scenario's")
    parser.add_argument("--broker", default=None,
                        help="mqtt://host:port of a running broker (accounts <unit>/pw-<unit>), or "
                             "'mosquitto' to start one here (use it above ~8 radios); default: the embedded broker")
    parser.add_argument("--mode", choices=("mpy", "cpython"), default="mpy",
                        help="interpreter for the radios: mpy = MicroPython unix (the firmware as on the "
                             "radio), cpython = scale mode")
    parser.add_argument("--per-process", type=int, default=8, help="radios per interpreter process")
    parser.add_argument("--out", default="out/sim", help="folder for transcript, WAVs and summary")
    parser.add_argument("--link", choices=("lte", "clean", "lossy"), default=None,
                        help="override the scenario's link model for every radio")
    add_json_option(parser)


def resolve(name, root):
    if name is None:
        name = "demo"
    p = pathlib.Path(name)
    if p.is_file():
        return p
    cand = root / "scenarios" / (name if name.endswith((".json", ".yaml", ".yml")) else name + ".json")
    if cand.exists():
        return cand
    known = sorted(x.stem for x in (root / "scenarios").glob("*.json"))
    raise NotFoundError("no scenario %r (no such file, nor scenarios/%s)" % (name, cand.name),
                        hint="give a file, or one of: %s" % ", ".join(known))


def run(args, ctx):
    from htsim.fleet import runner, scenario as S, summary as report
    if args.radios is not None and not 1 <= args.radios <= 2000:
        raise UserError("--radios %s: must be between 1 and 2000" % args.radios)
    if args.per_process < 1:
        raise UserError("--per-process %s: must be 1 or more" % args.per_process)
    if args.broker and args.broker != "mosquitto" and not args.broker.startswith(("mqtt://", "tcp://")):
        raise UserError("--broker %r: must look like mqtt://host:port or be 'mosquitto'" % args.broker,
                        hint="e.g. mqtt://127.0.0.1:1883")
    sc = S.load(resolve(args.scenario, ctx.repo_root), clips=set(runner.clip_table()) | {"all"})
    if args.radios:
        sc = sc.with_radios(args.radios)
    err = ctx.get("stderr", sys.stderr)
    log = (lambda m: None) if (ctx.json or ctx.quiet) else (lambda m: print(m, file=err, flush=True))
    res = runner.run(sc, args.out, mode=args.mode, broker=args.broker, link=args.link,
                     per_process=args.per_process, log=log)
    s = report.write(res, args.out)
    if ctx.json:
        ctx.out.emit({k: v for k, v in s.items() if k not in ("procs",)})
    else:
        ctx.out.line(report.text(s))
        ctx.out.line("  wrote %s/transcript.txt, summary.json and <unit>_heard.wav" % args.out)
    bad = [p for p in res["procs"] if p["rc"] not in (0, None)]
    if bad:
        raise UserError("%d radio process(es) failed" % len(bad), hint="see %s/proc*.stderr" % args.out)
    return 0
