"""Serial ports a radio may be on (``htctl ports``, ``--port auto``), like ``mpremote devs`` and esptool.

Library code: returns data or raises; never prints.
"""
from __future__ import annotations

from typing import Any

from .errors import DeviceError, UserError

# USB-serial bridges on ESP32 boards (LilyGO uses CH9102/CH340, DevKitC CP2102) and Espressif's own USB.
KNOWN_VIDS = {0x10C4: "Silicon Labs CP210x", 0x1A86: "WCH CH34x/CH910x", 0x0403: "FTDI", 0x303A: "Espressif USB"}


def list_ports() -> list[dict[str, Any]]:
    """Every serial port with a USB id, radios' bridges first: [{"port", "vid", "pid", "serial", "what", "likely"}]."""
    from serial.tools import list_ports as lp
    rows = []
    for p in lp.comports():
        if p.vid is None:
            continue   # ttyS* with nothing behind them
        rows.append({"port": p.device, "vid": "%04x" % p.vid, "pid": "%04x" % (p.pid or 0),
                     "serial": p.serial_number, "what": p.description or KNOWN_VIDS.get(p.vid, ""),
                     "likely": p.vid in KNOWN_VIDS})
    rows.sort(key=lambda r: (not r["likely"], r["port"]))
    return rows


def auto_port(ports: list[dict[str, Any]] | None = None) -> str:
    """The one port a radio is on. DeviceError if none, UserError listing them if several."""
    ports = list_ports() if ports is None else ports
    likely = [p for p in ports if p["likely"]] or ports
    if not likely:
        raise DeviceError("--port auto: no radio found on USB",
                          hint="plug the radio in with a data cable (not a charge-only one); `htctl ports` lists "
                               "what is connected")
    if len(likely) > 1:
        raise UserError("--port auto: %d radios connected (%s)" % (len(likely), ", ".join(p["port"] for p in likely)),
                        hint="name one with -p/--port, e.g. -p %s" % likely[0]["port"])
    return likely[0]["port"]
