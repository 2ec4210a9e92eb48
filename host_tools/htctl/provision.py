"""Provisioning (``htctl provision``): give one radio its unit's config from the fleet registry, safely.

Order of work, chosen so that a mistake never leaves the registry and the radio disagreeing silently:

1. the unit's registry row (NotFoundError if unknown);
2. ICCID and IMEI read back from the radio's own modem (``ht.selftest.net`` on the device through the raw
   REPL: the firmware's modem layer, the real AT dialect) and compared with the registry. A different SIM
   or modem is an alarm (ConflictError, exit 5) recorded in the audit log; nothing is written to the radio
   or the registry. ``accept_swap=True`` records the new SIM/modem deliberately (a new assignment row, the
   old one kept as history) with its own audit entry;
3. the config, built with the firmware's own schema (``ht.config``), with fresh broker credentials for the
   unit: the plaintext password goes only into the radio's config.json, the registry keeps a Mosquitto
   ``$7$`` hash (what the broker's password file needs); the fleet's id and voice key from the registry
   (``registry.fleet_config``: the key is made on the first provisioning and shared by every radio);
4. written atomically (``config.json.tmp`` + ``os.rename`` on the device) and read back by sha256;
5. only then the credential hash and an audit entry (who, when, config hash; never a secret).

Library API::

    report = provision(transport, conn, "u07", broker_url="mqtt://broker.kota.go.id:1883", who="budi",
                       apn=None, sim_pin=None, accept_swap=False, env=None)
"""
from __future__ import annotations

import getpass
import hashlib
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import registry
from .acceptance import selftest_net_code
from .errors import ConflictError, DeviceError, UserError
from .firmware import htconfig

if TYPE_CHECKING:
    from .transport import DeviceTransport

CONFIG_PATH = "config.json"
CA_PATH = "ca.pem"              # the fleet CA the radio's modem verifies the broker with (ht.modem.tls.CA_FILE)
LKG_PATH = "config.lkg.json"    # the radio's last known good copy (ht.bootfiles): a bad write later falls back to it
PASSWORD_BYTES = 18          # 24 URL-safe characters: 144 bits, fits the schema's 64-character limit


def who_default() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return os.environ.get("USER") or "unknown"


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def build_config(unit_row: Mapping[str, Any], broker_url: str, password: str, apn: str | None = None,
                 sim_pin: str | None = None, extra: Mapping[str, Any] | None = None) -> htconfig.Config:
    """The unit's ht.config.Config: registry values + broker + modem settings. ValueError names the field."""
    values = registry.config_values(unit_row)
    values.update({"broker.url": broker_url, "broker.user": unit_row["unit_id"], "broker.password": password})
    if apn is not None:
        values["modem.apn"] = apn
    if sim_pin:
        values["modem.sim_pin"] = sim_pin
    values.update(extra or {})
    cfg = htconfig.Config()
    for key in ("talkgroups.list",):   # the scan list refers to it: set it first
        if key in values:
            cfg.set(key, values.pop(key))
    for key, value in values.items():
        cfg.set(key, value)
    return cfg


# Which option a person changes when a config field is refused (the rest comes from the registry).
FIELD_SOURCE = {"broker.url": "--broker", "modem.apn": "--apn", "modem.sim_pin": "$HTCTL_SIM_PIN"}


def config_error(unit_id: str, e: ValueError) -> UserError:
    field = str(e).split(":", 1)[0]
    where = FIELD_SOURCE.get(field)
    if where:
        return UserError("%s: %s" % (where, e), hint="fix %s and run provision again" % where)
    return UserError("unit %s cannot become a radio config: %s" % (unit_id, e),
                     hint="fix the unit's row in the inventory CSV and run `htctl fleet import` again")


def preflight(conn: sqlite3.Connection, unit_id: str, broker_url: str, apn: str | None = None,
              sim_pin: str | None = None) -> dict[str, Any]:
    """Everything that can be checked without the radio: the unit exists and becomes a valid config.
    Returns the unit's row; NotFoundError / UserError naming the option or the registry field."""
    row = registry.unit(conn, unit_id)
    try:
        build_config(row, broker_url, "x" * 24, apn, sim_pin, extra={"fleet.id": registry.fleet_id(conn)})
    except ValueError as e:
        raise config_error(unit_id, e) from None
    return row


def read_identity(transport: DeviceTransport, env: Mapping[str, Any] | None = None, timeout: float = 180
                  ) -> dict[str, Any]:
    """{"iccid": digits or None, "imei": ..., "model": ..., "modem_ok": bool, "detail": str} from the radio."""
    env = dict(env or {})
    env.setdefault("cold", False)          # a modem that already answers needs no power cycle to be read
    code = selftest_net_code(["modem", "iccid"], env)
    res = {r["check"]: r for r in transport.exec_json(code, timeout=timeout)}
    modem, ic = res.get("modem", {}), res.get("iccid", {})
    imei = (ic.get("extra") or {}).get("imei")
    det = ic.get("detail") or ""
    iccid = ic.get("value") if ic.get("ok") else None
    return {"modem_ok": bool(modem.get("ok")), "model": modem.get("value"), "iccid": iccid, "imei": imei,
            "detail": modem.get("detail") if not modem.get("ok") else det}


def check_identity(conn: sqlite3.Connection, row: dict[str, Any], ident: Mapping[str, Any], who: str,
                   accept_swap: bool) -> tuple[dict[str, Any], dict[str, tuple[Any, Any]]]:
    """Compare the radio's SIM/modem with the registry. Returns the (possibly new) unit row and changes."""
    if not ident["modem_ok"]:
        raise DeviceError("the radio's modem did not answer: %s" % ident["detail"],
                          hint="check the battery and the modem power, then run provision again "
                               "(`htctl bench` shows more)")
    if not ident["iccid"]:
        raise DeviceError("no SIM readable in the radio (%s)" % ident["detail"],
                          hint="insert the unit's SIM%s and run provision again" % (
                              " (ICCID %s)" % row["iccid"] if row.get("iccid") else ""))
    try:
        iccid = registry.norm_iccid(ident["iccid"])
        imei = registry.norm_imei(ident["imei"]) if ident.get("imei") else None
    except ValueError as e:
        # A misread card (dirty contacts) or a broken modem answer: never compare or record garbage.
        raise DeviceError("the radio's modem reports an invalid identity: %s" % e,
                          hint="reseat the SIM and run provision again; if it repeats, the SIM or modem is "
                               "faulty (`htctl bench` shows more)") from None
    changes = {}
    if row.get("iccid") != iccid:
        changes["iccid"] = (row.get("iccid"), iccid)
    if imei and row.get("imei") and row["imei"] != imei:
        changes["imei"] = (row["imei"], imei)
    elif imei and not row.get("imei"):
        changes["imei"] = (None, imei)
    swap = {k: v for k, v in changes.items() if v[0] is not None}
    if swap and not accept_swap:
        registry.audit(conn, who, "provision_refused", row["unit_id"], row.get("serial"),
                       detail={"reason": "identity mismatch",
                               "registry": {k: v[0] for k, v in swap.items()},
                               "device": {k: v[1] for k, v in swap.items()}})
        what = "; ".join("%s: registry %s, radio %s" % (k.upper(), v[0], v[1]) for k, v in sorted(swap.items()))
        kind = "SIM swap" if "iccid" in swap else "modem swap"
        raise ConflictError("%s on unit %s (%s); nothing was changed" % (kind, row["unit_id"], what),
                            hint="put back the registered SIM/modem, or if the swap is deliberate run again "
                                 "with --accept-swap to record it (an audit entry names you)")
    if changes:
        new_iccid = changes.get("iccid", (None, row.get("iccid")))[1]
        new_imei = changes.get("imei", (None, row.get("imei")))[1]
        with conn:
            if registry.get_sim(conn, new_iccid) is None:
                registry.upsert_sim(conn, new_iccid, operator=row.get("operator"), opd=row.get("sim_opd"))
            if new_imei:
                registry.upsert_modem(conn, new_imei, row.get("modem_model"))
            registry.assign(conn, row["unit_id"], row.get("serial"), new_imei, new_iccid, row.get("official_id"),
                            row.get("callsign"), row.get("talkgroups") or [], row.get("priority") or "normal")
        registry.audit(conn, who, "swap_accepted" if swap else "identity_recorded", row["unit_id"],
                       row.get("serial"), detail={k: {"registry": v[0], "device": v[1]} for k, v in changes.items()})
        row = registry.unit(conn, row["unit_id"])
    return row, changes


def check_ca(pem: bytes | None, broker_url: str) -> bytes | None:
    """The fleet CA as PEM bytes, checked: a CA certificate that parses. mqtts:// without one is refused (the
    radio would have nothing to verify the broker with, and never falls back to plain TCP)."""
    if pem is None:
        if broker_url.startswith("mqtts://"):
            raise UserError("%s needs the fleet CA on the radio" % broker_url,
                            hint="give --ca ca.pem (the CA that signed the broker's certificate)")
        return None
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError as e:
        raise UserError("--ca: not a PEM certificate (%s)" % str(e).split("\n")[0],
                        hint="give the CA's PEM file (-----BEGIN CERTIFICATE-----)") from None
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise UserError("--ca: %s is not a CA certificate" % cert.subject.rfc4514_string(),
                        hint="give the CA that signed the broker's certificate, not the broker's own")
    return pem


def provision(transport: DeviceTransport, conn: sqlite3.Connection, unit_id: str, broker_url: str,
              who: str | None = None, apn: str | None = None, sim_pin: str | None = None, accept_swap: bool = False,
              env: Mapping[str, Any] | None = None, password: str | None = None,
              progress: Callable[[int, int], None] | None = None, ca: bytes | None = None) -> dict[str, Any]:
    """ca: the fleet CA (PEM) for a TLS broker: written to the radio as ca.pem (read back by sha256) and
    broker.tls set in its config."""
    who = who or who_default()
    ca = check_ca(ca, broker_url)
    preflight(conn, unit_id, broker_url, apn, sim_pin)
    row = registry.unit(conn, unit_id)
    step = progress or (lambda *a, **k: None)
    step(1, 4)
    ident = read_identity(transport, env)
    row, changes = check_identity(conn, row, ident, who, accept_swap)
    step(2, 4)
    password = password or new_password()
    extra = dict(registry.fleet_config(conn))
    if ca is not None:
        extra["broker.tls"] = True
    try:
        cfg = build_config(row, broker_url, password, apn, sim_pin, extra=extra)
    except ValueError as e:
        raise config_error(unit_id, e) from None
    text = htconfig.dump(cfg).encode()
    want = hashlib.sha256(text).hexdigest()
    if ca is not None:
        # the CA first: a radio told to use TLS without its CA would refuse to connect
        transport.write_file(CA_PATH, ca)
        if transport.sha256([CA_PATH]).get(CA_PATH) != hashlib.sha256(ca).hexdigest():
            raise DeviceError("ca.pem on the radio does not match what was written",
                              hint="the flash may be full or failing: run `htctl provision` again")
    transport.write_file(CONFIG_PATH, text)
    transport.write_file(LKG_PATH, text)
    got = transport.sha256([CONFIG_PATH, CONFIG_PATH + ".tmp", LKG_PATH])
    if got.get(CONFIG_PATH) != want or got.get(LKG_PATH) != want:
        raise DeviceError("config.json on the radio does not match what was written (sha256 %s, expected %s)"
                          % (got.get(CONFIG_PATH), want),
                          hint="the flash may be full or failing: run `htctl provision` again; if it repeats, "
                               "reflash the radio")
    if got.get(CONFIG_PATH + ".tmp") is not None:
        raise DeviceError("a stale config.json.tmp is left on the radio", hint="run provision again")
    step(3, 4)
    chash = htconfig.config_hash(cfg)
    registry.set_credentials(conn, unit_id, row["unit_id"], password)
    registry.audit(conn, who, "provision", unit_id, row.get("serial"), chash,
                   detail={"broker_url": broker_url, "iccid": row.get("iccid"), "imei": row.get("imei"),
                           "changes": sorted(changes), "config": cfg.masked()})
    registry.set_setting(conn, "broker.url", broker_url)   # the default for the next provisioning and report
    step(4, 4)
    return {"unit": unit_id, "serial": row.get("serial"), "iccid": row.get("iccid"), "imei": row.get("imei"),
            "ca": hashlib.sha256(ca).hexdigest() if ca is not None else None,
            "modem": ident.get("model"), "config_hash": chash, "sha256": want, "broker_user": row["unit_id"],
            "recorded": {k: v[1] for k, v in changes.items()}, "who": who, "config": cfg.masked()}


# ---- many radios at once (a box of radios on a USB hub) ------------------------------------------------
def provision_many(jobs: Iterable[tuple[str, str]], registry_path: str | os.PathLike[str], broker_url: str,
                   who: str | None = None, workers: int = 2,
                   open_transport: Callable[[str], DeviceTransport] | None = None, **kw: Any) -> list[dict[str, Any]]:
    """jobs: [(port, unit_id)]. Each radio in its own thread with its own transport and registry connection
    (sqlite connections are per thread). Returns [{"port", "unit", "ok", "report"|"error", "hint"}]."""
    from concurrent.futures import ThreadPoolExecutor
    from .transport import DeviceTransport
    from .errors import HTError

    opener = open_transport or DeviceTransport

    def one(job):
        port, unit_id = job
        try:
            conn = registry.connect(registry_path)
            conn.execute("PRAGMA busy_timeout = 30000")
            try:
                with opener(port) as tr:
                    return {"port": port, "unit": unit_id, "ok": True,
                            "report": provision(tr, conn, unit_id, broker_url, who=who, **kw)}
            finally:
                conn.close()
        except HTError as e:
            return {"port": port, "unit": unit_id, "ok": False, "error": e.message, "hint": e.hint,
                    "exit_code": e.exit_code}

    with ThreadPoolExecutor(max_workers=max(1, workers)) as ex:
        return list(ex.map(one, jobs))


# ---- broker artefacts for the whole fleet: htctl.brokerfiles (re-exported for older callers) -----------
from .brokerfiles import broker_artifacts  # noqa: E402,F401


def set_console_user(conn: sqlite3.Connection, name: str, password: str, who: str | None = None) -> None:
    """A Command Center console account (broker login only; not a radio)."""
    if not password or len(password) < 12:
        raise UserError("console password must be at least 12 characters",
                        hint="set $HTCTL_BROKER_PASSWORD to a long random password")
    registry.set_credentials(conn, name, name, password)
    registry.audit(conn, who or who_default(), "console_user", None, None, None, detail={"user": name})
