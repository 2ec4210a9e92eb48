"""The htctl CLI framework: discovery, help, errors with hints, exit codes, the installed console script."""
import io
import pathlib
import subprocess
import sys

from htctl import cli, commands
from htctl.errors import EXIT_INTERNAL, EXIT_NOT_FOUND, EXIT_USAGE, HTError, NotFoundError
from fixtures.cli import run_htctl as run

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_every_command_module_loads():
    # A module that fails to import would only show up as "(unavailable: …)"; catch it here.
    broken = [(c.name, repr(c.error)) for c in commands.discover() if c.error is not None]
    assert broken == []


def _command_paths(parser, prefix=()):
    # Every command and nested action: ("boards",), ("boards", "list"), ...
    import argparse
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield prefix + (name,)
                yield from _command_paths(child, prefix + (name,))


def test_help_on_every_command_and_action(capsys):
    parser = cli.build_parser()
    names = [c.name for c in commands.discover()]
    paths = list(_command_paths(parser))
    assert ("boards", "check") in paths and ("fleet", "import") in paths
    for path in paths:
        assert cli.main(list(path) + ["--help"]) == 0, path
        text = capsys.readouterr().out
        assert "usage: htctl %s" % " ".join(path) in text
    assert cli.main(["--help"]) == 0
    top = capsys.readouterr().out
    for name in names:
        assert name in top
    assert parser.prog == "htctl"


def test_unknown_command_is_a_usage_error_without_traceback():
    code, out, err = run(["no-such-command"])
    assert code == EXIT_USAGE
    assert err.startswith("error: ")
    assert "Hint: " in err
    assert "Traceback" not in err


def test_missing_command_is_a_usage_error():
    code, _, err = run([])
    assert code == EXIT_USAGE and "error:" in err


def _fake_command(run_fn, name="fake"):
    def configure(p):
        p.add_argument("--x", default="1")
    return commands.Command(name, "a fake command", configure, run_fn)


def test_htError_becomes_message_hint_and_exit_code(monkeypatch):
    def boom(args, ctx):
        raise NotFoundError("board FOO not found", hint="run `htctl boards list`")
    monkeypatch.setattr(commands, "discover", lambda: [_fake_command(boom)])
    monkeypatch.setattr(cli, "discover", commands.discover)
    code, out, err = run(["fake"])
    assert code == EXIT_NOT_FOUND
    assert err == "error: board FOO not found\nHint: run `htctl boards list`\n"
    assert out == ""


def test_internal_error_is_reported_as_bug_and_traceback_only_with_debug(monkeypatch):
    def bug(args, ctx):
        return {}["missing"]
    monkeypatch.setattr(cli, "discover", lambda: [_fake_command(bug)])
    code, _, err = run(["fake"])
    assert code == EXIT_INTERNAL
    assert "internal error" in err and "Traceback" not in err
    code, _, err = run(["fake", "--debug"])
    assert code == EXIT_INTERNAL and "Traceback" in err


def test_injected_objects_and_common_options_reach_the_command(monkeypatch, tmp_path):
    seen = {}

    def grab(args, ctx):
        seen["thing"] = ctx.get("thing")
        seen["registry"] = ctx.registry_path
        seen["json"] = ctx.json
        ctx.out.emit({"ok": True}, lambda out, d: out.line("human"))
        return 0
    monkeypatch.setattr(cli, "discover", lambda: [_fake_command(grab)])
    code, out, _ = run(["--registry", str(tmp_path / "a.db"), "fake"], thing=42)
    assert code == 0 and out == "human\n"
    assert seen == {"thing": 42, "registry": tmp_path / "a.db", "json": False}
    # common options after the command work too, and --json switches the rendering
    code, out, _ = run(["--json", "fake", "--registry", str(tmp_path / "b.db")])
    assert code == 0 and out.strip() == '{\n  "ok": true\n}'
    assert seen["registry"] == tmp_path / "b.db" and seen["json"] is True


def test_broken_command_module_is_listed_and_reports_its_error(monkeypatch):
    real_import = commands.importlib.import_module

    def fake_import(name):
        if name.endswith(".boards"):
            raise ImportError("no module named frobnicate")
        return real_import(name)
    monkeypatch.setattr(commands.importlib, "import_module", fake_import)
    cmds = {c.name: c for c in commands.discover()}
    assert cmds["boards"].error is not None
    code, _, err = run(["boards", "list"])
    assert code == EXIT_INTERNAL
    assert "could not be loaded" in err and "frobnicate" in err


def test_progress_bar_is_a_callback_and_silent_off_terminal():
    from htctl.output import Output
    err = io.StringIO()
    out = Output(stdout=io.StringIO(), stderr=err)
    with out.progress("Writing", total=100) as bar:
        for done in (10, 50, 100):
            bar(done)
    assert (bar.done, bar.total, bar.updates) == (100, 100, 3)
    assert err.getvalue() == ""


def test_errors_carry_default_exit_codes():
    assert HTError("x").exit_code == 1
    assert HTError("x", exit_code=9).exit_code == 9
    assert NotFoundError("x").hint is None


def test_installed_console_script_runs():
    exe = pathlib.Path(sys.executable).parent / "htctl"
    assert exe.exists(), "console script missing: run `make venv`"
    r = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("htctl ")
    r = subprocess.run([str(exe), "boards", "show", "NO_SUCH_BOARD"], capture_output=True, text=True,
                       timeout=60, cwd=str(ROOT))
    assert r.returncode == EXIT_NOT_FOUND
    assert r.stderr.startswith("error: ") and "Hint:" in r.stderr and "Traceback" not in r.stderr


class _TTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_draws_on_a_terminal_and_not_with_json():
    from htctl.output import Output
    err = _TTY()
    out = Output(stdout=io.StringIO(), stderr=err)
    with out.progress("Writing ESP32", total=1000) as bar:
        bar(250)
        bar(1000, 1000)
    assert "Writing ESP32" in err.getvalue()
    err = _TTY()
    with Output(stdout=io.StringIO(), stderr=err, json_mode=True).progress("Writing", total=10) as bar:
        bar(10)
    assert err.getvalue() == ""


def test_table_output_is_plain_text_off_terminal():
    from htctl.output import Output
    s = io.StringIO()
    Output(stdout=s).table(["unit", "status"], [["dinkes-01", "ready"], ["bpbd-02", None]], title="units")
    text = s.getvalue()
    assert "dinkes-01" in text and "ready" in text and "\x1b[" not in text
