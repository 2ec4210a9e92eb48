# Parsers for 3GPP TS 27.007 response lines shared by every dialect. Each returns None (or a
# neutral value) on anything it does not understand: modem lines arrive truncated and garbled,
# and a parser that raises would take the radio down with it.
from ht.modem import reg as R


# CMEE=2 gives text instead of numbers; callers branch on the number, so map the common ones.
_CME_TEXT = {
    "sim not inserted": 10, "sim pin required": 11, "sim puk required": 12, "sim failure": 13,
    "sim busy": 14, "sim wrong": 15, "incorrect password": 16, "no network service": 30,
    "network timeout": 31, "operation not allowed": 3, "operation not supported": 4,
}


class ModemError(Exception):
    # code: CME/CMS number (-1 for a bare ERROR or unknown text); text: what the modem said.
    def __init__(self, code, text=""):
        super().__init__(code, text)
        self.code = code
        self.text = text


def parse_error(line):
    # "+CME ERROR: 10" / "+CME ERROR: SIM not inserted" / "ERROR" / "SEND FAIL" -> ModemError
    i = line.find(":")
    if i < 0:
        return ModemError(-1, line)
    text = line[i + 1:].strip()
    try:
        return ModemError(int(text), text)
    except ValueError:
        return ModemError(_CME_TEXT.get(text.lower(), -1), text)


def text(b):
    # Lines are ASCII in practice; garbage must never raise (MicroPython has no errors="replace").
    try:
        return b.decode()
    except Exception:
        return bytes([c if 32 <= c < 127 else 63 for c in b]).decode()


def fields(line):
    # "+X: 1,\"a,b\",3" -> ["1", "\"a,b\"", "3"] (quotes kept so callers can tell forms apart)
    i = line.find(":")
    s = line[i + 1:] if i >= 0 else line
    out = []
    cur = ""
    q = False
    for c in s:
        if c == '"':
            q = not q
        if c == "," and not q:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
    out.append(cur.strip())
    return out


def unq(s):
    return s[1:-1] if len(s) >= 2 and s[0] == '"' and s[-1] == '"' else s.strip('"')


def num(s, default=None):
    try:
        return int(unq(s))
    except Exception:
        return default


def length(s, hi):
    # A byte count the modem announces (+QIRD: n, +CIPRXGET: 2,id,n,..): plain ASCII digits in
    # 0..hi, else None. int() alone takes "-12", "1_000" and non-ASCII digits; a negative or huge
    # count once walked the line reader backwards or grew the raw buffer without end (issue 11).
    s = unq(s)
    if not s or len(s) > 6:
        return None
    for c in s:
        if not "0" <= c <= "9":
            return None
    n = int(s)
    return n if n <= hi else None


# Registration lines live in ht/modem/reg.py; these names stay for the callers that know them.
def cereg_is_urc(line):
    return R.is_urc(line)


def cereg_stat(line, pending=False):
    # -> registration stat (0..11) of any +CREG/+CGREG/+CEREG/+C5GREG form, or None
    return R.stat(line, pending)


REG_HOME = R.HOME
REG_ROAMING = R.ROAMING
REG_DENIED = R.DENIED


def cpin_state(line):
    # "+CPIN: READY" / "SIM PIN" / "SIM PUK" / "NOT READY" / "SIM REMOVED" / "NOT INSERTED"
    # (some modules quote it: '+CPIN: "SIM PIN"'; ht/modem/sim.py says what each one means)
    i = line.find(":")
    return line[i + 1:].strip().strip('"').strip().upper() if i >= 0 else None


def csq_dbm(line):
    # +CSQ: <rssi>,<ber>; 99 = unknown
    v = num(fields(line)[0])
    if v is None or v == 99 or v < 0 or v > 31:
        return None
    return -113 + 2 * v


def cesq(line):
    # +CESQ: <rxlev>,<ber>,<rscp>,<ecno>,<rsrq>,<rsrp> (27.007 8.69): GSM, UMTS and LTE parts; only
    # the known ones come back (99/255 = not this RAT). Scales as ModemManager's
    # mm_3gpp_cesq_response_to_signal_info: rxlev n -> -111+n dBm, rscp n -> -121+n dBm,
    # ecno n -> -24.5+n/2 dB, rsrq n -> -20+n/2 dB, rsrp n -> -141+n dBm.
    f = fields(line)
    if len(f) < 6:
        return {}
    out = {}
    v = [num(x) for x in f[:6]]
    for key, i, hi, base, step in (("rssi", 0, 63, -111, 1), ("rscp", 2, 96, -121, 1),
                                   ("ecio", 3, 49, -24.5, 0.5), ("rsrq", 4, 34, -20, 0.5),
                                   ("rsrp", 5, 97, -141, 1)):
        if v[i] is not None and 0 <= v[i] <= hi:
            out[key] = base + v[i] * step
    if v[1] is not None and 0 <= v[1] <= 7:
        out["ber"] = v[1]
    return out


def ucs2(s):
    # "004D006F" -> "Mo" when a module answers in AT+CSCS="UCS2"; anything else comes back as is
    if not s or len(s) % 4 or s.isdigit() and len(s) < 8:
        return s
    try:
        out = "".join(chr(int(s[i:i + 4], 16)) for i in range(0, len(s), 4))
    except ValueError:
        return s
    for c in out:
        if ord(c) < 32:
            return s      # hex-looking plain text ("BEEF") is left alone
    return out


def cops_name(line):
    # +COPS: 0,0,"TELKOMSEL",7  (or 0,2,"51010",7; "+COPS: 0" when not registered)
    # Names arrive in the modem's character set: init sets AT+CSCS="IRA", but a module that refuses
    # or forgets it (after a reset) prints UCS2 hex, decoded here like ModemManager does.
    f = fields(line)
    return ucs2(unq(f[2])) if len(f) >= 3 and f[2] else None


def cgpaddr(line):
    # SIMCom prints the address bare, Quectel quotes it
    f = fields(line)
    if len(f) < 2:
        return None
    ip = unq(f[1])
    return ip if ip and ip.count(".") == 3 and ip != "0.0.0.0" else None


def cgdcont_apn(lines, cid=1):
    for line in lines:
        f = fields(line)
        if len(f) >= 3 and num(f[0]) == cid:
            return unq(f[2])
    return None


def apn_same(requested, existing):
    # ModemManager's mm_3gpp_cmp_apn_name: case does not matter, and a modem may report the APN the
    # network resolved, i.e. the requested one plus ".mncXXX.mccYYY.gprs" (3GPP TS 23.003 9.1)
    a = (requested or "").lower()
    b = (existing or "").lower()
    if a == b:
        return True
    if not a or not b.startswith(a + ".mnc"):
        return False
    t = b[len(a) + 4:]
    # t = "170.mcc310.gprs"
    return len(t) == 15 and t[:3].isdigit() and t[3:7] == ".mcc" and t[7:10].isdigit() \
        and t[10:] == ".gprs"


def _days(y, m, d):
    # days since 1970-01-01 (proleptic Gregorian; Howard Hinnant's days_from_civil)
    if m <= 2:
        y -= 1
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def clock_fields(line):
    # +CCLK: "yy/MM/dd,hh:mm:ss±zz" or the same without quotes (some builds; ModemManager's vectors);
    # also a zone after the quoted time, as Cinterion's +CTZU: "yy/MM/dd,hh:mm:ss",±zz[,dst] URC.
    # -> ((y, M, d, h, m, s) local, tz quarter hours) or None. The zone is optional.
    try:
        s = line[line.index(":") + 1:].strip()
        after = ""
        q = s.find('"', 1) if s[:1] == '"' else -1
        if q > 0:
            s, after = s[1:q], s[q + 1:].lstrip(",").split(",")[0].strip()
        s = s.strip('"')
        date, tm = s.split(",")
        y, mo, d = [int(x) for x in date.split("/")]
        sign = 1
        k = tm.find("+")
        if k < 0:
            k = tm.find("-")
            sign = -1
        tz = sign * int(tm[k + 1:]) if k > 0 else 0
        hh, mm, ss = [int(x) for x in (tm[:k] if k > 0 else tm).split(":")]
        if after and k <= 0:
            tz = (-1 if after[0] == "-" else 1) * int(after.lstrip("+-"))
    except Exception:
        return None
    y += (2000 if y < 70 else 1900) if y < 100 else 0
    if not (1 <= mo <= 12 and 1 <= d <= 31 and hh < 24 and mm < 60 and ss < 61 and -96 <= tz <= 96):
        return None
    return (y, mo, d, hh, mm, ss), tz


def cclk(line):
    # -> (unix_utc_seconds, tz_quarters, (y, M, d, h, m, s) local) or None for an unsynced clock
    t = clock_fields(line)
    if t is None:
        return None
    (y, mo, d, hh, mm, ss), tz = t
    # unsynced modems report 1980 or 2004; anything before this code existed is not real time
    if y < 2024:
        return None
    local = _days(y, mo, d) * 86400 + hh * 3600 + mm * 60 + ss
    return local - tz * 900, tz, (y, mo, d, hh, mm, ss)


def tenths(v, lo):
    # SIM7600 +CPSI reports tenths of dB (-848 = -84.8 dBm); A7670 builds vary: a value below
    # the physical range must be tenths.
    if v is None:
        return None
    return v / 10 if v < lo else v


def bars(rsrp=None, rssi=None):
    # 0..5 from RSRP (LTE planning thresholds) or, lacking it, from RSSI
    if rsrp is not None:
        for i, t in enumerate((-85, -95, -105, -115, -125)):
            if rsrp >= t:
                return 5 - i
        return 0
    if rssi is not None:
        for i, t in enumerate((-65, -75, -85, -95, -105)):
            if rssi >= t:
                return 5 - i
    return 0
