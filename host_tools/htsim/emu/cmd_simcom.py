"""SIMCom A76xx / SIM7600 TCP/IP: NETOPEN, CIPOPEN, CIPSEND ('>' prompt), CIPRXGET (manual read) or +IPD push,
CIPCLOSE, +IPCLOSE / +CIPEVENT URCs; plus the SIMCom-only status commands (CPSI, SPIC, CNMP)."""
from . import power
from .atparse import AtError
from .sockets import SocketLink, connect_and_report, read_payload

LINKS = 10
# +CIPOPEN / +CIPCLOSE result codes (SIMCom TCP/IP application note): 0 ok, 1 network failure,
# 2 network not opened, 3 wrong parameter, 4 operation not supported, 10 timeout
_E_NET, _E_NOTOPEN, _E_PARAM, _E_NOTSUP, _E_TIMEOUT = 1, 2, 3, 4, 10


def _link(c, i=0):
    return c.int(i, lo=0, hi=LINKS - 1)


async def netopen(m, c, r):
    if c.kind == "read":
        r.line("+NETOPEN: %d" % (1 if m.netopen else 0))
        return
    if c.kind != "exec":
        raise AtError()
    if m.netopen:
        raise AtError(info=["+IP ERROR: Network is already opened"])
    m.spawn(_netopen(m))


async def _netopen(m):
    await m.sleep(m.d.netopen_s)
    try:
        await m.pdp_activate(1)
    except AtError:
        m.urc("+NETOPEN: 1")
        return
    m.netopen = True
    m.urc("+NETOPEN: 0")


def netclose(m, c, r):
    if not m.netopen:
        raise AtError(info=["+NETCLOSE: 2"])
    _close_all(m, urc=False)
    m.netopen = False
    r.later("+NETCLOSE: 0")


def _close_all(m, urc):
    for link in list(m.sockets.values()):
        link.close("released", flush=not urc)
        m.sockets.pop(link.id, None)
        if urc:
            m.urc("+IPCLOSE: %d,2" % link.id)


def pdp_down(m, cid, by_network):
    """Called by the modem when a context goes down; SIMCom sockets ride context 1."""
    if cid != 1 or not m.netopen:
        return
    m.netopen = False
    if by_network:
        m.urc("+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY")
        for link in list(m.sockets.values()):
            link.close("closed", flush=False)
    else:
        _close_all(m, urc=False)


def cipopen(m, c, r):
    if c.kind == "read":
        for i in range(LINKS):
            s = m.sockets.get(i)
            if s is not None and s.state == "open":
                r.line('+CIPOPEN: %d,"TCP","%s",%d,-1' % (i, s.host, s.port))
            else:
                r.line("+CIPOPEN: %d" % i)
        return
    if c.kind == "test":
        r.line('+CIPOPEN: (0-9),("TCP","UDP")')
        return
    if c.kind != "set":
        raise AtError()
    link = _link(c)
    proto = (c.arg(1) or "").upper()
    host = c.arg(2)
    port = c.int(3, lo=1, hi=65535) if proto == "TCP" else None
    if not m.netopen:
        raise AtError(info=["+CIPOPEN: %d,%d" % (link, _E_NOTOPEN)])
    if proto != "TCP" or not host:
        raise AtError(info=["+CIPOPEN: %d,%d" % (link, _E_NOTSUP if proto == "UDP" else _E_PARAM)])
    old = m.sockets.get(link)
    if old is not None and old.state in ("open", "opening"):
        raise AtError(info=["+CIPOPEN: %d,%d" % (link, _E_NOTSUP)])
    if old is not None:
        old.close()
    s = SocketLink(m, link, host, port)
    s.on_data = _on_data
    s.on_close = _on_close
    m.sockets[link] = s
    m.spawn(connect_and_report(m, s, "+CIPOPEN", _E_NET))


def _on_data(s, seg):
    m = s.modem
    if m.rxget_mode:
        s.rx += seg
        if not s.notified:
            s.notified = True
            m.urc("+CIPRXGET: 1,%d" % s.id)
    else:
        s.read_total += len(seg)
        if m.cip_header == 1:     # AT+CIPCCFG=...,<HeaderType>=1: multi-client header names the link
            m.urc("+RECEIVE,%d,%d" % (s.id, len(seg)), seg)
        else:
            m.urc("+IPD%d" % len(seg), seg)


def _on_close(s):
    s.modem.urc("+IPCLOSE: %d,1" % s.id)       # 1 = closed by the remote side


async def cipsend(m, c, r):
    if c.kind == "test":
        r.line("+CIPSEND: (0-9),(1-%d)" % m.d.max_send)
        return
    if c.kind != "set":
        raise AtError()
    link = _link(c)
    s = m.sockets.get(link)
    if s is None or s.state != "open":
        raise AtError()
    n = c.arg(1)
    if n is not None:
        n = c.int(1, lo=1, hi=m.d.max_send)
    data = await read_payload(m, r, n)
    if data is None:
        return
    if not s.send(data):
        raise AtError(info=["+CIPERROR: 4"])
    r.later("+CIPSEND: %d,%d,%d" % (link, len(data), len(data)))


def ciprxget(m, c, r):
    if c.kind == "read":
        r.line("+CIPRXGET: %d" % m.rxget_mode)
        return
    if c.kind == "test":
        r.line("+CIPRXGET: (0-4),(0-9),(1-1500)")
        return
    if c.kind != "set":
        raise AtError()
    mode = c.int(0, lo=0, hi=4)
    if mode in (0, 1):
        m.rxget_mode = mode
        return
    link = _link(c, 1)
    s = m.sockets.get(link)
    if s is None:
        raise AtError()
    if mode == 4:
        r.line("+CIPRXGET: 4,%d,%d" % (link, len(s.rx)))
        return
    want = c.int(2, default=1500, lo=1, hi=1500)
    if mode == 3:
        data = s.take(min(want, 750))
        r.line("+CIPRXGET: 3,%d,%d,%d" % (link, len(data), len(s.rx)))
        r.line(data.hex().upper())
        return
    data = s.take(want)
    r.line("+CIPRXGET: 2,%d,%d,%d" % (link, len(data), len(s.rx)))
    r.raw(data)


def cipclose(m, c, r):
    if c.kind == "read":
        r.line("+CIPCLOSE: " + ",".join("1" if i in m.sockets else "0" for i in range(LINKS)))
        return
    if c.kind != "set":
        raise AtError()
    link = _link(c)
    s = m.sockets.pop(link, None)
    if s is None:
        raise AtError(info=["+CIPCLOSE: %d,%d" % (link, _E_NOTSUP)])
    s.close()
    r.later("+CIPCLOSE: %d,0" % link)


def ipaddr(m, c, r):
    if not m.netopen or 1 not in m.pdp:
        raise AtError(info=["+IP ERROR: Network not opened"])
    r.line("+IPADDR: %s" % m.pdp[1])


def cipmode(m, c, r):
    if c.kind == "set" and c.int(0, lo=0, hi=1):
        raise AtError()          # transparent mode is not emulated (and locks the AT channel anyway)
    if c.kind == "read":
        r.line("+CIPMODE: 0")


def cipccfg(m, c, r):
    # AT+CIPCCFG=<NmRetry>,<DelayTm>,<Ack>,<errMode>,<HeaderType>,<AsyncMode>,<TimeoutVal>; only HeaderType
    # changes what the host sees (push-mode receive header)
    if c.kind == "set":
        m.cip_header = c.int(4, default=m.cip_header, lo=0, hi=1)
    elif c.kind == "read":
        r.line("+CIPCCFG: 10,0,0,0,%d,0,75000" % m.cip_header)


def cpsi(m, c, r):
    if c.kind == "test":
        return
    if not m.registered():
        r.line("+CPSI: NO SERVICE,Online")
        return
    k = 10 if m.d.cpsi_tenths else 1
    r.line("+CPSI: LTE,Online,%s-%s,0x%s,%d,257,EUTRAN-BAND3,1300,5,5,%d,%d,%d,%d"
           % (m.plmn[:3], m.plmn[3:], m.tac, int(m.ci, 16), int(m.rsrq_db * k), int(m.rsrp_dbm * k),
              int(m.rssi_dbm() * k), int(m.sinr_db)))


def spic(m, c, r):
    if not m.sim.present:
        raise AtError(cme=10)
    r.line("+SPIC: %d,%d,3,10" % (m.sim.pin_retries, m.sim.puk_retries))


def cnmp(m, c, r):
    if c.kind == "set":
        mode = c.int(0)
        if mode not in (2, 13, 14, 38, 48, 51, 71):
            raise AtError()
        m.cnmp = mode
    elif c.kind == "read":
        r.line("+CNMP: %d" % m.cnmp)


def _ok(m, c, r):
    pass


def creset(m, c, r):
    m.later(0.05, power.reboot, m, "AT+CRESET")


COMMANDS = {"+NETOPEN": netopen, "+NETCLOSE": netclose, "+CIPOPEN": cipopen, "+CIPSEND": cipsend,
            "+CIPRXGET": ciprxget, "+CIPCLOSE": cipclose, "+IPADDR": ipaddr, "+CIPMODE": cipmode,
            "+CPSI": cpsi, "+SPIC": spic, "+CNMP": cnmp, "+CRESET": creset,
            "+CIPHEAD": _ok, "+CIPSRIP": _ok, "+CIPCCFG": cipccfg, "+CIPTIMEOUT": _ok, "+CSOCKSETPN": _ok,
            "+CIPSENDMODE": _ok, "+CIPDNSSET": _ok}
