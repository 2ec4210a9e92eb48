"""Validation of the identifiers a radio unit is made of: ICCID, IMEI, MAC, MSISDN, and the SIM's expiry date and
monthly price. Shared by the inventory CSV import, provisioning and the acceptance bench; each ``norm_*`` returns
the canonical form or raises ``ValueError`` with a message a technician can act on.
"""
from __future__ import annotations

import datetime


def luhn_ok(digits: str) -> bool:
    """True if the last digit is the Luhn check digit of the others (ICCID, IMEI)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def norm_iccid(text: str) -> str:
    # Modems print a trailing 'F' filler on 19-digit ICCIDs (MODEMS.md); the card number is the digits.
    s = text.strip().upper().replace(" ", "")
    if s.endswith("F"):
        s = s[:-1]
    if not (s.isdigit() and 19 <= len(s) <= 20 and s.startswith("89")):
        raise ValueError("ICCID must be 19-20 digits starting 89 (ITU-T E.118), got %r" % text)
    if not luhn_ok(s):
        raise ValueError("ICCID %s fails its Luhn check digit (typo?)" % s)
    return s


def norm_imei(text: str) -> str:
    s = text.strip().replace(" ", "").replace("-", "")
    if not (s.isdigit() and len(s) == 15):
        raise ValueError("IMEI must be 15 digits, got %r" % text)
    if not luhn_ok(s):
        raise ValueError("IMEI %s fails its Luhn check digit (typo?)" % s)
    return s


def norm_mac(text: str) -> str:
    s = text.strip().lower().replace("-", ":")
    parts = s.split(":")
    if len(parts) != 6 or any(len(p) != 2 or any(c not in "0123456789abcdef" for c in p) for p in parts):
        raise ValueError("MAC must look like 24:6f:28:aa:bb:cc, got %r" % text)
    return s


def norm_msisdn(text: str) -> str:
    s = text.strip().replace(" ", "").replace("-", "")
    if s.startswith("08"):
        s = "+62" + s[1:]
    elif s.startswith("62"):
        s = "+" + s
    if not (s.startswith("+") and s[1:].isdigit() and 8 <= len(s) - 1 <= 15):
        raise ValueError("MSISDN must be a phone number like +628121234567 or 08121234567, got %r" % text)
    return s


def norm_date(text: str) -> str:
    """ISO ``YYYY-MM-DD``; ``DD/MM/YYYY`` is accepted too (how *888# and Indonesian spreadsheets write it)."""
    s = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.datetime.strptime(s, fmt).date().isoformat()
        except ValueError:
            pass
    raise ValueError("date must be YYYY-MM-DD (or DD/MM/YYYY), got %r" % text)


def norm_rupiah(text: str) -> int:
    """Whole rupiah. Accepts 55000, 55.000 and Rp55.000 (Indonesian thousands dots); refuses 55,5 and -1."""
    s = text.strip().replace(" ", "")
    if s[:2].lower() == "rp":
        s = s[2:].lstrip(".")
    if "." in s:
        groups = s.split(".")
        if not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
            raise ValueError("price %r: thousands dots must group by three (Rp55.000)" % text)
        s = "".join(groups)
    if not s.isdigit():
        raise ValueError("price must be whole rupiah like 55000 or Rp55.000, got %r" % text)
    v = int(s)
    if v > 100000000:
        raise ValueError("price %r is implausible for a monthly data plan" % text)
    return v
