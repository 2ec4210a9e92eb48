"""`htctl console` as docs/CLI.md promises: --help, exit codes, one-line errors with a hint, secrets never
on the command line."""
import json

from fixtures.cli import run_htctl
from fixtures.console import seed_registry
from htcc.console.store import Store


def test_help_lists_the_actions(capsys):
    code, _, _ = run_htctl(["console", "--help"])
    out = capsys.readouterr().out
    assert code == 0
    for a in ("serve", "user", "audit", "units", "backup", "restore", "demo"):
        assert a in out


def test_user_add_list_disable(tmp_path):
    reg = str(seed_registry(tmp_path / "reg.sqlite"))
    env = {"HTCTL_CONSOLE_PASSWORD": "kata-sandi-rahasia"}
    code, out, err = run_htctl(["console", "user", "add", "sri", "--role", "supervisor", "--registry", reg, "--json"],
                               environ=env)
    assert code == 0, err
    assert json.loads(out) == {"user": "sri", "role": "supervisor", "stored": "scrypt hash only"}
    st = Store(reg)
    assert st.check_login("sri", "kata-sandi-rahasia")["role"] == "supervisor"
    assert "kata-sandi-rahasia" not in open(reg, "rb").read().decode("latin-1")
    st.close()
    code, out, _ = run_htctl(["console", "user", "list", "--registry", reg, "--json"])
    assert [u["name"] for u in json.loads(out)] == ["sri"]
    code, out, _ = run_htctl(["console", "user", "disable", "sri", "--registry", reg])
    assert code == 0
    code, _, err = run_htctl(["console", "user", "disable", "nobody", "--registry", reg])
    assert code == 3 and err.startswith("error: no operator nobody") and "Hint:" in err
    code, out, _ = run_htctl(["console", "audit", "--registry", reg, "--json"])
    assert [r["action"] for r in json.loads(out)] == ["user.disable", "user.set"]


def test_errors_are_one_line_with_a_hint(tmp_path):
    reg = str(seed_registry(tmp_path / "reg.sqlite"))
    code, _, err = run_htctl(["console", "user", "add", "ani", "--registry", reg], environ={})
    assert code == 2 and "HTCTL_CONSOLE_PASSWORD" in err and "Traceback" not in err
    code, _, err = run_htctl(["console", "user", "add", "a b", "--registry", reg],
                             environ={"HTCTL_CONSOLE_PASSWORD": "kata-sandi-rahasia"})
    assert code == 2 and "letters, digits" in err
    code, _, err = run_htctl(["console", "user", "add", "ani", "--registry", reg],
                             environ={"HTCTL_CONSOLE_PASSWORD": "short"})
    assert code == 2 and "too short" in err
    code, _, err = run_htctl(["console", "serve", "--registry", str(tmp_path / "none.sqlite")])
    assert code == 3 and "registry not found" in err
    code, _, err = run_htctl(["console", "serve", "--registry", reg, "--http-port", "70000"])
    assert code == 2 and "--http-port" in err
    code, _, err = run_htctl(["console", "serve", "--registry", reg, "--broker", "http://x"])
    assert code == 2 and "mqtt://" in err
    code, _, err = run_htctl(["console", "serve", "--registry", reg, "--broker-password-file", str(tmp_path / "no")])
    assert code == 3 and "password-file" in err
    code, _, err = run_htctl(["console", "serve", "--registry", reg, "--password", "x"])
    assert code == 2      # there is no such flag: passwords never come from the command line
