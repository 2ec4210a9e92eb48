"""Faults injected on demand (API, control port, scenario file). Each one is what a field radio meets:
a modem that stops answering, reboots, loses its SIM, its registration, its PDP context or a socket, answers
slowly, spits garbage, or a data path that freezes. Durations are emulated time (x time_scale)."""
from . import power


def hang(m):
    power.hang(m)


def reboot(m):
    power.reboot(m, "fault reboot")


def sim_remove(m):
    m.sim_remove()


def sim_insert(m):
    m.sim_insert()


def reg_lost(m, duration_s=5.0):
    """Coverage lost: searching; PDP and sockets go with it; back after duration_s (0 = until reg_home)."""
    m.net_mode = "lost"
    m.note("fault: registration lost for %s s" % (duration_s or "ever"))
    m.net_kick()
    if m._net_back is not None:
        m._net_back.cancel()
    if duration_s and float(duration_s) > 0:
        m._net_back = m.loop.call_later(float(duration_s) * m.scale, _back_home, m)


def _back_home(m):
    m._net_back = None
    if m.net_mode == "lost":
        reg_home(m)


def reg_denied(m):
    m.net_mode = "denied"
    m.net_kick()


def roaming(m):
    m.net_mode = "roaming"
    m.net_kick()


def reg_home(m):
    m.net_mode = "home"
    m.net_kick()


def pdp_drop(m):
    m.pdp_lost()


def socket_close(m, link=None):
    """The network (or the server) drops a socket: remote-close URC, as if FIN arrived."""
    ids = [int(link)] if link is not None else list(m.sockets)
    for i in ids:
        s = m.sockets.get(i)
        if s is not None and s.state == "open":
            s.down.put(b"")


def slow(m, ms=1000):
    """Every final result comes ms later (0 = back to normal)."""
    m.slow_s = max(0.0, float(ms)) / 1000.0


def garbage(m, n=64):
    """n random bytes (including NUL, CR/LF and 0xFF) on the UART, once."""
    n = int(n)
    if m.power == "on":
        m.uart.write(bytes(m.rng.choice((0, 10, 13, 255, 62, 43)) if m.rng.random() < 0.2
                           else m.rng.randrange(256) for _ in range(n)))


def ussd_timeout(m, count=1, silent=0):
    """The next `count` USSD requests time out (+CUSD: 5 after 10 s) or, with silent=1, get no answer at
    all. count=-1: all of them until `clear`."""
    m.ussd_fail = int(count)
    m.ussd_silent = bool(int(silent))


def ussd_notice(m, codes="2"):
    """The next USSD answer comes after network notices: codes "2" (release), "3" (other client),
    or several, "2,3". The answer still follows; a radio that takes the first +CUSD loses it."""
    m.ussd_notice = [int(x) for x in str(codes).split(",") if x.strip()]


def sim_lock(m, code="PH-NET PIN"):
    """The modem puts a personalisation lock on the card (+CPIN: PH-NET PIN = locked to another
    operator's network; also PH-SIM PIN, PH-NETSUB PIN, PH-SP PIN, PH-CORP PIN). code="" lifts it."""
    m.sim.lock = str(code) or None
    m.net_kick()


def quirks(m, cclk_quoted=1, charset=None, charset_locked=0):
    """Firmware-build quirks: +CCLK without quotes (cclk_quoted=0); strings in another character set
    (charset=UCS2: operator names as UCS2 hex), kept against AT+CSCS with charset_locked=1."""
    m.cclk_quoted = bool(int(cclk_quoted))
    if charset:
        m.charset = str(charset).upper()
    m.charset_locked = bool(int(charset_locked))


def stall(m, ms=5000):
    """Nothing moves on any socket, either way, for ms (data is kept and delivered afterwards)."""
    m.stall_end = max(m.stall_end, m.loop.time() + float(ms) / 1000.0 * m.scale)


def signal(m, rsrp_dbm=None, rsrq_db=None, sinr_db=None):
    if rsrp_dbm is not None:
        m.rsrp_dbm = float(rsrp_dbm)
    if rsrq_db is not None:
        m.rsrq_db = float(rsrq_db)
    if sinr_db is not None:
        m.sinr_db = float(sinr_db)


def link(m, delay_ms=0.0, jitter_ms=0.0, loss=0.0, rto_ms=None):
    """Replace the socket link model from now on (all zero = a perfect link), e.g. a radio driving to the
    cell edge in a scenario. Applies to open connections too."""
    from .sockets import LinkModel
    if not (delay_ms or jitter_ms or loss):
        m.link = None
        return
    m.link = LinkModel(delay_ms=float(delay_ms), jitter_ms=float(jitter_ms), loss=float(loss),
                       seed=m.seed, rto_ms=rto_ms)


def blackhole(m, ms=60000, new=1):
    """The data path goes silent with no RST and no FIN, as when a carrier NAT forgets the flow or the
    cell's core drops traffic: every open socket is dead for good (bytes either way vanish; the module still
    says it is open), and for ms the path carries nothing at all (new connections time out, like a SYN into
    the void); after ms new connections work again. new=0: only the open flows die (a NAT that forgot them),
    new ones work at once."""
    now = m.loop.time()
    m.hole_end = now + (max(0.0, float(ms)) / 1000.0 * m.scale if int(new) else 0.0)
    for s in list(m.sockets.values()):
        if s.state in ("open", "opening"):
            s.kill_silently()


def rrc(m, tail_s=None, wake_s=None):
    """The network's RRC inactivity timer (the tail after the last packet), real seconds (rrc.py); wake_s: how
    long the UART takes to come up after DTR low (the module's own 30 ms unless set, e.g. longer in a test
    that must send inside that window on a loaded machine)."""
    if tail_s is not None:
        m.power_model.tail_s = max(0.0, float(tail_s))
    if wake_s is not None:
        m.power_model.wake_s = max(0.0, float(wake_s))


def sms_incoming(m, number="+6281100000000", text="Tes"):
    """An SMS arrives: stored on the SIM, +CMTI: "SM",<index>. Nothing if the card is not ready or full."""
    from .cmd_msg import deliver
    if not deliver(m, str(number), str(text)):
        m.note("incoming SMS from %s not stored (SIM not ready or full)" % number)


def clear(m):
    """Back to a well-behaved modem and network (does not undo hang/power state or SIM removal)."""
    m.slow_s = 0.0
    m.stall_end = 0.0
    m.hole_end = 0.0
    m.ussd_fail = 0
    if m.net_mode != "home":
        reg_home(m)


FAULTS = {f.__name__: f for f in (hang, reboot, sim_remove, sim_insert, reg_lost, reg_denied, roaming,
                                   reg_home, pdp_drop, socket_close, slow, garbage, ussd_timeout, ussd_notice,
                                   sim_lock, quirks, stall, blackhole, rrc,
                                   signal, link, sms_incoming, clear)}


def apply(m, name, **kw):
    f = FAULTS.get(name)
    if f is None:
        raise ValueError("unknown fault %r (known: %s)" % (name, ", ".join(sorted(FAULTS))))
    try:
        f(m, **kw)
    except TypeError as e:
        raise ValueError("fault %s: bad arguments %r (%s)" % (name, kw, e)) from None
    m.note("fault %s %s" % (name, kw or ""))


def parse_kv(words):
    """['ms=500', 'link=0'] -> {'ms': 500, 'link': 0}; numbers become numbers."""
    kw = {}
    for w in words:
        if "=" not in w:
            raise ValueError("expected key=value, got %r" % w)
        k, v = w.split("=", 1)
        for conv in (int, float):
            try:
                v = conv(v)
                break
            except ValueError:
                pass
        kw[k] = v
    return kw
