"""Inventory CSV import: one row per radio unit (board + modem + SIM + official), all or nothing.

Every row is validated first (ICCID/IMEI Luhn, dates, prices, known board, no duplicates in the file) and
every problem is reported with its line number; only a clean file is applied, inside one transaction, so a
bad file changes nothing. The format is documented in docs/inventory-example.csv and docs/CLI.md.
"""
from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Collection
from typing import Any

from . import registry
from .errors import UserError
from .firmware import htconfig

REQUIRED = ("unit_id", "serial", "board", "iccid", "official", "opd")
OPTIONAL = ("mac", "imei", "modem_model", "msisdn", "operator", "plan", "quota_mb", "expiry", "price_rp",
            "sim_opd", "position", "callsign", "talkgroups", "priority")
DEFAULT_PRICE_RP = 55000
DEFAULT_OPERATOR = "Telkomsel"
UNIQUE = ("unit_id", "serial", "mac", "imei", "iccid", "msisdn")


class ImportFailed(UserError):
    """Raised with every problem found; ``problems`` is a list of (line, column, message)."""

    def __init__(self, source: str, problems: list[tuple[int, str, str]]) -> None:
        lines = sorted({p[0] for p in problems})
        super().__init__("%s: %d problem(s) on %d line(s); nothing was imported" % (source, len(problems), len(lines)),
                         hint="fix the lines listed above and import again (see docs/inventory-example.csv)")
        self.problems = problems


def _sniff_delimiter(first_line):
    # Spreadsheets in an Indonesian locale save CSV with ';' because ',' is the decimal separator.
    return ";" if first_line.count(";") > first_line.count(",") else ","


def _field(row, name):
    v = row.get(name)
    return v.strip() if isinstance(v, str) else ""


def parse_row(row: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Validate one CSV row (dict) -> (clean dict, [(column, message)])."""
    out, problems = {}, []

    def take(col, fn, required=False):
        text = _field(row, col)
        if not text:
            if required:
                problems.append((col, "missing"))
            out[col] = None
            return
        try:
            out[col] = fn(text)
        except ValueError as exc:
            problems.append((col, str(exc)))

    def cfg_check(key):
        def fn(text):
            why = htconfig.check(key, text)
            if why:
                raise ValueError(why.split(": ", 1)[1])
            return text
        return fn

    def plain(text):
        return text

    def quota(text):
        if not text.isdigit():
            raise ValueError("quota_mb must be whole megabytes, got %r" % text)
        return int(text)

    def talkgroups(text):
        tgs = [t.strip() for t in text.replace(",", ";").split(";") if t.strip()]
        why = htconfig.check("talkgroups.list", tgs)
        if why:
            raise ValueError(why.split(": ", 1)[1])
        return tgs

    take("unit_id", cfg_check("unit.id"), True)
    take("serial", plain, True)
    take("board", plain, True)
    take("iccid", registry.norm_iccid, True)
    take("official", plain, True)
    take("opd", plain, True)
    take("mac", registry.norm_mac)
    take("imei", registry.norm_imei)
    take("modem_model", plain)
    take("msisdn", registry.norm_msisdn)
    take("operator", plain)
    take("plan", plain)
    take("quota_mb", quota)
    take("expiry", registry.norm_date)
    take("price_rp", registry.norm_rupiah)
    take("sim_opd", plain)
    take("position", plain)
    take("callsign", cfg_check("unit.callsign"))
    take("talkgroups", talkgroups)
    take("priority", cfg_check("unit.priority"))
    out["operator"] = out.get("operator") or DEFAULT_OPERATOR
    if out.get("price_rp") is None:
        out["price_rp"] = DEFAULT_PRICE_RP
    out["sim_opd"] = out.get("sim_opd") or out.get("opd")
    out["talkgroups"] = out.get("talkgroups") or []
    out["priority"] = out.get("priority") or "normal"
    return out, problems


def read_rows(text: str, known_boards: Collection[str] | None = None
              ) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, str, str]]]:
    """Parse and validate a whole file -> ([(line, clean row)], [(line, column, message)])."""
    text = text.lstrip("\ufeff")  # Excel's UTF-8 BOM
    first = text.split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text), delimiter=_sniff_delimiter(first))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    problems = []
    if not header:
        return [], [(1, "", "the file is empty; expected a header line with %s" % ", ".join(REQUIRED))]
    for col in REQUIRED:
        if col not in header:
            problems.append((1, col, "required column missing from the header"))
    for col in header:
        if col not in REQUIRED + OPTIONAL:
            problems.append((1, col, "unknown column (known: %s)" % ", ".join(REQUIRED + OPTIONAL)))
    if problems:
        return [], problems
    rows, seen = [], {}
    for row in reader:
        line = reader.line_num
        if None in row:
            problems.append((line, "", "more fields than the header has (a stray delimiter?)"))
            continue
        if any(v is None for v in row.values()):
            problems.append((line, "", "fewer fields than the header has"))
            continue
        clean, bad = parse_row(row)
        problems.extend((line, col, msg) for col, msg in bad)
        if known_boards is not None and clean.get("board") and clean["board"] not in known_boards:
            problems.append((line, "board", "unknown board %r (known: %s)" % (clean["board"],
                                                                               ", ".join(sorted(known_boards)))))
        for col in UNIQUE:
            v = clean.get(col)
            if v is None:
                continue
            if (col, v) in seen:
                problems.append((line, col, "%s also on line %d" % (v, seen[(col, v)])))
            else:
                seen[(col, v)] = line
        rows.append((line, clean))
    if not rows and not problems:
        problems.append((1, "", "no rows after the header"))
    return rows, problems


def apply_rows(conn: sqlite3.Connection, rows: list[tuple[int, dict[str, Any]]], at: str | None = None
               ) -> dict[str, Any]:
    """Write validated rows in ONE transaction; any conflict rolls everything back (ImportFailed)."""
    stats = {"rows": len(rows), "new_units": 0, "changed_units": 0, "unchanged_units": 0}
    problems = []
    try:
        with conn:
            for line, r in rows:
                # Rows apply in file order: to move a SIM or board between units, list the unit giving it
                # up first. Anything still held by another unit is a conflict, never a silent move.
                try:
                    registry.upsert_device(conn, r["serial"], r["board"], r["mac"])
                    if r["imei"]:
                        registry.upsert_modem(conn, r["imei"], r["modem_model"])
                    registry.upsert_sim(conn, r["iccid"], r["msisdn"], r["operator"], r["plan"], r["quota_mb"],
                                        r["expiry"], r["price_rp"], r["sim_opd"])
                    oid = registry.upsert_official(conn, r["official"], r["opd"], r["position"])
                    before = registry.current_assignment(conn, r["unit_id"])
                    after = registry.assign(conn, r["unit_id"], r["serial"], r["imei"], r["iccid"], oid,
                                            r["callsign"], r["talkgroups"], r["priority"], at=at)
                except registry.ConflictError as exc:
                    problems.append((line, "", exc.message))
                    continue
                except sqlite3.IntegrityError as exc:  # e.g. a MAC or MSISDN already on another record
                    problems.append((line, "", "conflicts with the registry: %s" % exc))
                    continue
                if before is None:
                    stats["new_units"] += 1
                elif before["id"] == after["id"]:
                    stats["unchanged_units"] += 1
                else:
                    stats["changed_units"] += 1
            if problems:
                raise _Rollback()
    except _Rollback:
        raise ImportFailed("inventory", problems)
    return stats


class _Rollback(Exception):
    pass


def import_text(conn: sqlite3.Connection, text: str, source: str = "inventory.csv",
                known_boards: Collection[str] | None = None, dry_run: bool = False, at: str | None = None
                ) -> dict[str, Any]:
    """Validate and import CSV text. Returns stats; raises ImportFailed listing every bad line."""
    rows, problems = read_rows(text, known_boards)
    if problems:
        raise ImportFailed(source, problems)
    if dry_run:
        return {"rows": len(rows), "new_units": 0, "changed_units": 0, "unchanged_units": 0, "dry_run": True}
    try:
        return apply_rows(conn, rows, at=at)
    except ImportFailed as exc:
        raise ImportFailed(source, exc.problems)
