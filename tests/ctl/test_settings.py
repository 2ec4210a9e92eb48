"""Defaults a technician does not have to type: flag > environment > config file > registry > built-in."""
import json
import os

import pytest

from fixtures.cli import run_htctl as run
from htctl import registry, settings


def _env(tmp_path, **kw):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HTCTL_", "LANG", "LC_"))}
    env["HTCTL_CONFIG"] = str(tmp_path / "config.toml")
    env.update(kw)
    return env


def test_precedence_flag_env_config_registry_builtin(tmp_path):
    cfg = {"fleet": "cfgfleet"}
    env = {"HTCTL_FLEET": "envfleet"}
    assert settings.resolve("fleet", "flagfleet", env, cfg, "c.toml", "regfleet", "kota") == \
        settings.Value("flagfleet", "--fleet")
    assert settings.resolve("fleet", None, env, cfg, "c.toml", "regfleet", "kota").source == "$HTCTL_FLEET"
    v = settings.resolve("fleet", None, {}, cfg, "c.toml", "regfleet", "kota")
    assert v.value == "cfgfleet" and "c.toml" in v.source
    assert settings.resolve("fleet", None, {}, {}, "c.toml", "regfleet", "kota").value == "regfleet"
    assert settings.resolve("fleet", None, {}, {}, "c.toml", None, "kota").value == "kota"


def test_language_is_bahasa_first_and_english_from_the_locale():
    assert settings.locale_lang({}) == "id"
    assert settings.locale_lang({"LANG": "C.UTF-8"}) == "id"
    assert settings.locale_lang({"LANG": "id_ID.UTF-8"}) == "id"
    assert settings.locale_lang({"LANG": "en_US.UTF-8"}) == "en"
    assert settings.locale_lang({"LANG": "en_US.UTF-8", "LC_ALL": "id_ID.UTF-8"}) == "id"


def test_config_file_sets_fleet_language_and_registry_fleet_is_the_default(tmp_path, fleet_unit):
    reg = fleet_unit["registry"]
    env = _env(tmp_path)
    code, out, err = run(["fleet", "status", "--registry", reg, "--no-broker", "--json"], environ=env)
    assert code == 0, err
    assert json.loads(out)["fleet"] == "kota" and json.loads(out)["lang"] == "id"
    conn = registry.connect(reg)
    registry.set_fleet_id(conn, "kabupaten")
    conn.close()
    code, out, _ = run(["fleet", "status", "--registry", reg, "--no-broker", "--json"], environ=env)
    assert json.loads(out)["fleet"] == "kabupaten"       # what provisioning and `broker write` use
    (tmp_path / "config.toml").write_text('[htctl]\nfleet = "kota2"\nlang = "en"\n')
    code, out, _ = run(["fleet", "status", "--registry", reg, "--no-broker", "--json"], environ=env)
    assert json.loads(out)["fleet"] == "kota2" and json.loads(out)["lang"] == "en"
    code, out, _ = run(["fleet", "status", "--registry", reg, "--no-broker", "--json"],
                       environ=dict(env, HTCTL_LANG="id"))
    assert json.loads(out)["lang"] == "id"
    code, out, _ = run(["fleet", "status", "--registry", reg, "--no-broker", "--json", "--lang", "en"],
                       environ=dict(env, HTCTL_LANG="id"))
    assert json.loads(out)["lang"] == "en"


def test_a_bad_config_file_is_named(tmp_path, fleet_unit):
    env = _env(tmp_path)
    (tmp_path / "config.toml").write_text('broker = "mqtt//x"\ncolour = "red"\n')
    code, _, err = run(["fleet", "status", "--registry", fleet_unit["registry"]], environ=env)
    assert code == 2 and "config.toml" in err and "colour" in err
    (tmp_path / "config.toml").write_text('broker = "mqtt//x"\n')
    code, _, err = run(["fleet", "status", "--registry", fleet_unit["registry"]], environ=env)
    assert code == 2 and "config.toml (setting broker) 'mqtt//x'" in err
    (tmp_path / "config.toml").write_text('lang = "fr"\n')
    code, _, err = run(["fleet", "status", "--registry", fleet_unit["registry"]], environ=env)
    assert code == 2 and "id or en" in err


@pytest.mark.parametrize("text", ["broker = ", "[htctl\n"])
def test_invalid_toml_is_a_usage_error(tmp_path, text):
    (tmp_path / "c.toml").write_text(text)
    with pytest.raises(Exception) as e:
        settings.load_config(tmp_path / "c.toml")
    assert "not valid TOML" in str(e.value)
