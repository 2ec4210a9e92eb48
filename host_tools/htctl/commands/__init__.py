"""Command plug-ins: every ``htctl/commands/<name>.py`` is discovered here, no central list to edit.

A command module defines:

    NAME = "boards"                      # the word after `htctl` (dashes allowed: "fleet-sim")
    HELP = "inspect and check board files"
    def configure(parser): ...           # add arguments (argparse); may add nested subcommands
    def run(args, ctx) -> int: ...       # do the work through library functions, return an exit code

Nested subcommands use :func:`add_actions`, which gives every leaf the common options and records which
function runs it; the framework calls that function instead of ``run`` (see docs/CLI.md).

A module that fails to import does not take the whole CLI down: its command is still listed and running
it reports the import error (exit code 70), so `htctl boards` keeps working while a sibling is broken.
"""
import argparse
import importlib
import pkgutil

__all__ = ["discover", "add_actions", "common_options", "Command"]


class Command:
    def __init__(self, name, help, configure, run, module=None, error=None):
        self.name = name
        self.help = help
        self.configure = configure
        self.run = run
        self.module = module
        self.error = error


def common_options():
    """A parent parser with options every leaf accepts after the subcommand (``htctl fleet status --registry x``).

    SUPPRESS defaults so a value given before the subcommand (``htctl --registry x fleet status``) survives.
    """
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--registry", metavar="PATH", default=argparse.SUPPRESS,
                   help="fleet registry (sqlite); default $HTCTL_REGISTRY or ~/.local/share/htctl/registry.sqlite")
    p.add_argument("--boards-dir", metavar="DIR", default=argparse.SUPPRESS,
                   help="folder of <VENDOR_PRODUCT>/board.json; default the repository's boards/")
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bars")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show a traceback for internal errors")
    return p


def add_actions(parser, actions, dest="action"):
    """Add nested subcommands. ``actions`` is a list of ``(name, help, configure_fn_or_None, run_fn)``.

    Returns ``{name: subparser}``. The chosen ``run_fn(args, ctx)`` is stored as ``args._run``.
    """
    sub = parser.add_subparsers(dest=dest, metavar="ACTION", title="actions")
    sub.required = True
    out = {}
    for name, help_text, configure, run in actions:
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common_options()])
        if configure is not None:
            configure(p)
        p.set_defaults(_run=run)
        out[name] = p
    return out


def _broken(name, exc):
    def configure(parser):
        parser.add_argument("rest", nargs=argparse.REMAINDER)

    def run(args, ctx):
        from ..errors import HTError, EXIT_INTERNAL
        raise HTError("command %r could not be loaded: %s: %s" % (name, type(exc).__name__, exc),
                      hint="this is a bug or a missing package; run `make venv` and report it",
                      exit_code=EXIT_INTERNAL)

    return Command(name, "(unavailable: %s)" % exc, configure, run, error=exc)


def discover():
    """All command modules in this package, sorted by NAME."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        modname = "%s.%s" % (__name__, info.name)
        try:
            mod = importlib.import_module(modname)
        except Exception as exc:  # a broken sibling must not hide the others
            found.append(_broken(info.name.replace("_", "-"), exc))
            continue
        missing = [a for a in ("NAME", "HELP", "configure", "run") if not hasattr(mod, a)]
        if missing:
            found.append(_broken(info.name.replace("_", "-"),
                                 AttributeError("module %s lacks %s" % (modname, ", ".join(missing)))))
            continue
        found.append(Command(mod.NAME, mod.HELP, mod.configure, mod.run, module=mod))
    found.sort(key=lambda c: c.name)
    return found
