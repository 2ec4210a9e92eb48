"""Where htctl's defaults come from, and the checks every setting passes before a radio is touched.

Precedence, highest first: the command-line flag, the environment variable, the config file
(``~/.config/htctl/config.toml``, or ``$HTCTL_CONFIG``), the fleet registry, the built-in default. A value
carries its source (``--broker``, ``$HTCTL_BROKER_URL``, ``config.toml key broker`` …) so an error names the
exact place to fix it.

    [htctl]                    # config.toml (the table is optional: top-level keys work too)
    broker = "mqtt://broker.kota.go.id:1883"
    fleet = "kota"
    lang = "id"                # id | en
    technician = "Budi"
    port = "auto"              # or /dev/ttyUSB0
    registry = "/srv/htctl/registry.sqlite"

Library code: returns data or raises :class:`~htctl.errors.UserError`; never prints.
"""
from __future__ import annotations

import os
import pathlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import UserError

# name -> (flag, environment variable, registry setting or None, help for the default)
SETTINGS: dict[str, tuple[str, str, str | None]] = {
    "broker": ("--broker", "HTCTL_BROKER_URL", "broker.url"),
    "fleet": ("--fleet", "HTCTL_FLEET", "fleet.id"),
    "lang": ("--lang", "HTCTL_LANG", "lang"),
    "technician": ("--technician", "HTCTL_TECHNICIAN", None),
    "port": ("--port", "HTCTL_PORT", None),
    "registry": ("--registry", "HTCTL_REGISTRY", None),
}
LANGS = ("id", "en")
FLEET_DEFAULT = "kota"


@dataclass(frozen=True)
class Value:
    value: Any
    source: str            # where it came from, as a person would look for it

    def __bool__(self) -> bool:
        return self.value not in (None, "")


def config_path(env: Mapping[str, str] | None = None) -> pathlib.Path:
    env = os.environ if env is None else env
    if env.get("HTCTL_CONFIG"):
        return pathlib.Path(env["HTCTL_CONFIG"])
    base = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return pathlib.Path(base) / "htctl" / "config.toml"


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The config file's settings ({} when there is none). UserError names the file and the bad key."""
    p = pathlib.Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as e:
        raise UserError("cannot read the config file %s: %s" % (p, getattr(e, "strerror", None) or e),
                        hint="fix or remove it (or point $HTCTL_CONFIG elsewhere)") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError("config file %s is not valid TOML: %s" % (p, e),
                        hint='write one setting per line, e.g. broker = "mqtt://host:1883"') from None
    if isinstance(data.get("htctl"), dict):
        data = {**{k: v for k, v in data.items() if k != "htctl"}, **data["htctl"]}
    unknown = sorted(set(data) - set(SETTINGS))
    if unknown:
        raise UserError("config file %s: unknown setting %s" % (p, ", ".join(unknown)),
                        hint="known settings: %s" % ", ".join(sorted(SETTINGS)))
    for k, v in data.items():
        if not isinstance(v, str):
            raise UserError("config file %s: %s must be a string in quotes" % (p, k), hint='e.g. %s = "…"' % k)
    return data


def locale_lang(env: Mapping[str, str] | None = None) -> str:
    """Bahasa Indonesia first: English only when the locale asks for it (LANG=en_US…)."""
    env = os.environ if env is None else env
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        v = env.get(var)
        if v:
            return "en" if v.lower().startswith("en") else "id"
    return "id"


def resolve(name: str, flag_value: Any = None, env: Mapping[str, str] | None = None,
            config: Mapping[str, Any] | None = None, config_file: str | os.PathLike[str] | None = None,
            registry_value: Any = None, builtin: Any = None) -> Value:
    """One setting by precedence: flag > environment > config file > registry > built-in."""
    flag, var, reg = SETTINGS[name]
    env = os.environ if env is None else env
    if flag_value is not None:
        return Value(flag_value, flag)
    if env.get(var) is not None:
        return Value(env[var], "$" + var)
    if config and config.get(name) is not None:
        return Value(config[name], "%s (setting %s)" % (config_file or "the config file", name))
    if registry_value is not None:
        return Value(registry_value, "the registry (%s)" % reg)
    return Value(builtin, "the default")


def check_lang(v: Value) -> str:
    if v.value not in LANGS:
        raise UserError("%s %r: the language must be id or en" % (v.source, v.value),
                        hint="id = Bahasa Indonesia, en = English")
    return v.value


def check_broker_url(v: Value, what: str = "broker URL") -> str:
    """A broker URL as the radio's schema takes it (mqtt:// or mqtts://, a host, a port 1-65535)."""
    from .firmware import htconfig
    url = v.value
    if not url:
        raise UserError("no %s" % what, hint="pass --broker mqtt://host:1883, set $HTCTL_BROKER_URL, or put "
                                             'broker = "mqtt://host:1883" in %s' % config_path())
    why = htconfig.check("broker.url", url)
    if why:
        raise UserError("%s %r: %s" % (v.source, url, why.split(": ", 1)[-1]),
                        hint="write it as mqtt://host:1883 (or mqtts://host:8883 for TLS)")
    return url


def check_apn(v: Value) -> str | None:
    from .firmware import htconfig
    if v.value is None:
        return None
    why = htconfig.check("modem.apn", v.value)
    if why:
        raise UserError("%s %r: %s" % (v.source, v.value, why.split(": ", 1)[-1]),
                        hint="leave it out for Telkomsel's 'internet', or give the operator's APN")
    return v.value
