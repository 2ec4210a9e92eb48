"""The emulated modem: power/boot life cycle, SIM, registration, PDP, clock and signal - the state the
command handlers read and change. The AT command interpreter itself is in worker.py (``Modem.at``).

Runs entirely inside the emulator's asyncio loop thread.
"""
import asyncio
import random
import time

from . import cmd_quectel, cmd_simcom
from .atio import RxBuffer
from .rrc import PowerModel
from .atparse import AtError
from .worker import CommandWorker


class Modem:
    def __init__(self, dialect, sim, imei, operator, plmn, rsrp_dbm, rsrq_db, sinr_db, time_scale, link,
                 ussd_replies, seed, urc_interleave, peer_on_loss="reset", log_limit=10000):
        self.d = dialect
        self.sim = sim
        self.imei = imei
        self.operator = operator
        self.plmn = plmn
        self.rsrp_dbm, self.rsrq_db, self.sinr_db = rsrp_dbm, rsrq_db, sinr_db
        self.scale = float(time_scale)
        self.link = link
        self.ussd_replies = dict(ussd_replies)
        self.seed = seed
        self.rng = random.Random(seed)
        self.urc_interleave = urc_interleave
        if peer_on_loss not in ("reset", "silent"):
            raise ValueError("peer_on_loss must be 'reset' or 'silent'")
        self.peer_on_loss = peer_on_loss
        self.orphans = set()          # peers of vanished links kept open (peer_on_loss="silent")
        self.log_limit = log_limit
        self.fam = cmd_simcom if dialect.family == "simcom" else cmd_quectel
        self.at = CommandWorker(self, log_limit)
        self.uart = None
        self.loop = None
        self.t0 = 0.0
        self.power = "off"            # off · booting · on · hung · reset
        self.pins = {"PWRKEY": 0, "RESET": 0, "POWERON": 1, "DTR": 0, "FLIGHT": 1}
        self.pwrkey_at = None         # loop time of the PWRKEY press being timed
        self.sms_log = []
        self.events = []              # (emulated s, text): what the emulator did and why
        self.counters = {"sock_tx": 0, "sock_rx": 0, "dropped_rx": 0}
        self.qgdcnt_base = (0, 0)
        self.nv = {"cgdcont": {1: ["IP", "", "0.0.0.0"]}}   # survives reboot like the module's NV items
        self.net_mode = "home"        # network conditions (faults) survive a modem reboot
        self._net_back = None
        self.slow_s = 0.0
        self.stall_end = 0.0
        self.hole_end = 0.0           # faults.blackhole: new connections go nowhere until then (loop time)
        self.ussd_fail = 0
        self.ussd_silent = False
        self.ussd_notice = []         # +CUSD <m> notices the network sends before the next answer
        self.cclk_quoted = True       # some builds print +CCLK: yy/MM/dd,... without quotes
        self.charset = "IRA"          # AT+CSCS; "UCS2" prints operator names as UCS2 hex
        self.charset_locked = False   # a build that refuses AT+CSCS and keeps its charset
        self.tac = "%04X" % (0x1000 + (seed or 0) % 0xE000)
        self.ci = "%08X" % (0x0A000000 + (seed or 0) * 7919 % 0xFFFFFF)
        self.ip_seq = 0
        self.rxbuf = None
        self.power_model = PowerModel(self)    # RRC state and sleep over time (rrc.py)
        self._timers = set()
        self._tasks = set()
        self.reset_volatile()

    # -- plumbing --------------------------------------------------------------------------------------
    def attach(self, loop, uart):
        self.loop = loop
        self.uart = uart
        self.t0 = loop.time()
        self.rxbuf = RxBuffer()
        self.power_model.start()

    def now(self):
        """Emulated seconds since start."""
        return (self.loop.time() - self.t0) / self.scale if self.scale else 0.0

    def note(self, text):
        self.events.append((round(self.now(), 3), text))
        del self.events[:-self.log_limit]

    def count(self, key, n):
        self.counters[key] = self.counters.get(key, 0) + n
        if key in ("sock_tx", "sock_rx") and n:
            self.power_model.traffic()     # a packet on the air: RRC connected for the tail

    def orphan(self, writer, reader):
        async def swallow():
            try:
                while await reader.read(65536):
                    pass
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                writer.transport.abort()
        t = self.loop.create_task(swallow())
        self.orphans.add(t)
        t.add_done_callback(self.orphans.discard)

    def stalled_until(self):
        return self.stall_end

    def later(self, emu_s, fn, *args):
        """Run fn after emu_s emulated seconds; cancelled when the modem powers down."""
        h = None

        def fire():
            self._timers.discard(h)
            try:
                fn(*args)
            except Exception as e:       # an emulator bug is reported in events, the loop carries on
                self.note("internal error in timer %s: %r" % (getattr(fn, "__name__", fn), e))
        h = self.loop.call_later(max(0.0, emu_s * self.scale), fire)
        self._timers.add(h)
        return h

    def cancel(self, h):
        if h is not None:
            h.cancel()
            self._timers.discard(h)

    def cancel_pending(self):
        """Cancel every timer and task of the running module (it powers down or reboots)."""
        for h in list(self._timers):
            h.cancel()
        self._timers.clear()
        for t in list(self._tasks):
            t.cancel()

    def spawn(self, coro):
        t = self.loop.create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)
        return t

    async def sleep(self, emu_s):
        await asyncio.sleep(max(0.0, emu_s * self.scale))

    def write(self, data):
        if self.power in ("on",):
            self.uart.write(data)

    @staticmethod
    def frame(items):
        out = bytearray()
        for it in items:
            if isinstance(it, str):
                out += b"\r\n" + it.encode("latin-1", "replace") + b"\r\n"
            else:
                out += it
        return bytes(out)

    # -- URCs ------------------------------------------------------------------------------------------
    def urc(self, text, raw=b""):
        if self.power != "on":
            return
        self.at.urc(b"\r\n" + text.encode("latin-1", "replace") + b"\r\n" + raw)

    def benign_urc(self):
        if self.cereg_n:
            return self.cereg_urc()
        return "+CTZV: +28"

    # -- host input ----------------------------------------------------------------------------------------
    def sleeping(self):
        # AT+CSCLK=1 / AT+QSCLK=1: the module sleeps while DTR is high and its UART hears nothing
        return self.csclk == 1 and self.pins.get("DTR") == 1

    def on_uart_rx(self, data):
        if self.power == "on" and not self.sleeping() and self.power_model.waking():
            self.power_model.wake_lost += len(data)     # DTR low, but the UART is not up yet
            self.counters["dropped_rx"] += len(data)
        elif self.power == "on" and not self.sleeping():
            if not self.rxbuf.feed(data):
                self.counters["dropped_rx"] += len(data)
        else:
            self.counters["dropped_rx"] += len(data)    # modem off/booting/hung: bytes are lost

    # -- state after boot -----------------------------------------------------------------------------------------
    def reset_volatile(self) -> None:
        """What a reboot forgets: host settings, registration, PDP, sockets, the command in progress."""
        d = self.d
        self.echo = True
        self.cmee = d.cmee_default
        self.cereg_n = self.creg_n = self.cgreg_n = 0
        self.cops_format = 0
        self.cops_dereg = False
        self.cfun = 1
        self.detach_by_me = False
        self.reg_stat = 0
        self._reg_timer = None
        self.pdp = {}                 # cid -> ip
        self.netopen = False
        self.sockets = {}
        self.rxget_mode = 0
        self.cip_header = 0
        self.cmgf = 0
        self.cgerep = d.cgerep_default
        self.ctzu = d.ctzu_default
        self.clock = None             # (utc epoch at set, loop time at set, tz quarter hours)
        self.cnmp = 2
        self.csclk = 0
        self.qsimstat = 0
        self.ussd_pending = None
        self.tls_state = None         # htsim.emu.tls: contexts and the CCH service are per boot
        self.at.reset()

    def sim_urcs(self, seq):
        """Schedule a dialect's SIM URC sequence: "{cpin}" entries show the card's state, entries marked
        "ready" only come once the card is unlocked (SMS DONE / PB DONE need the SIM's files)."""
        cpin = self.cpin_text()
        for dt, u, when in seq:
            if when == "always" or cpin == "READY":
                self.later(dt, self.urc, u.replace("{cpin}", cpin))

    # -- SIM -------------------------------------------------------------------------------------------
    def cpin_text(self):
        return {"absent": "SIM REMOVED", "busy": "NOT READY", "dead": "SIM PUK", "puk": "SIM PUK",
                "pin": "SIM PIN", "lock": self.sim.lock, "ready": "READY"}[self.sim.status()]

    def need_sim(self, cms=False):
        """Raise the error a command needing the unlocked SIM gets."""
        st = self.sim.status()
        if st == "ready":
            return
        # 27.007 9.2.1: 40 network personalisation PIN required (any device lock here)
        code = {"absent": 10, "busy": 14, "dead": 13, "puk": 12, "pin": 11, "lock": 40}[st]
        if cms:
            raise AtError(cms={10: 310, 11: 311, 12: 316, 13: 313, 14: 314, 40: 500}[code])
        raise AtError(cme=code)

    def sim_remove(self):
        if not self.sim.present:
            return
        self.sim.present = False
        self.sim.power_down()
        self.note("SIM removed")
        for u in self.d.sim_removed_urcs:
            self.urc(u)
        if self.qsimstat:
            self.urc("+QSIMSTAT: 1,0")
        self.net_kick()

    def sim_insert(self):
        if self.sim.present:
            return
        self.sim.present = True
        self.note("SIM inserted")
        if self.qsimstat:
            self.urc("+QSIMSTAT: 1,1")
        if self.power == "on":
            self.later(self.d.sim_insert_s, self._sim_up)

    def _sim_up(self):
        if not self.sim.present:
            return
        self.sim.power_up()
        self.sim_urcs(self.d.sim_ready_urcs)
        self.net_kick()

    def sim_unlocked(self):
        self.sim_urcs(self.d.sim_ready_urcs)
        self.net_kick()

    # -- registration ----------------------------------------------------------------------------------
    def registered(self):
        return self.reg_stat in (1, 5)

    def local_detach(self):
        """Registration change asked for by the host (CFUN, COPS=2, CGATT=0)."""
        self.detach_by_me = True
        try:
            self.net_kick()
        finally:
            self.detach_by_me = False

    def net_kick(self):
        """Recompute registration after anything that affects it changed."""
        self.cancel(self._reg_timer)
        self._reg_timer = None
        radio = self.cfun == 1 and self.pins["FLIGHT"] and not self.cops_dereg
        if not (self.power == "on" and radio and self.sim.status() == "ready"):
            self.set_reg(0)
            return
        if self.net_mode == "lost":
            self.set_reg(2)
        elif self.net_mode == "denied":
            if self.reg_stat != 3:
                self.set_reg(2)
                self._reg_timer = self.later(self.d.reg_s, self.set_reg, 3)
        else:
            target = 5 if self.net_mode == "roaming" else 1
            if self.registered():
                self.set_reg(target)
            else:
                self.set_reg(2)
                self._reg_timer = self.later(self.d.reg_s, self.set_reg, target)

    def set_reg(self, stat):
        if stat == self.reg_stat:
            return
        was = self.registered()
        self.reg_stat = stat
        self.note("registration stat %d" % stat)
        if was and not self.registered():
            self.network_lost()
        if self.registered() and not was and self.ctzu:
            self.sync_clock()
        if self.cereg_n:
            self.urc(self.cereg_urc())
        if self.cgreg_n:
            self.urc("+CGREG: %d" % stat)        # PS domain: follows the LTE attach on every part
        if self.creg_n and self.d.creg_follows_lte:
            self.urc("+CREG: %d" % stat)

    def cereg_urc(self):
        if self.cereg_n >= 2 and self.registered():
            return '+CEREG: %d,"%s","%s",7' % (self.reg_stat, self.tac, self.ci)
        return "+CEREG: %d" % self.reg_stat

    def cereg_read(self):
        if self.cereg_n >= 2 and self.registered():
            return '+CEREG: %d,%d,"%s","%s",7' % (self.cereg_n, self.reg_stat, self.tac, self.ci)
        return "+CEREG: %d,%d" % (self.cereg_n, self.reg_stat)

    def network_lost(self):
        if self.pdp:
            self.pdp_lost(local=self.detach_by_me)
            if self.cgerep:
                self.urc("+CGEV: ME DETACH" if self.detach_by_me else "+CGEV: NW DETACH")

    # -- PDP -------------------------------------------------------------------------------------------
    def new_ip(self):
        self.ip_seq += 1
        r = random.Random((self.seed, self.ip_seq).__hash__())
        return "10.%d.%d.%d" % (r.randint(1, 254), r.randint(0, 255), r.randint(1, 254))

    async def pdp_activate(self, cid):
        if cid not in self.nv["cgdcont"]:
            raise AtError(cme=3)
        if cid in self.pdp:
            return self.pdp[cid]
        if not self.registered():
            raise AtError(cme=30)
        await self.sleep(self.d.pdp_s)
        if not self.registered():
            raise AtError(cme=30)
        self.pdp[cid] = self.new_ip()
        self.note("PDP %d up: %s" % (cid, self.pdp[cid]))
        return self.pdp[cid]

    def pdp_deactivate(self, cid):
        self.pdp.pop(cid, None)
        self.fam.pdp_down(self, cid, by_network=False)

    def pdp_lost(self, local=False):
        """The PDP context(s) went away under the host: taken by the network, or by radio off (CFUN=0/4,
        COPS=2, CGATT=0 - local=True; sockets die the same way but +CGEV says ME)."""
        for cid in list(self.pdp):
            self.pdp.pop(cid)
            self.note("PDP %d dropped (%s)" % (cid, "radio off" if local else "network"))
            if self.cgerep:
                self.urc("+CGEV: %s PDN DEACT %d" % ("ME" if local else "NW", cid))
            self.fam.pdp_down(self, cid, by_network=True)

    # -- clock -----------------------------------------------------------------------------------------
    def sync_clock(self):
        self.clock = (time.time(), self.loop.time(), 28)     # NITZ from Telkomsel: WIB, UTC+7 = +28 quarters

    def cclk_text(self):
        if self.clock is None:
            up = int(self.now())
            base = "80/01/06" if self.d.family == "simcom" else "04/01/01"
            return "%s,%02d:%02d:%02d+00" % (base, up // 3600 % 24, up // 60 % 60, up % 60)
        utc, at, tzq = self.clock
        t = utc + (self.loop.time() - at) + tzq * 900
        sign = "+" if tzq >= 0 else "-"
        return time.strftime("%y/%m/%d,%H:%M:%S", time.gmtime(t)) + "%s%02d" % (sign, abs(tzq))

    # -- signal ----------------------------------------------------------------------------------------
    def rssi_dbm(self):
        # full-load LTE: RSSI ~ RSRP + 10*log10(12 * 50 RB) for 10 MHz
        return self.rsrp_dbm + 28

    def snapshot(self):
        return {"dialect": self.d.name, "powered": self.power in ("booting", "on", "hung"),
                "power": self.power, "booted": self.power == "on", "pins": dict(self.pins),
                "sleeping": self.power == "on" and self.sleeping(),
                "sim": self.sim.snapshot(), "cpin": self.cpin_text() if self.sim.powered or not self.sim.present
                else "NOT READY", "cfun": self.cfun, "reg_stat": self.reg_stat, "net_mode": self.net_mode,
                "pdp_active": bool(self.pdp), "ip": self.pdp.get(1) or (next(iter(self.pdp.values()))
                                                                        if self.pdp else None),
                "pdp": dict(self.pdp), "netopen": self.netopen, "echo": self.echo, "cmee": self.cmee,
                "sockets": {k: s.snapshot() for k, s in self.sockets.items()},
                "bytes": {"uart_rx": self.uart.rx_bytes if self.uart else 0,
                          "uart_tx": self.uart.tx_bytes if self.uart else 0,
                          "sock_tx": self.counters["sock_tx"], "sock_rx": self.counters["sock_rx"],
                          "dropped_rx": self.counters["dropped_rx"]},
                "baud": self.uart.baud if self.uart else None, "emu_time_s": round(self.now(), 3),
                "slow_ms": self.slow_s * 1000, "sms_sent": len(self.sms_log),
                "sms_stored": len(self.sim.sms), "energy": self.power_model.snapshot()}
