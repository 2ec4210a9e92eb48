"""Who a unit is: its holder (the official it is assigned to) and OPD, from the fleet registry
(htctl.registry), cached and re-read at most every ``refresh_s`` so a talker lookup never waits on sqlite."""
from __future__ import annotations

import logging
import os
import time
from typing import Any

from htctl import registry

log = logging.getLogger("htcc.desk")


class Directory:
    def __init__(self, registry_path: str | os.PathLike[str] | None, refresh_s: float = 30.0) -> None:
        self.path = registry_path
        self.refresh_s = refresh_s
        self._units: dict[str, dict[str, Any]] = {}
        self._at = -1e9

    def _load(self) -> None:
        self._at = time.monotonic()
        if not self.path or not os.path.exists(self.path):
            return
        try:
            conn = registry.connect(self.path, create=False)
            try:
                rows = registry.units(conn)
            finally:
                conn.close()
        except Exception as e:      # a locked or broken registry: keep the last good names
            log.warning("desk: registry not readable (%s); talker names from the last read", e)
            return
        self._units = {r["unit_id"]: {"holder": r.get("official") or r.get("callsign"),
                                      "opd": r.get("opd") or r.get("sim_opd"),
                                      "callsign": r.get("callsign")} for r in rows}

    def __call__(self, unit: str) -> dict[str, Any]:
        if time.monotonic() - self._at > self.refresh_s or (unit not in self._units
                                                            and time.monotonic() - self._at > 2.0):
            self._load()
        return dict(self._units.get(unit) or {})


def static(table: dict[str, dict[str, Any]]):
    """A directory from a plain mapping (tests, the demo before a registry exists)."""
    return lambda unit: dict(table.get(unit) or {})
