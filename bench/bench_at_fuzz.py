"""AT engine fuzz: the real line engine (ht/modem/lines.py through ht/modem/at.py's AT) with the real
raw-length parsers of ht/modem/sockets.py and ht/modem/tls.py (+CCHRECV continuing after OK, +QSSLRECV, the
QFUPL CONNECT prompt) and every 27.007 parser on every line it delivers.

Inputs are lines: known URCs and responses, the same with lengths replaced by negative, huge and
non-numeric counts, truncations, random bytes and overlong garbage, cut into chunks at random points.
Every 40 chunks a new command starts (idle, +QIRD, +CIPRXGET, +QSSLRECV, +CCHRECV, a prompt wait), as the
engine's _run does.
A crash is an exception out of feed() or a parser, or a reader error the engine swallowed; a hang is a
feed() that ran past its step budget (one pass per byte) or left the reader in a state that cannot make
progress (negative raw count); a buffer outgrowing its cap counts as a crash.
"""
import json
import random
import time

from ht.modem import dialects, parse as P, reg as R, sim as SIMP, ussd as U
from ht.modem import sockets as S, tls as T
from ht.modem.at import AT
from ht.modem.lines import RAW_MAX, _LINE_MAX

UNITS = {"at_fuzz_inputs": "lines", "at_fuzz_hangs": "count", "at_fuzz_crashes": "count",
         "at_fuzz_lines_per_s": "lines/s", "at_fuzz_badlen": "count"}
GOALS = {"at_fuzz_inputs": ">= 1e6", "at_fuzz_hangs": "0", "at_fuzz_crashes": "0"}

_LINES = [b'+CEREG: 1,"1A2B","01A2B3C4",7', b"+CEREG: 0,1", b"+CPIN: READY", b"+CPIN: SIM REMOVED", b"RING",
          b"+CIPRXGET: 1,0", b"+CIPRXGET: 2,0,5,0", b'+QIURC: "recv",0', b'+QIURC: "closed",1', b"+IPCLOSE: 0,1",
          b"OK", b"ERROR", b"+CME ERROR: SIM busy", b"+CSQ: 20,99", b'+CUSD: 0,"Sisa pulsa', b"Rp.1.000",
          b'",15', b"> ", b"*ATREADY: 1", b"+QIRD: 7", b"+CGEV: NW PDN DEACT 1", b"SEND OK",
          b'+CCLK: "26/12/07,10:11:12+28"', b"+CESQ: 99,99,255,255,20,50", b'+COPS: 0,0,"TELKOMSEL",7',
          b"+ICCID: 8962100000000000001F", b"+CIPSEND: 0,5,5", b"+CMGS: 12", b"+QIRD: 0",
          # the modem TLS client (ht/modem/tls.py)
          b"+CCHRECV: DATA,0,5", b"+CCHRECV: 0,0", b"+CCHEVENT: 0,RECV EVENT", b"+CCH_PEER_CLOSED: 1",
          b"+CCHSEND: 0,6", b'+QSSLURC: "recv",4', b'+QSSLURC: "closed",5', b"+QSSLRECV: 7", b"CONNECT",
          b"+CCHOPEN: 0,15", b"+QSSLOPEN: 4,566"]
_BAD_LEN = [b"-12", b"-1", b"-99999", b"99999999", b"1601", b"abc", b"", b"1_0", b"1e3", b"\xd9\xa3"]
_CMDS = [(None, None, None, False), ("AT+QIRD=0,1500", "+QIRD:", S._raw_quectel, False),
         ("AT+CIPRXGET=2,0,1460", "+CIPRXGET:", S._raw_simcom, False), ("AT+CSQ", "+CSQ:", None, False),
         ("AT+CIPSEND=0,5", None, None, True), ("AT+CIMI", "", None, False),
         ("AT+QSSLRECV=4,1500", "+QSSLRECV:", T._raw_qssl, False),
         ("AT+CCHRECV=0,1024", "+CCHRECV:", T._raw_cch, False, T._cch_end),
         ('AT+QFUPL="UFS:a.pem",100,60', "+QFUPL:", None, True)]


def _line(rng):
    k = rng.random()
    if k < 0.45:
        return rng.choice(_LINES)
    if k < 0.6:
        bad = rng.choice(_BAD_LEN)
        return rng.choice((b"+QIRD: " + bad, b"+CIPRXGET: 2,0," + bad + b",0", b"+CIPRXGET: 2,0,5," + bad,
                           b"+CIPSEND: 0," + bad + b",5", b"+CMGR: " + bad, b"+CCHRECV: DATA,0," + bad,
                           b"+QSSLRECV: " + bad))
    if k < 0.75:
        return bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 40)))
    if k < 0.85:
        u = rng.choice(_LINES)
        return u[:rng.randrange(0, len(u) + 1)]
    if k < 0.86:
        return b"x" * rng.randrange(500, 3000)
    return bytes(rng.choice(b"\x00\r\n\xff+:,\"-0123456789ABC") for _ in range(rng.randrange(1, 25)))


def _parse_all(d, line):
    # every parser the firmware runs on modem lines; none may raise
    R.parse(line)
    P.cpin_state(line)
    P.csq_dbm(line)
    P.cesq(line)
    P.cops_name(line)
    P.cgpaddr(line)
    P.cclk(line)
    P.parse_error(line)
    SIMP.cpin_code(line)
    d.parse_cell(line)
    if line.startswith("+CUSD"):
        m = U.parse_cusd(line)
        if m and m[1]:
            U.parse_balance(m[1])


class _Null:
    async def write(self, b):
        pass


def fuzz(n=1000000, seed=11, dialect="EC200U"):
    rng = random.Random(seed)
    d = dialects.get(dialect)
    net = S.make(None, d)
    tls_nets = (T.make(None, dialects.get("A7670")), T.make(None, dialects.get("EC200U")))
    crashes = [0]

    def on_urc(line):
        net.on_urc(line)
        for t in tls_nets:
            t.on_urc(line)
        try:
            _parse_all(d, line)
        except Exception:
            crashes[0] += 1
    at = AT(_Null(), d, on_urc)
    hangs = 0
    t0 = time.perf_counter()
    done = 0
    while done < n:
        batch = min(20000, n - done)
        blob = b"".join(_line(rng) + rng.choice((b"\r\n", b"\n", b"\r", b"")) for _ in range(batch))
        done += batch
        cuts = sorted(rng.randrange(len(blob)) for _ in range(batch // 3))
        for i, (a, b) in enumerate(zip([0] + cuts, cuts + [len(blob)])):
            if i % 40 == 0:
                c = rng.choice(_CMDS)
                if c[0] is None:
                    at._idle()
                else:
                    at.begin(c[0], c[1], c[2], c[3], c[4] if len(c) > 4 else None)
            before = at.hangs
            try:
                at.feed(blob[a:b])
                for line in at._resp:
                    _parse_all(d, line)
                at._resp = []
            except Exception:
                crashes[0] += 1
            if at.hangs != before or at._raw_need < 0:
                hangs += 1
                at._raw_need = 0
            if at._ln > _LINE_MAX or (at.raw is not None and len(at.raw) > RAW_MAX):
                crashes[0] += 1
                at._idle()
    dt = time.perf_counter() - t0
    return {"at_fuzz_inputs": n, "at_fuzz_hangs": hangs, "at_fuzz_crashes": crashes[0] + at.errors,
            "at_fuzz_badlen": at.badlen, "at_fuzz_lines_per_s": round(n / dt)}


def run():
    return fuzz()


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
