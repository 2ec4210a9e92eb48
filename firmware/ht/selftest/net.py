# Network self-test checks for `htctl bench` and `htctl provision` (docs/PROVISION.md). They run on the
# radio through the raw REPL:
#     import ht.selftest.net as n; n.report(["modem", "sim", "registration"], {"scale": 1})
# and print one JSON line: a list of ht.selftest.local.result() dicts. The modem checks share one session (one
# supervisor walking the ladder from a cold modem start), so they run in one asyncio.run; each check is a
# small coroutine that waits for its milestone and measures it. A check whose prerequisite failed is a FAIL
# that names the blocker, so the technician fixes the first failing line first.
#
# Times: "emulated" seconds = wall / scale (scale = the modem emulator's time_scale on the virtual device,
# 1 on a radio); PWRKEY/RESET pulses are real time at any scale and are not divided.
import os
import asyncio
from ht.compat import ticks_ms, ticks_diff, IS_MPY
from ht.modem import link as L
from ht.selftest.local import result, hal_of
from ht.selftest.voice import check_ptt, check_audio

# Default limits the device reports; htctl judges with its own table (acceptance.py) and may differ.
WAIT_S = {"modem": 30, "sim": 15, "registration": 120, "data": 60}
MIN_WAIT_MS = 3000          # wall floor for each wait: AT traffic runs at the real baud at any scale
_AFTER_SIM = (L.SIM_READY, L.SEARCHING, L.DENIED, L.REGISTERED, L.DATA_UP)
ORDER = ("modem", "sim", "iccid", "registration", "signal", "data", "broker", "ptt_access", "audio_loopback")


def _sleep_ms(ms):
    return asyncio.sleep(ms / 1000)


def _read(path):
    with open(path) as f:
        return f.read()


def broker_addr(url, tls=False):
    # "mqtt://host:1883" -> (host, port, tls); ht.config validated the form already; broker.tls forces TLS
    tls = bool(tls) or url.startswith("mqtts://")
    rest = url.split("://", 1)[1]
    host, _, port = rest.partition(":")
    return host, int(port) if port else (8883 if tls else 1883), tls


class Session:
    def __init__(self, env):
        from ht import board as B
        from ht import config as C
        self.env = env
        # os.getenv exists on the unix port (the virtual device names its emulator's scale), not on the ESP32
        getenv = getattr(os, "getenv", None)
        self.scale = float(env.get("scale") or (getenv and getenv("HT_SIM_TIME_SCALE")) or 1)
        self.board = env.get("board") or B.load(_read("board.json"))
        cfg = env.get("config")
        if cfg is None:
            try:
                cfg = C.load(_read("config.json"))[0]
            except OSError:
                cfg = C.defaults()
        self.cfg = cfg
        self.hal = env.get("hal")
        self.marks = {}
        self.results = {}
        self.sup = None
        self.modem = None
        self.client = None
        self.start_error = None

    # ---- timing
    def _mark(self, lk):
        if lk.state not in self.marks:
            self.marks[lk.state] = ticks_ms()

    def emu_s(self, t0, t1, pulsed_ms=0):
        wall = ticks_diff(t1, t0) - pulsed_ms
        return round((wall / self.scale + pulsed_ms) / 1000, 2)

    def deadline(self, name):
        return max(int(self.env.get("wait_" + name, WAIT_S[name]) * 1000 * self.scale), MIN_WAIT_MS)

    def pulses_ms(self):
        # PWRKEY/RESET pulses run in real time at any scale (ht.modem.lifecycle._pulse): a wait that may include a
        # power cycle gets them on top. A board with only PWRKEY (LILYGO_T_SIM7600) cycles with a 3 s
        # long press plus the on pulse, more than the whole scaled budget on a fast emulator.
        m = self.modem
        return m.d.pwrkey_off_ms + m.pulse_on_ms + m.reset_ms if m is not None else 0

    async def until(self, pred, wall_ms):
        t0 = ticks_ms()
        while not pred():
            if ticks_diff(ticks_ms(), t0) > wall_ms:
                return False
            await _sleep_ms(10)
        return True

    # ---- life
    async def start(self):
        from ht.modem.lifecycle import Modem
        from ht.modem.supervisor import Supervisor, CYCLE
        if self.hal is None:
            self.hal = hal_of(self.env, lambda: self.board)
        uart = self.env.get("uart") or self.hal.modem_uart()
        # Open the link before the AT reader starts: a UART that cannot be opened is reported by the modem
        # check (start_error) instead of surfacing as a silent modem.
        await uart.write(b"")
        m = Modem.from_board(self.board, self.cfg, uart, self.hal.modem_pins(), scale=self.scale)
        m.link.subscribe(self._mark)
        self.modem = m
        self.sup = Supervisor(m)
        m.start()
        self.t0 = ticks_ms()
        if self.env.get("cold", True) and await m.probe(3, 1000):
            # Measure from power-on, not from whatever state the app left. Only a modem that answers is
            # cycled: on a board without POWERON the cycle is a RESET pulse, which cannot start a modem that
            # is off - the supervisor's BOOT rung presses PWRKEY for that.
            self.sup.need = CYCLE
        self.sup.start()

    async def stop(self):
        if self.client is not None:
            try:
                await self.client.disconnect()
            except Exception:
                pass
        if self.sup is not None:
            self.sup.stop()
            await _sleep_ms(0)
        close = getattr(self.env.get("uart") or (self.hal and self.hal.modem_uart()), "close", None)
        if close is not None:
            try:
                r = close()
                if r is not None and hasattr(r, "send"):
                    await r
            except Exception:
                pass

    def blocked(self, name, *needs):
        # A failed prerequisite fails its dependants (the radio is not usable); a skipped one (e.g. a TLS
        # broker this build cannot test) skips them.
        for n in needs:
            r = self.results.get(n)
            if r is not None and r["ok"] is False:
                return result(name, False, None, detail="not run: the %s check failed" % n)
            if r is not None and r["ok"] is None:
                return result(name, None, None, detail="not run: the %s check was skipped" % n)
        return None


# ---- checks: async fn(session) -> result dict ------------------------------------------------------
async def check_modem(s):
    from ht.modem.supervisor import SIM
    if s.start_error:
        return result("modem", False, None, detail="cannot open the modem UART (%s)" % s.start_error)
    ok = await s.until(lambda: s.sup.need >= SIM, s.deadline("modem") + s.pulses_ms())
    if not ok:
        return result("modem", False, None, "s", WAIT_S["modem"],
                      "no answer to AT after power-on (%s)" % s.sup._last.get("error", "silent"))
    secs = s.emu_s(s.t0, ticks_ms(), s.modem.pulsed_ms)
    from ht.modem import dialects
    model = ""
    try:
        lines = await s.modem.at.cmd("AT+CGMM", "")
        model = ([x for x in lines if x.strip()] or [""])[0].split(":")[-1].strip()
    except Exception as e:
        return result("modem", False, None, detail="model query failed: %r" % e)
    want = s.modem.d.name
    got = None
    for name in sorted(dialects.DIALECTS, key=len, reverse=True):
        if name in model.upper():     # "SIMCOM_SIM7600G-H", "A7670E-LASE", "EC200UCN"
            got = name
            break
    det = "%s answers as %s dialect, board says %s; up in %.1f s" % (model, got, want, secs)
    return result("modem", got == want, model, "", want, det)


async def check_sim(s):
    b = s.blocked("sim", "modem")
    if b:
        return b
    ok = await s.until(lambda: s.modem.link.state in _AFTER_SIM, s.deadline("sim"))
    st = s.modem.link.state
    if ok:
        return result("sim", True, L.SIM_READY, detail="SIM ready")
    return result("sim", False, st, detail=s.modem.link.reason)


async def check_iccid(s):
    b = s.blocked("iccid", "modem")
    if b:
        return b
    info = s.modem.info
    if not info.get("iccid"):
        d = s.modem.d
        try:
            info["iccid"] = d.iccid(await s.modem.at.cmd(d.iccid_cmd, d.iccid_prefix))
        except Exception as e:
            r = result("iccid", False, None, detail="ICCID unreadable (%s); IMEI %s" % (e, info.get("imei")))
            r["extra"] = {"imei": info.get("imei")}
            return r
    r = result("iccid", True, info.get("iccid"), detail="imei %s" % info.get("imei"))
    r["extra"] = {"imei": info.get("imei")}
    return r


async def check_registration(s):
    b = s.blocked("registration", "sim")
    if b:
        return b
    lk = s.modem.link
    ok = await s.until(lambda: lk.state in (L.REGISTERED, L.DATA_UP, L.DENIED), s.deadline("registration"))
    if lk.state == L.DENIED or not ok:
        return result("registration", False, None, "s", WAIT_S["registration"],
                      "%s (%s)" % (lk.reason, lk.state))
    t0 = s.marks.get(L.SIM_READY, s.t0)
    t1 = s.marks.get(L.REGISTERED, s.marks.get(L.DATA_UP))
    det = "roaming" if lk.roaming else "home network"
    return result("registration", True, s.emu_s(t0, t1), "s", WAIT_S["registration"],
                  "%s, %s" % (det, s.modem.info.get("operator")))


async def check_signal(s):
    b = s.blocked("signal", "registration")
    if b:
        return b
    if not s.modem.link.signal:
        bars, sig = await s.modem.signal()
        s.modem.link.set_bars(bars, sig)
    sig = s.modem.link.signal
    r = result("signal", sig.get("rsrp") is not None, sig.get("rsrp"), "dBm", None,
               "rsrp %s dBm, sinr %s dB, rsrq %s dB, %d bars" % (sig.get("rsrp"), sig.get("sinr"),
                                                                sig.get("rsrq"), s.modem.link.bars))
    r["extra"] = sig
    return r


async def check_data(s):
    b = s.blocked("data", "registration")
    if b:
        return b
    lk = s.modem.link
    ok = await s.until(lambda: lk.data_up, s.deadline("data"))
    if not ok:
        return result("data", False, None, "s", WAIT_S["data"],
                      "%s (%s)" % (lk.reason, s.sup._last.get("error", "no IP")))
    t0 = s.marks.get(L.REGISTERED, s.t0)
    return result("data", True, s.emu_s(t0, s.marks[L.DATA_UP]), "s", WAIT_S["data"],
                  "ip %s, apn %s" % (s.modem.info.get("ip"), s.modem.apn))


async def check_broker(s):
    from ht.mqtt.client import MQTTClient, MQTTError
    b = s.blocked("broker", "data")
    if b:
        return b
    cfg = s.cfg
    host, port, tls = broker_addr(cfg.get("broker.url"), cfg.get("broker.tls"))
    if tls:
        # the modem's TLS client with the provisioned CA: a failure is a FAIL with the radio's reason,
        # never a plain-TCP attempt (ht/modem/tls.py)
        from ht.modem.tls import read_ca
        s.modem.tls.set_ca(s.env.get("ca") or read_ca())
    unit = cfg.get("unit.id") or "bench"
    c = MQTTClient(unit + "-bench", user=cfg.get("broker.user") or unit,
                   password=cfg.get("broker.password") or None, keepalive=cfg.get("broker.keepalive"))
    t0 = ticks_ms()
    try:
        stream = await s.sup.open(host, port, tls=tls)
    except Exception as e:
        r = getattr(e, "reason", None)
        if r:   # TLS: Bahasa first, English beside it
            return result("broker", False, None, "ms", None, "%s / %s (%s:%d)" % (r[1], r[0], host, port))
        return result("broker", False, None, "ms", None, "unreachable %s:%d (%s)" % (host, port, e))
    try:
        await c.connect(stream)
    except MQTTError as e:
        return result("broker", False, e.code, "ms", None, "refused %s:%d: %s" % (host, port, e))
    except Exception as e:
        return result("broker", False, None, "ms", None, "no MQTT answer from %s:%d (%r)" % (host, port, e))
    s.client = c
    return result("broker", True, ticks_diff(ticks_ms(), t0), "ms", None,
                  "logged in as %s at %s:%d" % (c.user, host, port))


CHECKS = {"modem": check_modem, "sim": check_sim, "iccid": check_iccid, "registration": check_registration,
          "signal": check_signal, "data": check_data, "broker": check_broker, "ptt_access": check_ptt,
          "audio_loopback": check_audio}


async def run_async(names=None, env=None):
    s = Session(env or {})
    out = []
    names = names or ORDER
    try:
        if [n for n in names if n != "audio_loopback"]:
            await s.start()
        elif s.hal is None:
            s.hal = hal_of(s.env, lambda: s.board)
    except Exception as e:   # no UART to the modem: the modem line says so, the rest are blocked by it
        s.start_error = "%s: %s" % (type(e).__name__, e)
    try:
        for name in names:
            fn = CHECKS.get(name)
            if fn is None:
                r = result(name, None, detail="unknown check")
            else:
                try:
                    r = await fn(s)
                except Exception as e:   # a broken check is a FAIL line, never a missing certificate
                    r = result(name, False, None, detail="%s: %s" % (type(e).__name__, e))
            s.results[name] = r
            out.append(r)
    finally:
        await s.stop()
    return out


def run(names=None, env=None):
    if IS_MPY:
        # The radio app may have been running until the Ctrl-C that opened the raw REPL: MicroPython keeps
        # its tasks in one global queue, and the next asyncio.run would resume them (its supervisor would
        # fight ours for the modem). A new event loop empties that queue.
        asyncio.new_event_loop()
    return asyncio.run(run_async(names, env))


def report(names=None, env=None):
    import json
    print(json.dumps(run(names, env)))
