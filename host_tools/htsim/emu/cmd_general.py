"""Commands both families share: V.25ter basics, identity, SIM/PIN, signal, registration, APN, clock, power.

Each handler is f(modem, cmd, reply) (may be async). Raise AtError for an error final result; return a
string to replace the final "OK".
"""
from . import power
from .atparse import AtError


def basic_ok(m, c, r):
    pass


def echo(m, c, r):
    m.echo = bool(c.int(0, default=0, lo=0, hi=1)) if c.kind == "set" else False


def verbose(m, c, r):
    if c.kind == "set" and c.argstr == "0":
        raise AtError()        # numeric result codes are not emulated: firmware must use ATV1


def reset_defaults(m, c, r):
    m.echo = True
    m.cmee = m.d.cmee_default


def info(m, c, r):
    r.line("Manufacturer: %s" % m.d.manufacturer)
    r.line("Model: %s" % m.d.model)
    r.line("Revision: %s" % m.d.revision)
    r.line("IMEI: %s" % m.imei)


def cmee(m, c, r):
    if c.kind == "set":
        m.cmee = c.int(0, lo=0, hi=2)
    elif c.kind == "read":
        r.line("+CMEE: %d" % m.cmee)
    elif c.kind == "test":
        r.line("+CMEE: (0-2)")


def _fixed(text_fn):
    def h(m, c, r):
        if c.kind == "test":
            return
        r.line(text_fn(m))
    return h


def cgmr(m, c, r):
    r.line(("+CGMR: %s" if m.d.family == "simcom" else "%s") % m.d.revision)


def cgsn(m, c, r):
    if c.kind != "test":
        r.line(m.imei)


def cimi(m, c, r):
    if c.kind == "test":
        return
    m.need_sim()
    r.line(m.sim.imsi)


def iccid(m, c, r):
    # ICCID is readable without the PIN (it is on the card's unprotected EF_ICCID)
    if c.kind == "test":
        return
    if not m.sim.present:
        raise AtError(cme=10)
    if not m.sim.powered:
        raise AtError(cme=14)
    r.line("%s: %s" % (m.d.iccid_prefix, m.sim.iccid))


def cpin(m, c, r):
    if c.kind == "test":
        return
    st = m.sim.status()
    if st == "absent":
        raise AtError(cme=10)
    if st == "busy":
        raise AtError(cme=14)
    if st == "dead":
        raise AtError(cme=13)
    if c.kind == "read":
        r.line("+CPIN: %s" % m.cpin_text())
        return
    if c.kind != "set":
        raise AtError()
    code = c.arg(0)
    if not code:
        raise AtError()
    if st == "pin":
        if m.sim.enter_pin(code):
            m.note("PIN accepted")
            m.sim_unlocked()
            return
        m.note("wrong PIN, %d tries left" % m.sim.pin_retries)
        if m.sim.status() == "puk":
            m.later(0.1, m.urc, "+CPIN: SIM PUK")
        raise AtError(cme=16)
    if st == "puk":
        new = c.arg(1)
        if new is None:
            raise AtError(cme=12)
        if m.sim.enter_puk(code, new):
            m.note("PUK accepted, new PIN set")
            m.sim_unlocked()
            return
        m.note("wrong PUK, %d tries left" % m.sim.puk_retries)
        raise AtError(cme=16)
    raise AtError(cme=3)       # already READY: nothing to unlock


def cpinr(m, c, r):
    # 3GPP 27.007 +CPINR: remaining attempts
    if c.kind == "test":
        return
    if not m.sim.present:
        raise AtError(cme=10)
    want = (c.arg(0) or "SIM*").upper()
    if want in ("SIM PIN", "SIM*", "*"):
        r.line('+CPINR: "SIM PIN",%d,3' % m.sim.pin_retries)
    if want in ("SIM PUK", "SIM*", "*"):
        r.line('+CPINR: "SIM PUK",%d,10' % m.sim.puk_retries)


def csq(m, c, r):
    if c.kind == "test":
        r.line("+CSQ: (0-31,99),(0-7,99)")
        return
    if not m.registered():
        r.line("+CSQ: 99,99")
        return
    rssi = max(0, min(31, int(round((m.rssi_dbm() + 113) / 2.0))))
    r.line("+CSQ: %d,99" % rssi)


def cesq(m, c, r):
    if c.kind == "test":
        return
    if not m.registered():
        r.line("+CESQ: 99,99,255,255,255,255")
        return
    rsrq = max(0, min(34, int(round((m.rsrq_db + 20) * 2))))
    rsrp = max(0, min(97, int(round(m.rsrp_dbm + 141))))
    r.line("+CESQ: 99,99,255,255,%d,%d" % (rsrq, rsrp))


def _reg_n(attr):
    def h(m, c, r):
        name = "+" + attr[:-2].upper()
        if c.kind == "set":
            setattr(m, attr, c.int(0, lo=0, hi=5))
        elif c.kind == "read":
            if attr == "cereg_n":
                r.line(m.cereg_read())
            else:
                stat = m.reg_stat if (attr == "cgreg_n" or m.d.creg_follows_lte) else 0
                r.line("%s: %d,%d" % (name, getattr(m, attr), stat))
        elif c.kind == "test":
            r.line("%s: (0-2)" % name)
    return h


def _chars(m, text):
    # strings leave the modem in its AT+CSCS character set (27.007 5.5): UCS2 = 4 hex digits a char
    return "".join("%04X" % ord(ch) for ch in text) if m.charset == "UCS2" else text


def cscs(m, c, r):
    if c.kind == "read":
        r.line('+CSCS: "%s"' % m.charset)
    elif c.kind == "test":
        r.line('+CSCS: ("IRA","GSM","UCS2")')
    elif c.kind == "set":
        cs = (c.arg(0) or "").upper()
        if m.charset_locked or cs not in ("IRA", "GSM", "UCS2"):
            raise AtError()
        m.charset = cs


def cops(m, c, r):
    if c.kind == "read":
        if not m.registered():
            r.line("+COPS: 0")
        elif m.cops_format == 2:
            r.line('+COPS: 0,2,"%s",7' % m.plmn)
        else:
            r.line('+COPS: 0,%d,"%s",7' % (m.cops_format, _chars(m, m.operator)))
    elif c.kind == "set":
        mode = c.int(0, lo=0, hi=4)
        if mode == 3:
            m.cops_format = c.int(1, lo=0, hi=2)
        elif mode == 2:
            m.cops_dereg = True
            m.local_detach()
        else:
            m.cops_dereg = False
            m.net_kick()
    elif c.kind == "test":
        return _cops_scan(m, r)


async def _cops_scan(m, r):
    await m.sleep(3.0)
    r.line('+COPS: (2,"%s","%s","%s",7),,(0,1,2,3,4),(0,1,2)' % (m.operator, m.operator[:4], m.plmn))


def cgdcont(m, c, r):
    ctx = m.nv["cgdcont"]
    if c.kind == "read":
        for cid in sorted(ctx):
            pdp_type, apn, addr = ctx[cid]
            r.line('+CGDCONT: %d,"%s","%s","%s",0,0' % (cid, pdp_type, apn, addr))
    elif c.kind == "test":
        r.line('+CGDCONT: (1-15),"IP",,,(0-2),(0-4)')
    elif c.kind == "set":
        cid = c.int(0, lo=1, hi=15)
        if len(c.args) == 1:
            ctx.pop(cid, None)
            return
        pdp_type = (c.arg(1) or "IP").upper()
        if pdp_type not in ("IP", "IPV6", "IPV4V6"):
            raise AtError()
        if cid in m.pdp:
            raise AtError(cme=3)      # cannot edit an active context (MODEMS.md: edit with CFUN=4)
        ctx[cid] = [pdp_type, c.arg(2, ""), c.arg(3, "0.0.0.0")]


async def cgact(m, c, r):
    if c.kind == "read":
        for cid in sorted(m.nv["cgdcont"]):
            r.line("+CGACT: %d,%d" % (cid, 1 if cid in m.pdp else 0))
        return
    if c.kind == "test":
        r.line("+CGACT: (0,1)")
        return
    state = c.int(0, lo=0, hi=1)
    cid = c.int(1, default=1, lo=1, hi=15)
    if state:
        await m.pdp_activate(cid)
    elif cid in m.pdp:
        m.pdp_deactivate(cid)


def cgpaddr(m, c, r):
    if c.kind == "test":
        return
    cids = [c.int(0, lo=1, hi=15)] if c.kind == "set" else sorted(m.nv["cgdcont"])
    for cid in cids:
        ip = m.pdp.get(cid, "0.0.0.0")
        r.line(('+CGPADDR: %d,"%s"' if m.d.cgpaddr_quoted else "+CGPADDR: %d,%s") % (cid, ip))


def cgatt(m, c, r):
    if c.kind == "read":
        r.line("+CGATT: %d" % (1 if m.registered() else 0))
    elif c.kind == "set":
        m.cops_dereg = c.int(0, lo=0, hi=1) == 0
        m.local_detach()


def cgerep(m, c, r):
    if c.kind == "set":
        m.cgerep = c.int(0, lo=0, hi=2)
    elif c.kind == "read":
        r.line("+CGEREP: %d,0" % m.cgerep)


def cfun(m, c, r):
    if c.kind == "read":
        r.line("+CFUN: %d" % m.cfun)
        return
    if c.kind == "test":
        r.line("+CFUN: (0,1,4),(0,1)")
        return
    fun = c.int(0)
    if fun not in (0, 1, 4):
        raise AtError()
    if c.int(1, default=0, lo=0, hi=1):
        r.final = "OK"
        m.later(0.05, power.reboot, m, "AT+CFUN=%d,1" % fun)
        return
    m.cfun = fun
    m.note("CFUN=%d" % fun)
    m.local_detach()


def ctzu(m, c, r):
    if c.kind == "set":
        m.ctzu = c.int(0, lo=0, hi=1)
        if m.ctzu and m.registered() and m.clock is None:
            m.sync_clock()
    elif c.kind == "read":
        r.line("+CTZU: %d" % m.ctzu)


def cclk(m, c, r):
    if c.kind == "read":
        r.line(('+CCLK: "%s"' if m.cclk_quoted else "+CCLK: %s") % m.cclk_text())
    elif c.kind == "set":
        import calendar
        import time
        v = c.arg(0) or ""
        try:
            base, tz = v[:17], int(v[17:] or "0")
            t = calendar.timegm(time.strptime(base, "%y/%m/%d,%H:%M:%S")) - tz * 900
        except ValueError:
            raise AtError() from None
        m.clock = (t, m.loop.time(), tz)


def ipr(m, c, r):
    if c.kind == "read":
        r.line("+IPR: %d" % (m.uart.baud or 115200))
    elif c.kind == "test":
        r.line("+IPR: (),(300,600,1200,2400,4800,9600,19200,38400,57600,115200,230400,460800,921600,3000000)")
    elif c.kind == "set":
        rate = c.int(0, lo=0, hi=4000000)
        if rate not in (0, 300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800,
                        921600, 3000000):
            raise AtError()
        # the OK still goes out at the old rate; the new one applies after it
        m.later(0.0, m.uart.set_baud, rate or 115200)
        m.note("baud -> %d" % (rate or 115200))


def csclk(m, c, r):
    if c.kind == "set":
        m.csclk = c.int(0, lo=0, hi=2)
    elif c.kind == "read":
        r.line("+%s: %d" % (c.name[1:], m.csclk))


def power_off(m, c, r):
    if c.kind not in ("exec", "set"):
        raise AtError()
    r.final = "OK"
    if m.d.power_off_text:
        r.later(m.d.power_off_text)
    m.loop.call_later(0.05, power.power_off, m, "AT%s" % c.name)


COMMANDS = {
    "E": echo, "V": verbose, "Q": basic_ok, "X": basic_ok, "Z": reset_defaults, "&F": reset_defaults,
    "&W": basic_ok, "&D": basic_ok, "&C": basic_ok, "&K": basic_ok, "I": info, "S0": basic_ok,
    "S3": basic_ok, "S4": basic_ok, "S7": basic_ok,
    "+CMEE": cmee,
    "+CGMI": _fixed(lambda m: m.d.manufacturer), "+GMI": _fixed(lambda m: m.d.manufacturer),
    "+CGMM": _fixed(lambda m: m.d.model), "+GMM": _fixed(lambda m: m.d.model),
    "+CGMR": cgmr, "+GMR": cgmr, "+CGSN": cgsn, "+GSN": cgsn, "+CIMI": cimi,
    "+CPIN": cpin, "+CPINR": cpinr,
    "+CSQ": csq, "+CESQ": cesq,
    "+CEREG": _reg_n("cereg_n"), "+CREG": _reg_n("creg_n"), "+CGREG": _reg_n("cgreg_n"),
    "+COPS": cops, "+CGDCONT": cgdcont, "+CGACT": cgact, "+CGPADDR": cgpaddr, "+CGATT": cgatt,
    "+CGEREP": cgerep, "+CFUN": cfun, "+CTZU": ctzu, "+CTZR": basic_ok, "+CCLK": cclk, "+IPR": ipr,
    "+CSCLK": csclk, "+QSCLK": csclk,
    "+CNMI": basic_ok, "+CLIP": basic_ok, "+CSCS": cscs, "+CSMP": basic_ok,
    "+CSDH": basic_ok,
}
