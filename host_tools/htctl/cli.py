"""The `htctl` entry point: parse arguments, build a Context, run one command, map errors to exit codes.

``main(argv=None, **injected)`` is the only place that prints errors or picks an exit code. Tests call it
in-process and inject what would otherwise be hardware or the outside world (``esp=`` a mock ESPLoader,
``presence=`` a dict, ``today=`` a date, ``stdout=``/``stderr=`` streams …); commands read injected objects
with ``ctx.get(name, default)``.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sqlite3
import sys
import traceback
from types import ModuleType
from typing import Any

from . import __version__, settings
from .commands import common_options, discover
from .errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, HTError
from .output import Output

from .firmware import BOARDS_DIR, DATA_ROOT


def default_registry_path(config: dict[str, Any] | None = None) -> pathlib.Path:
    env = os.environ.get("HTCTL_REGISTRY") or (config or {}).get("registry")
    if env:
        return pathlib.Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return pathlib.Path(base) / "htctl" / "registry.sqlite"


def default_boards_dir() -> pathlib.Path:
    env = os.environ.get("HTCTL_BOARDS")
    return pathlib.Path(env) if env else BOARDS_DIR


class Context:
    """What a command gets besides its parsed arguments."""

    def __init__(self, args: argparse.Namespace, injected: dict[str, Any]) -> None:
        self.args = args
        self.injected = dict(injected)
        self.json = bool(getattr(args, "json", False))
        self.quiet = bool(getattr(args, "quiet", False))
        self.debug = bool(getattr(args, "debug", False))
        self.out = Output(stdout=injected.get("stdout"), stderr=injected.get("stderr"),
                          json_mode=self.json, quiet=self.quiet)
        self.environ = injected.get("environ") or os.environ
        self.config_path = settings.config_path(self.environ)
        self._config = None
        reg = getattr(args, "registry", None) or injected.get("registry_path")
        self.registry_path = pathlib.Path(reg) if reg else default_registry_path(
            self.config if not os.environ.get("HTCTL_REGISTRY") else None)
        bd = getattr(args, "boards_dir", None) or injected.get("boards_dir")
        self.boards_dir = pathlib.Path(bd) if bd else default_boards_dir()
        self.repo_root = DATA_ROOT

    def get(self, name: str, default: Any = None) -> Any:
        """An injected object (tests) or ``default`` (real use)."""
        return self.injected.get(name, default)

    @property
    def config(self) -> dict[str, Any]:
        """The config file's settings (read once; {} without a file)."""
        if self._config is None:
            self._config = settings.load_config(self.config_path)
        return self._config

    def setting(self, name: str, flag_value: Any = None, builtin: Any = None) -> settings.Value:
        """A setting by precedence: flag > environment variable > config file > registry > built-in."""
        from . import registry
        reg_name = settings.SETTINGS[name][2]
        reg_value = None
        if reg_name and flag_value is None and self.registry_path.exists():
            conn = registry.connect(self.registry_path, create=False)
            try:
                reg_value = registry.setting(conn, reg_name)
            finally:
                conn.close()
        return settings.resolve(name, flag_value, self.environ, self.config, self.config_path, reg_value, builtin)

    def lang(self, flag_value: str | None = None) -> str:
        """Bahasa Indonesia unless a flag, $HTCTL_LANG, the config, the registry or the locale says English."""
        return settings.check_lang(self.setting("lang", flag_value, settings.locale_lang(self.environ)))

    def open_registry(self, create: bool = True) -> sqlite3.Connection:
        """The fleet registry connection (created with its schema on first use)."""
        from . import registry
        return registry.connect(self.registry_path, create=create)


class _Parser(argparse.ArgumentParser):
    # argparse prints usage and calls sys.exit(2) on bad args; we want the same message shape as every
    # other user error ("error: …" + "Hint: …") and no SystemExit escaping library-style callers.
    def error(self, message):
        raise HTError(message, hint="see `%s --help`" % self.prog, exit_code=EXIT_USAGE)


def build_parser(commands: list[ModuleType] | None = None) -> argparse.ArgumentParser:
    commands = discover() if commands is None else commands
    parser = _Parser(prog="htctl", description="Flash, provision, bench-test and manage PoC handy-talkie radios.",
                     epilog="Exit codes: 0 ok, 1 failed check, 2 usage/bad input, 3 not found, 4 device, "
                            "5 conflict, 70 internal. See docs/CLI.md.",
                     parents=[common_options()])
    parser.add_argument("--version", action="version", version="htctl %s" % __version__)
    parser.add_argument("--json", action="store_true", default=False,
                        help="machine-readable JSON output (for commands whose output is data)")
    # Subparsers default to type(parent), so every nested level (boards list …) is a _Parser too.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    sub.required = True
    for cmd in commands:
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help, parents=[common_options()])
        cmd.configure(p)
        p.set_defaults(_command=cmd)
    return parser


def main(argv: list[str] | None = None, **injected: Any) -> int:
    stderr = injected.get("stderr") or sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help / --version
            return int(exc.code or 0)
        ctx = Context(args, injected)
        cmd = args._command
        run = getattr(args, "_run", None) or cmd.run
        code = run(args, ctx)
        return EXIT_OK if code is None else int(code)
    except HTError as exc:
        stderr.write("error: %s\n" % exc.message)
        if exc.hint:
            stderr.write("Hint: %s\n" % exc.hint)
        return exc.exit_code
    except KeyboardInterrupt:
        stderr.write("error: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `htctl fleet status | head`
        return EXIT_OK
    except Exception as exc:  # a bug: say so plainly, traceback only on request
        if debug:
            traceback.print_exc(file=stderr)
        stderr.write("error: internal error: %s: %s\n" % (type(exc).__name__, exc))
        stderr.write("Hint: this is a bug in htctl; run again with --debug and report the traceback\n")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
