# Network registration lines of 3GPP TS 27.007 (10.1.19 +CREG, 10.1.20 +CGREG, 10.1.22 +CEREG,
# 10.1.23 +C5GREG), every form ModemManager's test vectors show real modems printing:
#   read (answer to AT+CxREG?):  +CxREG: <n>,<stat>[,<lac/tac>,<ci>[,<AcT>[,<rac>|<cause_type>,<cause>...]]]
#   URC:                         +CxREG: <stat>[,<lac/tac>,<ci>[,<AcT>[,...]]]
# LAC/TAC and CI are hex, quoted or not, with or without leading zeros; fields may carry spaces.
# Which form a line is cannot be told by quotes (many modules never quote): it is told by the
# field count and by whether the line answers a pending AT+CxREG? query, as ModemManager does.

KINDS = ("CREG", "CGREG", "CEREG", "C5GREG")

# <stat>: 0 not registered/not searching, 1 home, 2 searching, 3 denied, 4 unknown, 5 roaming,
# 6/7 home/roaming SMS only, 8 emergency only, 9/10 home/roaming CSFB not preferred, 11 RLOS
HOME = 1
SEARCHING = 2
DENIED = 3
ROAMING = 5
HOME_STATS = (1, 6, 9)
ROAMING_STATS = (5, 7, 10)

# <AcT> -> technology name (27.007 7.3; ModemManager's access-technology mapping)
_ACT = ("GSM", "GSM", "UMTS", "EDGE", "HSDPA", "HSUPA", "HSPA", "LTE", "GSM", "LTE", "LTE",
        "5GNR", "5GNR", "LTE")


def act_name(act):
    return _ACT[act] if act is not None and 0 <= act < len(_ACT) else None


def _split(line):
    # "+CEREG: 2,1, 1F00" -> ("CEREG", ["2", "1", "1F00"]); quotes kept so callers can see them
    i = line.find(":")
    if i < 2 or line[0] != "+":
        return None, []
    kind = line[1:i].strip()
    out = []
    cur = ""
    q = False
    for c in line[i + 1:]:
        if c == '"':
            q = not q
        if c == "," and not q:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
    out.append(cur.strip())
    return kind, out


def _dec(s):
    s = s.strip('"').strip()
    return int(s) if s and s.isdigit() else None


def _hex(s):
    # leading hex digits only: a Gobi prints "  0 5" for LAC 0 (ModemManager reads 0 as well)
    s = s.strip('"').strip()
    n = 0
    k = 0
    for c in s:
        v = "0123456789abcdef".find(c.lower())
        if v < 0:
            break
        n = n * 16 + v
        k += 1
    return n if k else None


def _stat_like(s):
    # an unquoted 1..3 digit number no bigger than 11 ("1", "001"): a <stat>, never a LAC/TAC,
    # which modules print as 4 hex digits when they leave out the quotes
    return s[:1] != '"' and 0 < len(s) <= 3 and s.isdigit() and int(s) <= 11


def form(line, pending=False):
    # -> "read", "urc" or None. pending: an AT+CxREG? query is waiting for its answer.
    kind, f = _split(line)
    if kind not in KINDS or not f or f[0] == "":
        return None
    n = len(f)
    if n == 1 or n == 3:
        return "urc"              # <stat> / <stat>,<lac>,<ci>: the read form has no such count
    if n == 2:
        return "read"             # <n>,<stat>
    if f[1][:1] == '"' or not _stat_like(f[1]):
        return "urc"              # second field is a LAC/TAC
    if n == 4 and f[3][:1] != '"' and f[2][:1] != '"' and _dec(f[3]) is not None \
            and _dec(f[3]) <= 13 and not pending:
        # "1,2,0010,7" fits both <n>,<stat>,<lac>,<ci> and <stat>,<lac>,<ci>,<AcT>: an answer
        # to our query is the read form, a line nobody asked for is the URC form
        return "urc"
    return "read"


def parse(line, pending=False):
    """-> {"kind", "form", "n", "stat", "lac", "ci", "act", "rac", "cause"} (missing = None) or None
    for a line that is not a registration line. Never raises."""
    try:
        fm = form(line, pending)
        if fm is None:
            return None
        kind, f = _split(line)
        out = {"kind": kind, "form": fm, "n": None, "stat": None, "lac": None, "ci": None,
               "act": None, "rac": None, "cause": None}
        if fm == "read":
            out["n"] = _dec(f[0])
            f = f[1:]
        out["stat"] = _dec(f[0])
        loc = f[1:]
        if len(loc) == 4 and loc[1][:1] != '"' and len(loc[1]) <= 2 and len(loc[2]) > 2 \
                and _dec(loc[3]) is not None:
            # Novatel E362 puts an extra field between TAC and CI: <tac>,<x>,<ci>,<AcT>
            loc = [loc[0], loc[2], loc[3]]
        if len(loc) >= 2:
            out["lac"] = _hex(loc[0])
            out["ci"] = _hex(loc[1])
        if len(loc) >= 3:
            out["act"] = _dec(loc[2])
        if len(loc) >= 4:
            if kind == "CGREG" or kind == "CREG":
                out["rac"] = _hex(loc[3])
            elif kind == "CEREG" and len(loc) >= 5:
                out["cause"] = _dec(loc[4])      # <cause_type>,<reject_cause>
        return out
    except Exception:
        return None


def stat(line, pending=False):
    r = parse(line, pending)
    return None if r is None else r["stat"]


def is_urc(line):
    # the engine asks this only while an AT+CxREG? query waits: the URC form is not its answer
    return form(line, True) == "urc"
