# Scores our AT parsers against the ModemManager vectors (tests/core/modem/vectors_modemmanager.py):
# per family, how many vectors were tried and which ones came out wrong. Used by
# tests/core/modem/test_at_vectors.py (all must be right, on CPython and MicroPython), by the session
# summary in tests/conftest.py and by bench/bench_at_vectors.py (make bench).
import vectors_modemmanager as V


def _first_line(reply):
    for ln in reply.replace("\r", "\n").split("\n"):
        if ln.strip():
            return ln.strip()
    return ""


class API:
    # The parser entry points the vectors exercise; a test may hand in another set (the bench
    # measured the parsers before this layer existed through the same door).
    def __init__(self):
        from ht.modem import parse as P, reg as R, sim as S, ussd as U
        self.reg = lambda line, pending: _reg_view(R, R.parse(line, pending))
        self.cpin = lambda line: S.verdict(S.cpin_code(line))[:2]
        self.iccid = lambda raw: S.iccid(raw)[0]
        self.apn = P.apn_same
        self.cclk = P.clock_fields
        self.cesq = P.cesq
        self.cops = P.cops_name
        self.cusd = lambda line: _cusd_view(U, U.parse_cusd(line))


def _reg_view(R, r):
    if r is None:
        return None
    return (r["kind"], r["stat"], r["lac"] or 0, r["ci"] or 0, R.act_name(r["act"]))


def _cusd_view(U, r):
    return None if r is None else (U.status(r[0]), r[1])


def _check(out, name, tried, got, want):
    tried[0] += 1
    if got != want:
        out.append("%s: got %r, want %r" % (name, got, want))


def score(api=None):
    """-> {family: (tried, [what was wrong, ...])}"""
    api = api or API()
    res = {}

    def run(family, cases):
        tried = [0]
        wrong = []
        for name, fn, want in cases:
            try:
                got = fn()
            except Exception as e:
                got = "raised %r" % (e,)
            _check(wrong, name, tried, got, want)
        res[family] = (tried[0], wrong)

    run("reg", [(v[0], (lambda v=v: api.reg(_first_line(v[0]), v[1])), v[2:]) for v in V.REG])
    cp = []
    for code, verdict, lock in V.CPIN:
        for line in ("+CPIN: " + code, '+CPIN: "%s"' % code):
            cp.append((line, (lambda line=line: api.cpin(line)), (verdict, lock)))
    run("cpin", cp)
    run("iccid", [(v[0], (lambda v=v: api.iccid(v[0])), v[1]) for v in V.ICCID])
    run("apn", [("%r~%r" % (v[0], v[1]), (lambda v=v: api.apn(v[1], v[0])), v[2]) for v in V.APN])
    cc = []
    for line, local, off in V.CCLK:
        want = None if local is None else (local, off)
        cc.append((line, (lambda line=line: _clock_view(api.cclk(line))), want))
    run("cclk", cc)
    run("cesq", [(v[0], (lambda v=v: api.cesq(v[0])), v[1]) for v in V.CESQ])
    run("cops", [(v[0], (lambda v=v: api.cops(v[0])), v[1]) for v in V.COPS])
    run("cusd", [(v[0], (lambda v=v: api.cusd(v[0])), (v[1], v[2])) for v in V.CUSD])
    return res


def _clock_view(t):
    # (local tuple, tz quarter hours) -> (local tuple, minutes east of UTC)
    return None if t is None else (tuple(t[0]), t[1] * 15)


def metrics(res):
    # the bench / summary form: at_peer_vectors, at_peer_wrong and the same per family
    out = {"at_peer_vectors": 0, "at_peer_wrong": 0}
    for fam in sorted(res):
        n, wrong = res[fam]
        out["at_peer_vectors_" + fam] = n
        out["at_peer_wrong_" + fam] = len(wrong)
        out["at_peer_vectors"] += n
        out["at_peer_wrong"] += len(wrong)
    return out


def summary(res):
    parts = ["%s %d/%d" % (f, res[f][0] - len(res[f][1]), res[f][0]) for f in sorted(res)]
    m = metrics(res)
    return "ModemManager AT vectors right: %d/%d (%s)" % (
        m["at_peer_vectors"] - m["at_peer_wrong"], m["at_peer_vectors"], ", ".join(parts))
