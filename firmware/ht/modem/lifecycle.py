# Modem lifecycle: power, init, SIM, identity, APN, registration, signal, time, SMS. Each step is
# one small coroutine; ht/modem/supervisor.py decides when to run which, and owns recovery.
# Pins are callables taking "asserted" (1) or "released" (0): PWRKEY 1 = key pressed, POWERON 1 =
# supply on, RESET 1 = held in reset. The HAL maps that to GPIO levels with board.json "active"
# (LilyGO drives PWRKEY through an inverting transistor), so this file never sees polarity.
import asyncio
from ht.modem import parse as P
from ht.modem import sockets as atsock, dialects, sim as S
from ht.modem import tls as attls
from ht.modem.at import AT, ModemError
from ht.modem.link import Link

DEFAULT_APN = "internet"       # Telkomsel, no user/password


def cfg_get(config, key, default=None):
    # config: ht.config.Config (dotted keys) or a nested dict {"modem": {"apn": ...}}
    if config is None:
        return default
    if hasattr(config, "to_dict"):
        config = config.to_dict()
    sec, field = key.split(".")
    s = config.get(sec)
    v = s.get(field) if isinstance(s, dict) else None
    return default if v is None or v == "" else v


def _sleep(ms):
    return asyncio.sleep(ms / 1000)


class Modem:
    def __init__(self, uart, dialect, pins=None, config=None, link=None, counter=None, scale=1.0):
        self.d = dialects.get(dialect) if isinstance(dialect, str) else dialect
        self.pins = pins or {}
        self.apn = cfg_get(config, "modem.apn") or DEFAULT_APN
        self.pin = cfg_get(config, "modem.sim_pin")
        self.pulse_on_ms = self.d.pwrkey_on_ms
        self.reset_ms = self.d.reset_ms
        self.scale = scale
        self.link = link or Link()
        self.at = AT(uart, self.d, self._urc, scale)
        self.net = atsock.make(self.at, self.d, counter)
        self.tls = attls.make(self.at, self.d, counter)    # the modem's TLS client (set_ca before use)
        self.net.peers.append(self.tls)
        self.on_event = None      # supervisor hook: on_event(kind, line)
        self.banner = False
        self.sim_pin_rejected = False
        self.sim_lock = None
        self.pulsed_ms = 0
        self.info = self.link.info

    @classmethod
    def from_board(cls, board, config, uart, pins=None, **kw):
        # board: parsed board.json; config: ht.config.Config or its nested dict
        m = board.get("modem", {})
        name = m.get("dialect") or m.get("model")
        if not name:
            raise ValueError("board.json: modem.dialect missing")
        self = cls(uart, name, pins, config, **kw)
        for role, attr in (("pwrkey", "pulse_on_ms"), ("reset", "reset_ms")):
            v = m.get(role)
            if isinstance(v, dict) and v.get("pulse_ms"):
                setattr(self, attr, v["pulse_ms"])
        return self

    def start(self):
        self.at.start()

    def ms(self, ms):
        return _sleep(ms * self.scale)

    # ---- URCs: classify and hand to the supervisor; sockets see theirs first
    def _urc(self, line):
        self.net.on_urc(line)
        self.tls.on_urc(line)
        d = self.d
        kind = None
        i = line.find(":")
        if 0 < i < len(line) - 1 and line[0] == "+":
            # some builds omit the space after the colon, others pad it: match one canonical form
            line = line[:i + 1] + " " + line[i + 1:].strip()
        if line.startswith(d.banners):
            self.banner = True
            kind = "boot"
        elif line.startswith(d.sim_gone):
            kind = "sim_gone"
        elif line.startswith(d.sim_back):
            kind = "sim_back"
        elif line.startswith("+CEREG:"):
            kind = "reg"
        elif line.startswith(d.pdp_gone):
            kind = "pdp_gone"
        elif line.startswith("+CUSD:"):
            kind = "ussd"
        if kind and self.on_event is not None:
            self.on_event(kind, line)

    # ---- power
    def _pin(self, name, level):
        fn = self.pins.get(name)
        if fn is not None:
            fn(level)
        return fn is not None

    async def _pulse(self, name, ms):
        # real time, not scaled: the modem's own debounce does not speed up with the emulator
        if self._pin(name, 1):
            await _sleep(ms)
            self._pin(name, 0)
            self.pulsed_ms += ms      # benchmarks turn emulated time back into modem time

    async def power_on(self):
        self._pin("poweron", 1)
        self.banner = False
        await self._pulse("pwrkey", self.pulse_on_ms)

    async def power_cycle(self):
        # strongest lever first: cut supply (POWERON), else RESET, else PWRKEY off/on
        self.banner = False
        if self.pins.get("poweron"):
            self._pin("poweron", 0)
            await self.ms(self.d.off_ms)
            await self.power_on()
        elif self.pins.get("reset"):
            await self._pulse("reset", self.reset_ms)
        else:
            await self._pulse("pwrkey", self.d.pwrkey_off_ms)
            await self.ms(self.d.off_ms)
            await self.power_on()
        self.banner = False

    async def probe(self, tries=1, timeout_ms=1000):
        for _ in range(tries):
            try:
                await self.at.probe(timeout_ms)
                return True
            except (asyncio.TimeoutError, ModemError):
                pass
        return False

    async def wait_ready(self):
        # banner or an answered AT, whichever first; A76xx drops commands before *ATREADY, so
        # probing starts only after a while (a modem that was already on answers at once)
        t = 0
        while t < self.d.boot_ms:
            if self.banner or t >= 1500:
                if await self.probe(1, 500):
                    return True
                t += 500
            await self.ms(250)
            t += 250
        return False

    async def init(self):
        at = self.at
        await at.cmd("ATE0")
        await at.cmd("AT+CMEE=2")
        # CSCS="IRA": operator names and texts in plain ASCII, not UCS2 hex (parse.cops_name still
        # decodes UCS2 for a module that refuses or forgets it after a reset)
        for c in ('AT+CSCS="IRA"', "AT+CEREG=2", "AT+CTZU=1", "AT+CGEREP=2,0"):
            try:
                await at.cmd(c)
            except ModemError:
                pass  # optional on some builds
        lines = await at.cmd("AT+CGSN", "")
        for line in lines:
            v = line.split(":")[-1].strip().strip('"')
            if v.isdigit() and len(v) >= 14:
                self.info["imei"] = v

    # ---- SIM: returns "READY", "NO_SIM", "SIM_PIN", "SIM_PUK", "LOCKED" or "BUSY"; for LOCKED,
    # self.sim_lock = (lock, (English, Indonesian) reason) says which personalisation lock it is
    async def cpin(self):
        try:
            lines = await self.at.cmd("AT+CPIN?", "+CPIN:", timeout_ms=5000)
        except ModemError as e:
            if e.code in (10, 13, 15):
                return "NO_SIM"
            if e.code == 14:
                return "BUSY"     # SIM still initialising after power-up / insertion
            raise
        v, lock, reason = S.verdict(S.cpin_code(lines[0]) if lines else "")
        self.sim_lock = (lock, reason) if v == "LOCKED" else None
        if lock in ("sim-pin2", "sim-puk2"):
            self.info["sim_note"] = lock      # PIN2 features locked; data is not affected
        return v

    async def retries(self):
        try:
            return self.d.parse_retries(await self.at.cmd(self.d.retries_cmd, self.d.retries_prefix))
        except ModemError:
            return None

    async def enter_pin(self):
        # -> None when entered, else a reason key for the link. Never spends the last try: a wrong
        # PIN in config must not lock the SIM behind a PUK that only the SIM admin holds.
        if not self.pin or self.sim_pin_rejected:
            return "wrong" if self.sim_pin_rejected else "nopin"
        r = await self.retries()
        left = r[0] if r else None
        self.info["pin_left"] = left
        if left is None:
            return "unknown"
        if left < 2:
            return "last"
        try:
            await self.at.cmd('AT+CPIN="%s"' % self.pin, timeout_ms=10000)
        except ModemError as e:
            if e.code == 16 or "incorrect" in e.text.lower():
                self.sim_pin_rejected = True
                r = await self.retries()
                self.info["pin_left"] = r[0] if r else None
                return "wrong"
            raise
        return None

    async def identity(self):
        at = self.at
        d = self.d
        try:
            lines = await at.cmd(d.iccid_cmd, d.iccid_prefix)
            v = self.info["iccid"] = d.iccid(lines)
            # a refused or check-digit-failing ICCID is said once, clearly, for provisioning
            self.info["iccid_error"] = S.iccid_check(v) if v else \
                (S.iccid(lines[0])[1] if lines else "no ICCID answer")
        except ModemError:
            pass
        for line in await at.cmd("AT+CIMI", ""):
            if line.isdigit():
                self.info["imsi"] = line

    async def set_apn(self):
        # Change only when different (writes NV on some modems); radio off with CFUN=4, not 0:
        # CFUN=0 also powers the SIM down on SIMCom and needs the PIN again.
        lines = await self.at.cmd("AT+CGDCONT?", "+CGDCONT:")
        # same APN in other case, or with the network's ".mncXXX.mccYYY.gprs" suffix, is the same
        # APN: rewriting it would cycle the radio on every boot
        if P.apn_same(self.apn, P.cgdcont_apn(lines)):
            return False
        await self.at.cmd("AT+CFUN=4", timeout_ms=10000)
        try:
            await self.at.cmd('AT+CGDCONT=1,"IP","%s"' % self.apn)
        finally:
            await self.at.cmd("AT+CFUN=1", timeout_ms=10000)
        self.info["apn"] = self.apn
        return True

    async def reg_stat(self):
        lines = await self.at.cmd("AT+CEREG?", "+CEREG:")
        return P.cereg_stat(lines[0], pending=True) if lines else None

    async def operator(self):
        lines = await self.at.cmd("AT+COPS?", "+COPS:")
        name = P.cops_name(lines[0]) if lines else None
        self.info["operator"] = name
        return name

    async def signal(self):
        # -> (bars, {"rssi": dBm, "rsrp": dBm, "rsrq": dB, "sinr": dB})
        sig = {}
        lines = await self.at.cmd("AT+CSQ", "+CSQ:")
        if lines and P.csq_dbm(lines[0]) is not None:
            sig["rssi"] = P.csq_dbm(lines[0])
        d = self.d
        try:
            if d.cell_cmd:
                for line in await self.at.cmd(d.cell_cmd, d.cell_prefix):
                    sig.update(d.parse_cell(line))
            if "rsrp" not in sig:
                for line in await self.at.cmd("AT+CESQ", "+CESQ:"):
                    sig.update(P.cesq(line))
        except ModemError:
            pass
        return P.bars(sig.get("rsrp"), sig.get("rssi")), sig

    async def clock(self):
        # -> (unix_utc, tz_quarters, local tuple) or None when the network has not set it yet
        lines = await self.at.cmd("AT+CCLK?", "+CCLK:")
        t = P.cclk(lines[0]) if lines else None
        if t:
            self.info["time"] = t
        return t

    async def data_counter(self):
        # (sent, received) bytes as the modem counts them, where it can (Quectel AT+QGDCNT)
        if not self.d.data_counter:
            return None
        lines = await self.at.cmd(self.d.data_counter, "+QGDCNT:")
        f = P.fields(lines[0]) if lines else []
        return (P.num(f[0]), P.num(f[1])) if len(f) >= 2 else None

    async def sms(self, number, text):
        # Text mode; the body ends with Ctrl-Z after the '>' prompt (27.005 3.5.1)
        await self.at.cmd("AT+CMGF=1")
        lines = await self.at.cmd('AT+CMGS="%s"' % number, "+CMGS:", timeout_ms=60000,
                                  payload=text.encode() + b"\x1a")
        return P.num(P.fields(lines[0])[0]) if lines else None
