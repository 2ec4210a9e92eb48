"""SMS (send in text/PDU mode; receive into the SIM store with +CMTI, read/list/delete in text mode) and USSD
(balance queries such as Telkomsel *888#)."""
from .atio import CTRL_Z, ESC
from .atparse import AtError

DEFAULT_USSD = {
    "*888#": (0, "Sisa pulsa Rp12.500\nAktif sd 19/01/2027\nInternetMax 5.5GB s.d 19/01/2027\n"
                 "Info: *363#"),
    "*363#": (1, "1 Paket Internet\n2 Telepon & SMS\n3 Info Kuota\n0 Keluar"),
}


def cmgf(m, c, r):
    if c.kind == "set":
        m.cmgf = c.int(0, lo=0, hi=1)
    elif c.kind == "read":
        r.line("+CMGF: %d" % m.cmgf)
    elif c.kind == "test":
        r.line("+CMGF: (0,1)")


async def cmgs(m, c, r):
    if c.kind == "test":
        return
    if c.kind != "set":
        raise AtError()
    m.need_sim(cms=True)
    if m.cmgf == 1:
        number = c.arg(0)
        if not number or not c.quoted(0):
            raise AtError()
    else:
        c.int(0, lo=1, hi=200)      # PDU length in octets (not counting the SMSC part)
        number = "<pdu>"
    await r.prompt(m.d.sms_prompt)
    echo = m.uart.write if m.echo else None
    body, stop = await m.rxbuf.read_until((CTRL_Z, ESC), 2000, echo)
    if stop == ESC:
        m.note("SMS cancelled with ESC")
        return
    if not m.registered():
        raise AtError(cms=331)
    await m.sleep(m.d.sms_s)
    text = body.decode("latin-1")
    m.sms_log.append((number, text))
    m.note("SMS to %s (%d chars)" % (number, len(text)))
    r.line("+CMGS: %d" % (len(m.sms_log) % 256))


SIM_SLOTS = 30
_STATES = ("REC UNREAD", "REC READ", "STO UNSENT", "STO SENT", "ALL")


def deliver(m, number, text):
    """A message from the network: stored on the SIM, announced with +CMTI. False if there is no room."""
    if m.sim.status() != "ready":
        return False
    free = [i for i in range(SIM_SLOTS) if i not in m.sim.sms]
    if not free:
        return False
    idx = free[0]
    m.sim.sms[idx] = {"stat": "REC UNREAD", "number": number, "text": text, "ts": m.cclk_text()}
    m.urc('+CMTI: "SM",%d' % idx)
    return True


def _need_text(m):
    m.need_sim(cms=True)
    if m.cmgf != 1:
        raise AtError(cms=302)       # reading PDUs is not emulated: use AT+CMGF=1


def _show(msg):
    return '"%s","%s","","%s"' % (msg["stat"], msg["number"], msg["ts"])


def cmgr(m, c, r):
    if c.kind != "set":
        raise AtError()
    _need_text(m)
    msg = m.sim.sms.get(c.int(0, lo=0, hi=SIM_SLOTS - 1))
    if msg is None:
        raise AtError(cms=321)
    r.line("+CMGR: " + _show(msg))
    r.line(msg["text"])
    if msg["stat"] == "REC UNREAD":
        msg["stat"] = "REC READ"


def cmgl(m, c, r):
    if c.kind == "test":
        r.line("+CMGL: (%s)" % ",".join('"%s"' % s for s in _STATES))
        return
    _need_text(m)
    want = (c.arg(0) or "REC UNREAD").upper() if c.kind == "set" else "REC UNREAD"
    if want not in _STATES:
        raise AtError()
    for idx in sorted(m.sim.sms):
        msg = m.sim.sms[idx]
        if want in ("ALL", msg["stat"]):
            r.line("+CMGL: %d,%s" % (idx, _show(msg)))
            r.line(msg["text"])
            if msg["stat"] == "REC UNREAD":
                msg["stat"] = "REC READ"


def cmgd(m, c, r):
    if c.kind != "set":
        return
    m.need_sim(cms=True)
    idx = c.int(0, lo=0, hi=SIM_SLOTS - 1)
    flag = c.int(1, default=0, lo=0, hi=4)
    if flag == 0:
        m.sim.sms.pop(idx, None)
        return
    drop = {1: ("REC READ",), 2: ("REC READ", "STO SENT"), 3: ("REC READ", "STO SENT", "STO UNSENT"),
            4: _STATES}[flag]
    for i in [i for i, msg in m.sim.sms.items() if msg["stat"] in drop]:
        del m.sim.sms[i]


def cpms(m, c, r):
    m.need_sim(cms=True)
    n = len(m.sim.sms)
    if c.kind == "read":
        r.line('+CPMS: "SM",%d,%d,"SM",%d,%d,"SM",%d,%d' % ((n, SIM_SLOTS) * 3))
    elif c.kind == "set":
        r.line("+CPMS: %d,%d,%d,%d,%d,%d" % ((n, SIM_SLOTS) * 3))


def cusd(m, c, r):
    if c.kind == "read":
        r.line("+CUSD: 1")
        return
    if c.kind == "test":
        r.line("+CUSD: (0-2)")
        return
    n = c.int(0, default=1, lo=0, hi=2)
    if n == 2:
        m.cancel(m.ussd_pending)
        m.ussd_pending = None
        return
    code = c.arg(1)
    if code is None:
        return                      # just enables result code presentation
    m.need_sim()
    if not m.registered():
        raise AtError(cme=30)
    m.cancel(m.ussd_pending)
    if m.ussd_fail:
        m.ussd_fail -= 1 if m.ussd_fail > 0 else 0
        m.note("USSD %s: timing out (fault)" % code)
        m.ussd_pending = None if m.ussd_silent else m.later(10.0, m.urc, "+CUSD: 5")
        return
    reply = m.ussd_replies.get(code)
    if reply is None:
        m.ussd_pending = m.later(m.d.ussd_s, m.urc, "+CUSD: 4")
        return
    mode, text = reply if isinstance(reply, tuple) else (0, reply)
    # A network string keeps its line breaks; the modem passes them through, so the URC spans lines.
    text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    # Notices some networks send before the answer (+CUSD: 2 release of a previous dialogue,
    # +CUSD: 3 another client answered), each a moment apart, then the answer itself.
    dt = m.d.ussd_s
    for n in m.ussd_notice:
        m.later(dt, m.urc, "+CUSD: %d" % n)
        dt += 0.2
    m.ussd_notice = []
    m.ussd_pending = m.later(dt, m.urc, '+CUSD: %d,"%s",15' % (mode, text))


COMMANDS = {"+CMGF": cmgf, "+CMGS": cmgs, "+CUSD": cusd, "+CMGR": cmgr, "+CMGL": cmgl, "+CMGD": cmgd,
            "+CPMS": cpms}
