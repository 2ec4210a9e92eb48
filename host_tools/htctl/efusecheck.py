"""Is a radio's ESP32 in the hardened profile (docs/PROVISION.md)? Reads the eFuse summary with espefuse (the
esptool package, already a dependency) and lists what is missing: flash encryption on in Release mode, its key
unreadable, the download-mode and JTAG paths that could read or change the flash closed.

Library code: returns data or raises :class:`~htctl.errors.DeviceError`; never prints.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from .errors import DeviceError

CHIPS = ("esp32", "esp32s3")


def _espefuse() -> list[str]:
    exe = os.path.join(os.path.dirname(sys.executable), "espefuse")
    return [exe] if os.path.exists(exe) else [sys.executable, "-m", "espefuse"]


def summary(chip: str = "esp32", port: str | None = None, virt_file: str | None = None) -> dict:
    """The eFuse summary as espefuse prints it with --format json (a real chip on ``port``, or a virtual one)."""
    cmd = _espefuse() + ["--chip", chip]
    cmd += ["--virt", "--path-efuse-file", virt_file] if virt_file else ["--port", port or ""]
    r = subprocess.run(cmd + ["summary", "--format", "json"], capture_output=True, text=True, timeout=120)
    text = r.stdout
    if r.returncode or "{" not in text:
        raise DeviceError("espefuse could not read the eFuses: %s" % (r.stderr.strip() or text.strip())[-300:],
                          hint="is the radio in download mode on %s?" % port)
    return json.loads(text[text.index("{"):])


def _v(s: dict, name: str):
    return s.get(name, {}).get("value")


def problems(s: dict, chip: str = "esp32") -> list[str]:
    """What keeps this chip from the hardened profile ([] = hardened)."""
    out = []
    if chip == "esp32":
        cnt = _v(s, "FLASH_CRYPT_CNT") or 0
        if bin(int(cnt)).count("1") % 2 == 0:
            out.append("flash encryption is off (FLASH_CRYPT_CNT %s has an even number of bits)" % cnt)
        if s.get("FLASH_CRYPT_CNT", {}).get("writeable", True):
            out.append("FLASH_CRYPT_CNT is not write-protected: Development mode, not Release")
        if _v(s, "FLASH_CRYPT_CONFIG") != 0xF:
            out.append("FLASH_CRYPT_CONFIG is %s, not 0xF" % _v(s, "FLASH_CRYPT_CONFIG"))
        if s.get("BLOCK1", {}).get("readable", True):
            out.append("the flash encryption key (BLOCK1) can be read back")
        closed = ("DISABLE_DL_ENCRYPT", "DISABLE_DL_DECRYPT", "DISABLE_DL_CACHE", "JTAG_DISABLE")
    elif chip == "esp32s3":
        cnt = _v(s, "SPI_BOOT_CRYPT_CNT")        # espefuse names it: "Disable" / "Enable" (or a number)
        on = cnt == "Enable" if isinstance(cnt, str) else bin(int(cnt or 0)).count("1") % 2 == 1
        if not on:
            out.append("flash encryption is off (SPI_BOOT_CRYPT_CNT %s)" % cnt)
        if s.get("SPI_BOOT_CRYPT_CNT", {}).get("writeable", True):
            out.append("SPI_BOOT_CRYPT_CNT is not write-protected: Development mode, not Release")
        purposes = [_v(s, "KEY_PURPOSE_%d" % i) for i in range(6)]
        if not any(p and "XTS_AES" in str(p) for p in purposes):
            out.append("no eFuse key block has an XTS_AES flash encryption purpose")
        closed = ("DIS_DOWNLOAD_MANUAL_ENCRYPT", "DIS_PAD_JTAG", "DIS_USB_JTAG", "DIS_DOWNLOAD_ICACHE",
                  "DIS_DOWNLOAD_DCACHE")
    else:
        raise DeviceError("chip %s has no hardened profile" % chip, hint="one of: %s" % ", ".join(CHIPS))
    out += ["%s is not set" % n for n in closed if not _v(s, n)]
    return out
