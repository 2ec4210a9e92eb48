# USSD balance query (*888# on Telkomsel) and a lenient parser for its free-form Indonesian reply.
# Reply texts change often and differ by region, so nothing here may raise: garbage in gives None
# fields. MicroPython's re has no {m,n}, no flags and no finditer, hence the hand-rolled loops.
import asyncio
import re
from ht.modem import parse as P
from ht.modem.at import ModemError

_RP = re.compile(r"rp[.\s]?([\d.,]+)")
_QUOTA = re.compile(r"([\d.,]+)\s*(gb|mb)")
_DATE = re.compile(r"(s\.?d\.?|sampai|hingga|berlaku|aktif)[^\d]*(\d\d?)[/.-](\d\d?)[/.-](\d+)")


def parse_cusd(text):
    # '+CUSD: <m>,"<text>",<dcs>' (text may span lines) -> (m, text, dcs) or None
    try:
        i = text.index(":")
        body = text[i + 1:].strip()
        q1 = body.find('"')
        if q1 < 0:
            return P.num(body.split(",")[0]), "", None
        q2 = body.rfind('"')
        m = P.num(body[:q1].strip().rstrip(","))
        msg = body[q1 + 1:q2] if q2 > q1 else body[q1 + 1:]
        tail = body[q2 + 1:].strip().lstrip(",") if q2 > q1 else ""
        dcs = P.num(tail) if tail else None
        return m, _ucs2(msg, dcs), dcs
    except Exception:
        return None


def _ucs2(msg, dcs):
    # DCS 72 (UCS2) arrives as hex: "0053006900730061" -> "Sisa"
    if dcs != 72 or len(msg) % 4 or not msg:
        return msg
    try:
        return "".join(chr(int(msg[i:i + 4], 16)) for i in range(0, len(msg), 4))
    except Exception:
        return msg


def _amount(s):
    # "12.500" -> 12500 ; "12.500,00" -> 12500 ; "55,000" -> 55000
    s = s.strip(".,")
    if "," in s and len(s) - s.rfind(",") == 3 and "." in s:
        s = s[:s.rfind(",")]
    try:
        return int(s.replace(".", "").replace(",", ""))
    except ValueError:
        return None


def _quota_num(s, unit):
    # Indonesian: "1.500" = 1500 and "2,5" = 2.5; English "2.5" = 2.5. A dot followed by exactly
    # three digits is a thousands separator for MB and, above 1000, for GB too.
    s = s.strip(".,")
    try:
        if "," in s and "." in s:
            return float(s.replace(".", "").replace(",", "."))
        if "," in s:
            return float(s.replace(",", "."))
        if "." in s and len(s) - s.rfind(".") == 4 and (unit == "mb" or s.count(".") > 1):
            return float(s.replace(".", ""))
        return float(s)
    except ValueError:
        return None


def _all(rx, text, ngroups):
    out = []
    while text:
        m = rx.search(text)
        if not m:
            break
        g = [m.group(i + 1) for i in range(ngroups)]
        out.append(g)
        k = text.find(m.group(0))
        text = text[k + max(1, len(m.group(0))):]
    return out


def parse_balance(text):
    """-> {"balance_rp", "quota_mb" (sum of every quota mentioned), "quotas_mb" (each),
    "active_until" (y, m, d)}; None for anything not found. Never raises."""
    out = {"balance_rp": None, "quota_mb": None, "quotas_mb": [], "active_until": None}
    try:
        t = str(text).lower()
        m = _RP.search(t)
        if m:
            out["balance_rp"] = _amount(m.group(1))
        for num, unit in _all(_QUOTA, t, 2):
            v = _quota_num(num, unit)
            if v is not None:
                out["quotas_mb"].append(v * 1024 if unit == "gb" else v)
        if out["quotas_mb"]:
            out["quota_mb"] = sum(out["quotas_mb"])
        m = _DATE.search(t)
        if m:
            d, mo, y = int(m.group(2)), int(m.group(3)), int(m.group(4))
            y += 2000 if y < 100 else 0
            if 1 <= d <= 31 and 1 <= mo <= 12 and 2000 <= y <= 2200:
                out["active_until"] = (y, mo, d)
    except Exception:
        pass
    return out


# +CUSD <m> (27.007 7.15) -> what the radio reports
_STATUS = ("answer", "menu", "released", "other_client", "unsupported", "timeout")


def status(m):
    return _STATUS[m] if m is not None and 0 <= m < len(_STATUS) else "unknown"


async def session(modem, code="*888#", timeout_ms=30000):
    """Run one USSD request -> {"status", "text", "notices"}. A network may first send a release
    (+CUSD: 2) or "other client responded" (+CUSD: 3) notice and the answer only after it: those
    are kept in "notices" and the wait goes on for the answer (+CUSD: 0/1 with text). status:
    answer, menu, released (network ended it without an answer), other_client, unsupported,
    timeout (the network said so, or nothing came), refused (the modem said ERROR)."""
    at = modem.at
    notices = []
    best = [None]

    def take(line):
        # called by the reader for each +CUSD: True ends the wait
        r = parse_cusd(line)
        if r is None:
            return False
        m, text = r[0], r[1]
        if m in (0, 1) and text:
            best[0] = (status(m), text)
            return True
        notices.append(status(m))
        if m == 2 and text and best[0] is None:
            best[0] = ("released", text)     # some networks put the answer in the release
        return m in (4, 5)

    w = at.waiter("+CUSD:", take)
    st = "timeout"
    try:
        await at.cmd('AT+CUSD=1,"%s",15' % code, timeout_ms=10000)
        await at.wait(w, timeout_ms)
    except ModemError:
        st = "refused"
    except (asyncio.TimeoutError, OSError):
        pass
    if w in at._waiters:
        at._waiters.remove(w)
    if best[0] is not None:
        st, text = best[0]
    else:
        text = ""
        for n in ("unsupported", "timeout", "other_client", "released"):
            if n in notices:
                st = n
                break
    if st in ("menu", "timeout", "refused"):
        try:
            await at.cmd("AT+CUSD=2", timeout_ms=3000)   # leave no session (or menu) open
        except Exception:
            pass
    return {"status": st, "text": text, "notices": notices}


async def query(modem, code="*888#", timeout_ms=30000):
    """Ask the network; -> parse_balance(reply) plus "text" and "status", or None when no text came
    (LTE-only cells often refuse USSD). modem.info["ussd"] keeps the last session's status."""
    s = await session(modem, code, timeout_ms)
    modem.info["ussd"] = s["status"]
    if not s["text"] or s["status"] in ("unsupported", "timeout", "refused"):
        return None
    out = parse_balance(s["text"])
    out["text"] = s["text"]
    out["status"] = s["status"]
    return out
