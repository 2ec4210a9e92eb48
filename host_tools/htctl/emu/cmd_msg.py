"""SMS (text and PDU mode send) and USSD (balance queries such as Telkomsel *888#)."""
from .atparse import AtError

CTRL_Z, ESC = 0x1A, 0x1B

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
    m.ussd_pending = m.later(m.d.ussd_s, m.urc, '+CUSD: %d,"%s",15' % (mode, text))


COMMANDS = {"+CMGF": cmgf, "+CMGS": cmgs, "+CUSD": cusd}
