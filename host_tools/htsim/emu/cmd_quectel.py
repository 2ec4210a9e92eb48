"""Quectel EC200U / EG91 TCP/IP: QICSGP, QIACT, QIOPEN, QISEND ('>' then SEND OK), QIRD, QICLOSE, +QIURC;
plus QCCID-style extras (QPINC, QENG="servingcell", QGDCNT, QLTS, QSIMSTAT, QCFG)."""
from .atparse import AtError
from .sockets import SocketLink, connect_and_report, read_payload

IDS = 12
# Quectel TCP/IP error codes (TCP/IP application note, chapter "Summary of error codes")
_E_UNKNOWN, _E_PARAM, _E_INUSE, _E_PDP, _E_CONNECT = 550, 552, 563, 561, 566


def qicsgp(m, c, r):
    if c.kind == "set":
        cid = c.int(0, lo=1, hi=15)
        if len(c.args) == 1:
            ctx = m.nv["cgdcont"].get(cid, ["IP", "", "0.0.0.0"])
            r.line('+QICSGP: 1,"%s","","",0' % ctx[1])
            return
        ptype = {1: "IP", 2: "IPV6", 3: "IPV4V6"}.get(c.int(1, default=1), "IP")
        m.nv["cgdcont"][cid] = [ptype, c.arg(2, ""), "0.0.0.0"]


async def qiact(m, c, r):
    if c.kind == "read":
        for cid in sorted(m.pdp):
            r.line('+QIACT: %d,1,1,"%s"' % (cid, m.pdp[cid]))
        return
    if c.kind == "test":
        r.line("+QIACT: (1-16)")
        return
    if c.kind != "set":
        raise AtError()
    cid = c.int(0, lo=1, hi=16)
    try:
        await m.pdp_activate(cid)
    except AtError:
        raise AtError() from None     # Quectel answers a failed activation with plain ERROR


def qideact(m, c, r):
    cid = c.int(0, lo=1, hi=16)
    if cid in m.pdp:
        m.pdp_deactivate(cid)


def pdp_down(m, cid, by_network):
    if by_network:
        m.urc('+QIURC: "pdpdeact",%d' % cid)
    for s in list(m.sockets.values()):
        if getattr(s, "cid", 1) == cid:
            if by_network:
                s.close("closed", flush=False)
            else:
                s.close()
                m.sockets.pop(s.id, None)


def qiopen(m, c, r):
    if c.kind == "test":
        return
    if c.kind != "set":
        raise AtError()
    cid = c.int(0, lo=1, hi=16)
    sid = c.int(1, lo=0, hi=IDS - 1)
    proto = (c.arg(2) or "").upper()
    host = c.arg(3)
    port = c.int(4, lo=1, hi=65535)
    access = c.int(6, default=0, lo=0, hi=2)
    if access == 2:
        raise AtError()          # transparent mode not emulated
    old = m.sockets.get(sid)
    if old is not None:
        r.later("+QIOPEN: %d,%d" % (sid, _E_INUSE))
        return
    if proto != "TCP" or not host:
        r.later("+QIOPEN: %d,%d" % (sid, _E_PARAM))
        return
    if cid not in m.pdp:
        m.later(0.2, m.urc, "+QIOPEN: %d,%d" % (sid, _E_PDP))
        return
    s = SocketLink(m, sid, host, port)
    s.cid = cid
    s.access = access
    s.on_data = _on_data
    s.on_close = _on_close
    m.sockets[sid] = s
    m.spawn(connect_and_report(m, s, "+QIOPEN", _E_CONNECT))


def _on_data(s, seg):
    m = s.modem
    if s.access == 1:       # direct push mode
        s.read_total += len(seg)
        m.urc('+QIURC: "recv",%d,%d' % (s.id, len(seg)), seg + b"\r\n")
        return
    s.rx += seg
    if not s.notified:
        s.notified = True
        m.urc('+QIURC: "recv",%d' % s.id)


def _on_close(s):
    s.modem.urc('+QIURC: "closed",%d' % s.id)


async def qisend(m, c, r):
    if c.kind == "test":
        return
    if c.kind != "set":
        raise AtError()
    sid = c.int(0, lo=0, hi=IDS - 1)
    s = m.sockets.get(sid)
    if s is None:
        raise AtError()
    n = c.arg(1)
    if n is not None and c.int(1) == 0:
        acked = s.sent - s.up.pending
        r.line("+QISEND: %d,%d,%d" % (s.sent, acked, s.sent - acked))
        return
    if n is not None:
        n = c.int(1, lo=1, hi=m.d.max_send)
    if s.state != "open":
        raise AtError()
    data = await read_payload(m, r, n)
    if data is None:
        return
    return "SEND OK" if s.send(data) else "SEND FAIL"


def qird(m, c, r):
    if c.kind != "set":
        raise AtError()
    sid = c.int(0, lo=0, hi=IDS - 1)
    s = m.sockets.get(sid)
    if s is None or s.access != 0:
        raise AtError()
    want = c.int(1, default=1500, lo=0, hi=1500)
    if want == 0:
        r.line("+QIRD: %d,%d,%d" % (s.read_total + len(s.rx), s.read_total, len(s.rx)))
        return
    data = s.take(want)
    r.line("+QIRD: %d" % len(data))
    if data:
        r.raw(data + b"\r\n")


def qiclose(m, c, r):
    sid = c.int(0, lo=0, hi=IDS - 1)
    s = m.sockets.pop(sid, None)
    if s is not None:
        s.close()


def qistate(m, c, r):
    only = None
    if c.kind == "set":
        if c.int(0, lo=0, hi=1) == 1:
            only = c.int(1, lo=0, hi=IDS - 1)
    for sid in sorted(m.sockets):
        if only is not None and sid != only:
            continue
        s = m.sockets[sid]
        st = {"opening": 1, "open": 2, "closed": 4}.get(s.state, 4)
        r.line('+QISTATE: %d,"TCP","%s",%d,%d,%d,%d,0,%d,"uart1"'
               % (sid, s.host, s.port, 40000 + sid, st, s.cid, s.access))


def qgdcnt(m, c, r):
    if c.kind == "read":
        r.line("+QGDCNT: %d,%d" % (m.counters["sock_tx"] - m.qgdcnt_base[0],
                                    m.counters["sock_rx"] - m.qgdcnt_base[1]))
    elif c.kind == "set" and c.int(0, lo=0, hi=1) == 0:
        m.qgdcnt_base = (m.counters["sock_tx"], m.counters["sock_rx"])


def qpinc(m, c, r):
    if not m.sim.present:
        raise AtError(cme=10)
    want = (c.arg(0) or "").upper() if c.kind == "set" else ""
    if want in ("", "SC"):
        r.line('+QPINC: "SC",%d,%d' % (m.sim.pin_retries, m.sim.puk_retries))
    if want in ("", "P2"):
        r.line('+QPINC: "P2",3,10')


def qeng(m, c, r):
    if c.kind != "set" or (c.arg(0) or "").lower() != "servingcell":
        raise AtError()
    if not m.registered():
        state = "LIMSRV" if m.reg_stat == 3 else "SEARCH"
        r.line('+QENG: "servingcell","%s"' % state)
        return
    state = "CONNECT" if m.sockets else "NOCONN"
    mcc, mnc = m.plmn[:3], m.plmn[3:]
    if m.d.qeng_variant == "unisoc":
        # EC200U (Unisoc): SINR in dB, srxlev not reported
        r.line('+QENG: "servingcell","%s","LTE","FDD",%s,%s,%X,257,1300,3,5,5,%s,%d,%d,%d,%d,-'
               % (state, mcc, mnc, int(m.ci, 16), m.tac, m.rsrp_dbm, m.rsrq_db, m.rssi_dbm(), m.sinr_db))
    else:
        # EG91 (Qualcomm): SINR as 0..250 for -20..+30 dB, then srxlev
        sinr = max(0, min(250, int((m.sinr_db + 20) * 5)))
        r.line('+QENG: "servingcell","%s","LTE","FDD",%s,%s,%X,257,1300,3,5,5,%s,%d,%d,%d,%d,28'
               % (state, mcc, mnc, int(m.ci, 16), m.tac, m.rsrp_dbm, m.rsrq_db, m.rssi_dbm(), sinr))


def qlts(m, c, r):
    r.line('+QLTS: "20%s,0"' % m.cclk_text() if m.clock else '+QLTS: ""')


def qsimstat(m, c, r):
    if c.kind == "set":
        m.qsimstat = c.int(0, lo=0, hi=1)
    elif c.kind == "read":
        r.line("+QSIMSTAT: %d,%d" % (m.qsimstat, 1 if m.sim.present else 0))


def qcfg(m, c, r):
    if c.kind == "set" and (c.arg(0) or "").lower() == "nwscanmode" and len(c.args) == 1:
        r.line('+QCFG: "nwscanmode",0')


def qigeterror(m, c, r):
    r.line('+QIGETERROR: 0,"operation successful"')


def _ok(m, c, r):
    pass


COMMANDS = {"+QICSGP": qicsgp, "+QIACT": qiact, "+QIDEACT": qideact, "+QIOPEN": qiopen, "+QISEND": qisend,
            "+QIRD": qird, "+QICLOSE": qiclose, "+QISTATE": qistate, "+QGDCNT": qgdcnt, "+QPINC": qpinc,
            "+QENG": qeng, "+QLTS": qlts, "+QSIMSTAT": qsimstat, "+QCFG": qcfg, "+QIGETERROR": qigeterror,
            "+QURCCFG": _ok, "+QISDE": _ok, "+QICFG": _ok, "+QSIMDET": _ok}
