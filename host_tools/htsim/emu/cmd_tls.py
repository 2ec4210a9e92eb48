"""TLS commands of both families over :mod:`htsim.emu.tls` (real TLS with Python's ssl).

SIMCom A76xx / SIM7600 (A76XX AT Command Manual, SSL chapter): AT+CSSLCFG, AT+CCERTDOWN/CCERTLIST/CCERTDELE,
AT+CCHSET, AT+CCHSTART/CCHSTOP, AT+CCHSSLCFG, AT+CCHOPEN (-> +CCHOPEN: <s>,<err>), AT+CCHSEND ('>' prompt),
AT+CCHRECV (manual mode: OK, then +CCHRECV: DATA,<s>,<n> + bytes, then +CCHRECV: <s>,0), URCs
+CCHEVENT: <s>,RECV EVENT, +CCH_PEER_CLOSED: <s>, +CCHRECV: DATA,... (push mode), AT+CCHCLOSE (-> +CCHCLOSE).
Quectel EC200U / EG91 (SSL and FILE application notes): AT+QFUPL (CONNECT, bytes, +QFUPL: <size>,<sum>),
AT+QFLST/QFDEL, AT+QSSLCFG, AT+QSSLOPEN (-> +QSSLOPEN: <id>,<err>), AT+QSSLSEND ('> ' then SEND OK),
AT+QSSLRECV (+QSSLRECV: <n> + bytes), +QSSLURC: "recv"/"closed", AT+QSSLCLOSE, AT+QSSLSTATE.
The exact forms and what each error number means: docs/MODEM.md "TLS".
"""
import asyncio
import ssl

from .atparse import AtError
from .sockets import read_payload
from .tls import TLSLink, TLSSetupError, files, make_context, state

SIM_SESSIONS = 2
SIM_KEY = 100            # SIMCom sessions live in m.sockets at 100 + session (CIPOPEN owns 0..9)
Q_IDS = 12               # Quectel client ids share the 0..11 pool with QIOPEN
MAX_FILE = 10240
OPEN_TIMEOUT_S = 30.0    # wall seconds for TCP + handshake (loopback; the link model adds its delays)
# SIMCom <err>: 4 peer closed, 5 timeout, 14 connect socket error, 15 handshake error, 19 no certificate set
S_PEER, S_TIMEOUT, S_CONNECT, S_HANDSHAKE, S_NOCERT = 4, 5, 14, 15, 19
# Quectel: 552 invalid parameters, 561 PDP not active, 563 id in use, 566 connect (or handshake) failed
Q_PARAM, Q_PDP, Q_INUSE, Q_FAILED = 552, 561, 563, 566


def _crc(data):
    # the XOR-of-16-bit-words checksum +QFUPL prints
    s = 0
    for i in range(0, len(data), 2):
        s ^= (data[i] << 8) | (data[i + 1] if i + 1 < len(data) else 0)
    return s


async def _handshake(m, link, report, ok, err_connect, err_tls):
    st = state(m)
    try:
        await link.handshake(OPEN_TIMEOUT_S)
    except ssl.SSLError:
        st.last_error = link.why
        m.note("tls %s: handshake with %s:%s refused: %s" % (link.session, link.host, link.port, link.why))
        link.close(flush=False)
        if m.sockets.get(link.id) is link:
            del m.sockets[link.id]
        report(err_tls)
        return
    except (OSError, asyncio.TimeoutError) as e:
        st.last_error = link.why or str(e)
        m.note("tls %s: %s:%s failed: %s" % (link.session, link.host, link.port, st.last_error))
        link.close(flush=False)
        if m.sockets.get(link.id) is link:
            del m.sockets[link.id]
        report(err_connect)
        return
    m.note("tls %s: %s to %s:%s, %s" % (link.session, link.version, link.host, link.port, link.obj.cipher()[0]))
    report(ok)


# ---- SIMCom -------------------------------------------------------------------------------------------------
def csslcfg(m, c, r):
    st = state(m)
    if c.kind == "test":
        r.line('+CSSLCFG: "sslversion",(0-9),(0-4)')
        return
    if c.kind != "set":
        raise AtError()
    if len(c.args) == 1:          # AT+CSSLCFG=<ctx>: the context's settings
        i = c.int(0, lo=0, hi=9)
        x = st.context(i)
        r.line('+CSSLCFG: %d,%d,%d,0,0,0,%d,"%s","","","",0' % (i, x["sslversion"], x["auth"], x["sni"],
                                                                 x["cacert"] or ""))
        return
    what = (c.arg(0) or "").lower()
    i = c.int(1, lo=0, hi=9)
    x = st.context(i)
    if what == "sslversion":
        x["sslversion"] = c.int(2, lo=0, hi=4)
    elif what == "authmode":
        x["auth"] = c.int(2, lo=0, hi=3)
    elif what == "cacert":
        name = c.arg(2)
        if not name:
            raise AtError()
        x["cacert"] = name
    elif what == "enablesni":
        x["sni"] = c.int(2, lo=0, hi=1)
    elif what in ("ignorelocaltime", "negotiatetime", "ciphersuites", "clientcert", "clientkey", "password",
                  "ignorecertcn"):
        x[what] = c.arg(2)
    else:
        raise AtError()


async def ccertdown(m, c, r):
    if c.kind != "set":
        raise AtError()
    name = c.arg(0) or ""
    n = c.int(1, lo=1, hi=MAX_FILE)
    if not (name.endswith(".pem") or name.endswith(".der")) or len(name) > 112:
        raise AtError()
    data = await read_payload(m, r, n)
    if data is None:
        return
    files(m)[name] = data
    m.note("certificate %s stored (%d bytes)" % (name, len(data)))


def ccertlist(m, c, r):
    for name in sorted(files(m)):
        if not name.startswith("UFS:"):
            r.line('+CCERTLIST: "%s"' % name)


def ccertdele(m, c, r):
    name = c.arg(0) if c.kind == "set" else None
    if name not in files(m):
        raise AtError()
    del files(m)[name]


def cchset(m, c, r):
    st = state(m)
    if c.kind == "read":
        r.line("+CCHSET: %d,%d" % (st.report_send, st.recv_mode))
    elif c.kind == "set":
        st.report_send = c.int(0, lo=0, hi=1)
        st.recv_mode = c.int(1, default=0, lo=0, hi=1)


def cchstart(m, c, r):
    st = state(m)
    if st.started:
        raise AtError()

    async def start():
        try:
            await m.pdp_activate(1)
        except AtError:
            m.urc("+CCHSTART: 9")     # network error
            return
        st.started = True
        m.urc("+CCHSTART: 0")
    m.spawn(start())


def _sim_sessions(m):
    return {k - SIM_KEY: s for k, s in m.sockets.items() if isinstance(s, TLSLink) and k >= SIM_KEY}


def cchstop(m, c, r):
    st = state(m)
    if not st.started:
        raise AtError()
    for sid, s in _sim_sessions(m).items():
        s.close()
        m.sockets.pop(SIM_KEY + sid, None)
    st.started = False
    r.later("+CCHSTOP: 0")


def cchsslcfg(m, c, r):
    st = state(m)
    if c.kind == "read":
        for i in range(SIM_SESSIONS):
            r.line("+CCHSSLCFG: %d,%s" % (i, st.session_ctx.get(i, "")))
    elif c.kind == "set":
        st.session_ctx[c.int(0, lo=0, hi=SIM_SESSIONS - 1)] = c.int(1, lo=0, hi=9)


def _sim_plain(s):
    m = s.modem
    st = state(m)
    if st.recv_mode == 0:          # push: every chunk as +CCHRECV: DATA,<s>,<n> with the bytes
        data = s.take(len(s.rx))
        if data:
            m.urc("+CCHRECV: DATA,%d,%d" % (s.session, len(data)), data)
    elif not s.notified:
        s.notified = True
        m.urc("+CCHEVENT: %d,RECV EVENT" % s.session)


def _sim_closed(s):
    s.modem.urc("+CCH_PEER_CLOSED: %d" % s.session)


def cchopen(m, c, r):
    st = state(m)
    if c.kind == "read":
        for i in range(SIM_SESSIONS):
            s = m.sockets.get(SIM_KEY + i)
            if isinstance(s, TLSLink) and s.state == "open" and s.ready:
                r.line('+CCHOPEN: %d,"%s",%d,2,%d' % (i, s.host, s.port, 40000 + i))
            else:
                r.line('+CCHOPEN: %d,"",,,' % i)
        return
    if c.kind != "set":
        raise AtError()
    sid = c.int(0, lo=0, hi=SIM_SESSIONS - 1)
    host = c.arg(1)
    port = c.int(2, lo=1, hi=65535)
    kind = c.int(3, default=2, lo=1, hi=2)
    if not st.started or not host or kind != 2 or SIM_KEY + sid in m.sockets:
        raise AtError()            # plain TCP (type 1) through CCH is not emulated: sockets use CIPOPEN
    ctx_i = st.session_ctx.get(sid, 0)
    x = st.context(ctx_i)

    def report(err):
        m.urc("+CCHOPEN: %d,%d" % (sid, err))
    verify = x["auth"] in (1, 2)
    ca = files(m).get(x["cacert"]) if x["cacert"] else None
    try:
        ctx = make_context(x["sslversion"], verify, ca, bool(x["sni"]))
    except TLSSetupError as e:
        st.last_error = str(e)
        m.note("tls %d: %s" % (sid, e))
        r.later("+CCHOPEN: %d,%d" % (sid, S_NOCERT if verify and not ca else S_HANDSHAKE))
        return
    s = TLSLink(m, SIM_KEY + sid, sid, host, port, ctx, bool(x["sni"]), _sim_plain, _sim_closed)
    m.sockets[SIM_KEY + sid] = s
    m.spawn(_handshake(m, s, report, 0, S_CONNECT, S_HANDSHAKE))


def _sim_session(m, c):
    sid = c.int(0, lo=0, hi=SIM_SESSIONS - 1)
    s = m.sockets.get(SIM_KEY + sid)
    return sid, s if isinstance(s, TLSLink) else None


async def cchsend(m, c, r):
    if c.kind != "set":
        raise AtError()
    sid, s = _sim_session(m, c)
    n = c.int(1, lo=1, hi=m.d.max_send)
    if s is None or s.state != "open" or not s.ready:
        raise AtError()
    data = await read_payload(m, r, n)
    if data is None:
        return
    ok = s.send_plain(data)
    if state(m).report_send:
        r.later("+CCHSEND: %d,%d" % (sid, 0 if ok else 6))   # 6 transfer failed
    if not ok:
        raise AtError()


def cchrecv(m, c, r):
    st = state(m)
    if c.kind == "read":
        sess = _sim_sessions(m)
        lens = [len(sess[i].rx) if i in sess else 0 for i in range(SIM_SESSIONS)]
        r.line("+CCHRECV: LEN,%s" % ",".join(str(n) for n in lens))
        return
    if c.kind != "set" or st.recv_mode != 1:
        raise AtError()
    sid, s = _sim_session(m, c)
    want = c.int(1, default=1024, lo=0, hi=1500) or 1024
    if s is None:
        raise AtError()
    # manual mode: OK first, then the data and the closing line (A76xx manual's example)
    data = s.take(want)
    if data:
        r.later("+CCHRECV: DATA,%d,%d" % (sid, len(data)))
        r.after.append(data)
    r.later("+CCHRECV: %d,0" % sid)


def cchclose(m, c, r):
    if c.kind != "set":
        raise AtError()
    sid, s = _sim_session(m, c)
    if s is None:
        raise AtError()
    m.sockets.pop(SIM_KEY + sid, None)
    s.close()
    r.later("+CCHCLOSE: %d,0" % sid)


SIMCOM = {"+CSSLCFG": csslcfg, "+CCERTDOWN": ccertdown, "+CCERTLIST": ccertlist, "+CCERTDELE": ccertdele,
          "+CCHSET": cchset, "+CCHSTART": cchstart, "+CCHSTOP": cchstop, "+CCHSSLCFG": cchsslcfg,
          "+CCHOPEN": cchopen, "+CCHSEND": cchsend, "+CCHRECV": cchrecv, "+CCHCLOSE": cchclose}


# ---- Quectel ------------------------------------------------------------------------------------------------
def _ufs(name):
    name = name or ""
    return name if name.upper().startswith("UFS:") else "UFS:" + name


async def qfupl(m, c, r):
    if c.kind != "set":
        raise AtError()
    name = _ufs(c.arg(0))
    n = c.int(1, lo=1, hi=MAX_FILE)
    if name in files(m):
        raise AtError(cme=407)         # file already exists
    await r.prompt(b"\r\nCONNECT\r\n")
    data = await m.rxbuf.read_exact(n)
    files(m)[name] = data
    m.note("file %s stored (%d bytes)" % (name, len(data)))
    r.line("+QFUPL: %d,%x" % (len(data), _crc(data)))


def qflst(m, c, r):
    pat = c.arg(0) if c.kind == "set" else "*"
    names = [k for k in sorted(files(m)) if k.startswith("UFS:")]
    if pat not in (None, "*", "UFS:*"):
        names = [k for k in names if k == _ufs(pat)]
        if not names:
            raise AtError(cme=405)     # file not found
    for k in names:
        r.line('+QFLST: "%s",%d' % (k, len(files(m)[k])))


def qfdel(m, c, r):
    name = _ufs(c.arg(0) if c.kind == "set" else None)
    if name not in files(m):
        raise AtError(cme=405)
    del files(m)[name]


def qsslcfg(m, c, r):
    st = state(m)
    if c.kind != "set":
        raise AtError()
    what = (c.arg(0) or "").lower()
    i = c.int(1, lo=0, hi=5)
    x = st.context(i)
    key = {"sslversion": "sslversion", "seclevel": "auth", "cacert": "cacert", "sni": "sni",
           "ciphersuite": "ciphersuite"}.get(what, what)
    if len(c.args) == 2:            # query form
        v = x.get(key)
        r.line('+QSSLCFG: "%s",%d,%s' % (what, i, '"%s"' % v if isinstance(v, str) else v))
        return
    if what == "sslversion":
        x[key] = c.int(2, lo=0, hi=4)
    elif what == "seclevel":
        x[key] = c.int(2, lo=0, hi=2)
    elif what == "cacert":
        x[key] = _ufs(c.arg(2))
    elif what == "sni":
        x[key] = c.int(2, lo=0, hi=1)
    elif what == "ciphersuite":
        x[key] = c.arg(2)
    elif what in ("clientcert", "clientkey", "ignorelocaltime", "negotiatetime", "session", "dtls",
                  "checkhost", "closetimemode"):
        x[key] = c.arg(2)
    else:
        raise AtError()


def _q_plain(s):
    if not s.notified:
        s.notified = True
        s.modem.urc('+QSSLURC: "recv",%d' % s.id)


def _q_closed(s):
    s.modem.urc('+QSSLURC: "closed",%d' % s.id)


def qsslopen(m, c, r):
    st = state(m)
    if c.kind != "set":
        raise AtError()
    cid = c.int(0, lo=1, hi=16)
    ctx_i = c.int(1, lo=0, hi=5)
    cl = c.int(2, lo=0, hi=Q_IDS - 1)
    host = c.arg(3)
    port = c.int(4, lo=1, hi=65535)
    access = c.int(5, default=0, lo=0, hi=2)
    if access != 0:
        raise AtError()            # direct push / transparent not emulated for TLS: the firmware uses buffer mode

    def report(err):
        m.urc("+QSSLOPEN: %d,%d" % (cl, err))
    if cl in m.sockets:
        r.later("+QSSLOPEN: %d,%d" % (cl, Q_INUSE))
        return
    if not host:
        r.later("+QSSLOPEN: %d,%d" % (cl, Q_PARAM))
        return
    if cid not in m.pdp:
        m.later(0.2, report, Q_PDP)
        return
    x = st.context(ctx_i)
    verify = x["auth"] in (1, 2)
    try:
        ctx = make_context(x["sslversion"], verify, files(m).get(x["cacert"]) if x["cacert"] else None,
                           bool(x["sni"]))
    except TLSSetupError as e:
        st.last_error = str(e)
        m.note("tls %d: %s" % (cl, e))
        m.later(0.1, report, Q_FAILED)
        return
    s = TLSLink(m, cl, cl, host, port, ctx, bool(x["sni"]), _q_plain, _q_closed)
    s.cid = cid
    m.sockets[cl] = s
    m.spawn(_handshake(m, s, report, 0, Q_FAILED, Q_FAILED))


def _q_link(m, c):
    s = m.sockets.get(c.int(0, lo=0, hi=Q_IDS - 1))
    return s if isinstance(s, TLSLink) else None


async def qsslsend(m, c, r):
    if c.kind != "set":
        raise AtError()
    s = _q_link(m, c)
    if s is None:
        raise AtError()
    if len(c.args) > 1 and c.int(1) == 0:
        r.line("+QSSLSEND: %d,%d,%d" % (s.plain_tx, s.plain_tx, 0))
        return
    n = c.int(1, lo=1, hi=m.d.max_send)
    if s.state != "open" or not s.ready:
        raise AtError()
    data = await read_payload(m, r, n)
    if data is None:
        return
    return "SEND OK" if s.send_plain(data) else "SEND FAIL"


def qsslrecv(m, c, r):
    if c.kind != "set":
        raise AtError()
    s = _q_link(m, c)
    if s is None:
        raise AtError()
    want = c.int(1, default=1500, lo=0, hi=1500) or 1500
    data = s.take(want)
    r.line("+QSSLRECV: %d" % len(data))
    if data:
        r.raw(data + b"\r\n")


def qsslclose(m, c, r):
    if c.kind != "set":
        raise AtError()
    s = _q_link(m, c)
    if s is not None:
        m.sockets.pop(s.id, None)
        s.close()


def qsslstate(m, c, r):
    only = c.int(0, lo=0, hi=Q_IDS - 1) if c.kind == "set" else None
    for k in sorted(m.sockets):
        s = m.sockets[k]
        if not isinstance(s, TLSLink) or (only is not None and k != only):
            continue
        st = 2 if s.state == "open" and s.ready else 1 if s.state in ("open", "opening") else 4
        r.line('+QSSLSTATE: %d,"SSLClient","%s",%d,%d,%d,%d,0,0,"uart1",%d'
               % (k, s.host, s.port, 40000 + k, st, s.cid, 1))


QUECTEL = {"+QFUPL": qfupl, "+QFLST": qflst, "+QFDEL": qfdel, "+QSSLCFG": qsslcfg, "+QSSLOPEN": qsslopen,
           "+QSSLSEND": qsslsend, "+QSSLRECV": qsslrecv, "+QSSLCLOSE": qsslclose, "+QSSLSTATE": qsslstate}


def commands(family):
    return SIMCOM if family == "simcom" else QUECTEL
