"""htctl boards list | show B | check [PATH ...] — boards as data (docs/BOARDS.md)."""
from .. import boards
from ..errors import CheckFailed, NotFoundError, UserError
from ..output import add_json_option
from . import add_actions

NAME = "boards"
HELP = "list, show and check board files (boards/<VENDOR_PRODUCT>/board.json)"


def configure(parser):
    acts = add_actions(parser, [
        ("list", "list the known boards", None, run_list),
        ("show", "show one board's pins and facts", _show_args, run_show),
        ("check", "validate board files against the ESP32 pin rules (default: all known boards)",
         _check_args, run_check),
    ])
    for a in acts.values():
        add_json_option(a)


def _show_args(p):
    p.add_argument("board", help="board name (LILYGO_T_A7670) or path to a board.json")


def _check_args(p):
    p.add_argument("paths", nargs="*", metavar="PATH", help="board.json files or board folders/names")


def run(args, ctx):
    return args._run(args, ctx)


def run_list(args, ctx):
    rows = []
    for name, path in boards.list_boards(ctx.boards_dir):
        try:
            b = boards.load_file(path)
            issues = boards.validate(b)
            n_err = len(boards.errors(issues))
            rows.append({"name": name, "title": b.get("title", ""), "mcu": b.get("mcu"),
                         "dialect": (b.get("modem") or {}).get("dialect"), "path": str(path),
                         "status": "ok" if not n_err else "%d error(s)" % n_err})
        except UserError as exc:
            rows.append({"name": name, "title": "", "mcu": None, "dialect": None, "path": str(path),
                         "status": "unreadable: %s" % exc.message})
    ctx.out.emit(rows, lambda out, d: out.table(
        ["board", "modem dialect", "mcu", "status", "title"],
        [[r["name"], r["dialect"], r["mcu"], r["status"], r["title"]] for r in d]))
    return 0


def run_show(args, ctx):
    path = boards.resolve(args.board, ctx.boards_dir)
    b = boards.load_file(path)
    if ctx.json:
        ctx.out.emit(b)
    else:
        ctx.out.table(["what", "value"], boards.summary(b), title="%s (%s)" % (b.get("name", path), path))
        _print_issues(ctx, boards.validate(b))
    return 0


def _print_issues(ctx, issues):
    for i in issues:
        ctx.out.line("%s: %s: %s" % (i.level, i.path or "(file)", i.message))


def run_check(args, ctx):
    targets = args.paths or [str(p) for _, p in boards.list_boards(ctx.boards_dir)]
    report = []
    for t in targets:
        path = boards.resolve(t, ctx.boards_dir)
        try:
            issues = boards.validate(boards.load_file(path))
        except NotFoundError:
            raise
        except UserError as exc:  # unreadable JSON is a check failure of that file, not of the run
            issues = [boards.Issue("error", "", exc.message)]
        report.append({"path": str(path), "errors": len(boards.errors(issues)),
                       "issues": [i._asdict() for i in issues]})
    if ctx.json:
        ctx.out.emit(report)
    else:
        for r in report:
            warnings = len(r["issues"]) - r["errors"]
            ctx.out.line("%s: %s" % (r["path"], "OK" if not r["issues"] else
                                     "%d error(s), %d warning(s)" % (r["errors"], warnings)))
            for i in r["issues"]:
                ctx.out.line("  %s: %s: %s" % (i["level"], i["path"] or "(file)", i["message"]))
    bad = [r["path"] for r in report if r["errors"]]
    if bad:
        raise CheckFailed("%d of %d board file(s) have errors" % (len(bad), len(report)),
                          hint="fix the fields named above; docs/BOARDS.md explains each rule")
    return 0
