# SIM facts read over AT: the +CPIN code (3GPP TS 27.007 8.3) and what the radio can do about it,
# and the ICCID (ITU-T E.118) as modems print it. Pure functions: ht/modem/lifecycle.py asks the
# modem, ht/modem/supervisor.py turns the verdict into the link state.

# code -> (verdict, lock). Verdicts: READY, SIM_PIN (we may enter the configured PIN), SIM_PUK,
# LOCKED (a personalisation lock on the device: only whoever locked it can clear it), NO_SIM.
# SIM PIN2/PUK2 guard only PIN2 features (fixed dialling); ModemManager also counts the modem as
# unlocked there, and data works, so the radio goes on.
_CODES = {
    "READY": ("READY", None),
    "SIM PIN": ("SIM_PIN", "sim-pin"), "SIM PUK": ("SIM_PUK", "sim-puk"),
    "SIM PIN2": ("READY", "sim-pin2"), "SIM PUK2": ("READY", "sim-puk2"),
    "NOT READY": ("NO_SIM", None), "SIM REMOVED": ("NO_SIM", None),
    "NOT INSERTED": ("NO_SIM", None),
}
for _k in ("PH-SIM PIN", "PH-FSIM PIN", "PH-FSIM PUK", "PH-NET PIN", "PH-NET PUK", "PH-NETSUB PIN",
           "PH-NETSUB PUK", "PH-SP PIN", "PH-SP PUK", "PH-CORP PIN", "PH-CORP PUK"):
    _CODES[_k] = ("LOCKED", _k.lower().replace(" ", "-"))

# Field text for a lock, (English, Bahasa Indonesia); keyed by the lock without "-pin"/"-puk"
LOCK_TEXT = {
    "ph-sim": ("Modem locked to another SIM: needs unlock code",
               "Modem terkunci ke SIM lain: perlu kode buka"),
    "ph-fsim": ("Modem locked to its first SIM: needs unlock code",
                "Modem terkunci ke SIM pertama: perlu kode buka"),
    "ph-net": ("SIM locked to another network: modem needs unlock code",
               "SIM terkunci ke jaringan lain: modem perlu kode buka"),
    "ph-netsub": ("Modem locked to a network subset: needs unlock code",
                  "Modem terkunci ke subset jaringan: perlu kode buka"),
    "ph-sp": ("Modem locked to a service provider: needs unlock code",
              "Modem terkunci ke penyedia layanan: perlu kode buka"),
    "ph-corp": ("Modem locked to a company: needs unlock code",
                "Modem terkunci ke perusahaan: perlu kode buka"),
}


def cpin_code(line):
    # '+CPIN: READY' / '+CPIN: "SIM PIN"' / '+CPIN:PH-NET PIN ' -> "READY" / "SIM PIN" / ...
    i = line.find(":")
    if i < 0:
        return None
    return line[i + 1:].strip().strip('"').strip().upper()


def verdict(code):
    """-> (verdict, lock, reason or None). Anything unknown is BUSY: the card is still coming up."""
    v, lock = _CODES.get(code or "", ("BUSY", None))
    reason = None
    if v == "LOCKED":
        reason = LOCK_TEXT.get(lock[:lock.rfind("-")])
    return v, lock, reason


def luhn_ok(digits):
    s = 0
    for i, c in enumerate(reversed(digits)):
        d = ord(c) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        s += d
    return s % 10 == 0


def _swap(s):
    # "984402..." -> "894420...": some modems print the EF_ICCID bytes as stored (BCD, low nibble
    # first), which swaps every digit pair
    out = ""
    for i in range(0, len(s) - 1, 2):
        out += s[i + 1] + s[i]
    return out + (s[-1] if len(s) % 2 else "")


def iccid(raw):
    """'+ICCID: 8962...F' / '"9844..."' / bare -> (iccid, None) or (None, error text). Handles the F
    filler, nibble-swapped output and hex digits in the account part (ModemManager's
    mm_3gpp_parse_iccid accepts those); the issuer prefix must be 89 (telecom, E.118)."""
    s = (raw or "").strip()
    if s[:1] == "+" and ":" in s:
        s = s[s.find(":") + 1:].strip()
    s = s.strip('"').strip().upper()
    if not (19 <= len(s) <= 20):
        return None, "ICCID length %d (want 19-20)" % len(s)
    for c in s:
        if c not in "0123456789ABCDEF":
            return None, "ICCID has a non-hex character"
    if s[:2] == "98":
        s = _swap(s)
    if s[-1:] == "F":
        s = s[:-1]
    if s[:2] != "89":
        return None, "ICCID issuer %s is not telecom (89)" % s[:2]
    return s, None


def iccid_check(value):
    # a Luhn check digit is only defined for all-decimal ICCIDs: -> None when fine, else why not
    if value and value.isdigit() and not luhn_ok(value):
        return "ICCID check digit wrong"
    return None
