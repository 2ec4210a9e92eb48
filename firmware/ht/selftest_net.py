# Network self-test checks for `htctl bench` and `htctl provision` (docs/PROVISION.md). They run on the
# radio through the raw REPL:
#     import ht.selftest_net as n; n.report(["modem", "sim", "registration"], {"scale": 1})
# and print one JSON line: a list of ht.selftest.result() dicts. The modem checks share one session (one
# supervisor walking the ladder from a cold modem start), so they run in one asyncio.run; each check is a
# small coroutine that waits for its milestone and measures it. A check whose prerequisite failed is a FAIL
# that names the blocker, so the technician fixes the first failing line first.
#
# Times: "emulated" seconds = wall / scale (scale = the modem emulator's time_scale on the virtual device,
# 1 on a radio); PWRKEY/RESET pulses are real time at any scale and are not divided.
import os
import asyncio
from ht.compat import ticks_ms, ticks_diff, IS_MPY
from ht import link as L
from ht.selftest import result

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


def broker_addr(url):
    # "mqtt://host:1883" -> (host, port, tls); ht.config validated the form already
    tls = url.startswith("mqtts://")
    rest = url.split("://", 1)[1]
    host, _, port = rest.partition(":")
    return host, int(port) if port else (8883 if tls else 1883), tls


class Session:
    def __init__(self, env):
        from ht import board as B
        from ht import config as C
        self.env = env
        self.scale = float(env.get("scale") or os.getenv("HT_SIM_TIME_SCALE") or 1)
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

    # ---- timing
    def _mark(self, lk):
        if lk.state not in self.marks:
            self.marks[lk.state] = ticks_ms()

    def emu_s(self, t0, t1, pulsed_ms=0):
        wall = ticks_diff(t1, t0) - pulsed_ms
        return round((wall / self.scale + pulsed_ms) / 1000, 2)

    def deadline(self, name):
        return max(int(self.env.get("wait_" + name, WAIT_S[name]) * 1000 * self.scale), MIN_WAIT_MS)

    async def until(self, pred, wall_ms):
        t0 = ticks_ms()
        while not pred():
            if ticks_diff(ticks_ms(), t0) > wall_ms:
                return False
            await _sleep_ms(10)
        return True

    # ---- life
    async def start(self):
        from ht.modem import Modem
        from ht.supervisor import Supervisor, CYCLE
        if self.hal is None:
            import hal as H
            self.hal = H.create(self.board)
        uart = self.env.get("uart") or self.hal.modem_uart()
        # Open the link before the AT reader starts: hal.sim's SimUART opens lazily on the first read AND
        # on the first write, and two opens at once give two connections, the second replacing the first.
        await uart.write(b"")
        m = Modem.from_board(self.board, self.cfg, uart, self.hal.modem_pins(), scale=self.scale)
        m.link.subscribe(self._mark)
        self.modem = m
        self.sup = Supervisor(m)
        if self.env.get("cold", True):
            self.sup.need = CYCLE   # measure from power-on, not from whatever state the app left
        self.t0 = ticks_ms()
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
        for n in needs:
            r = self.results.get(n)
            if r is not None and not r["ok"]:
                return result(name, False, None, detail="not run: the %s check failed" % n)
        return None


# ---- checks: async fn(session) -> result dict ------------------------------------------------------
async def check_modem(s):
    from ht.supervisor import SIM
    ok = await s.until(lambda: s.sup.need >= SIM, s.deadline("modem"))
    if not ok:
        return result("modem", False, None, "s", WAIT_S["modem"],
                      "no answer to AT after power-on (%s)" % s.sup._last.get("error", "silent"))
    secs = s.emu_s(s.t0, ticks_ms(), s.modem.pulsed_ms)
    from ht import dialects
    model = ""
    try:
        lines = await s.modem.at.cmd("AT+CGMM", "")
        model = ([x for x in lines if x.strip()] or [""])[0].split(":")[-1].strip()
    except Exception as e:
        return result("modem", False, None, detail="model query failed: %r" % e)
    want = s.modem.d.name
    try:
        got = dialects.get(model).name
    except ValueError:
        got = None
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
    from ht.mqtt import MQTTClient, MQTTError
    b = s.blocked("broker", "data")
    if b:
        return b
    cfg = s.cfg
    host, port, tls = broker_addr(cfg.get("broker.url"))
    if tls:
        return result("broker", None, None, "ms", detail="mqtts:// is not tested over AT sockets yet")
    unit = cfg.get("unit.id") or "bench"
    c = MQTTClient(unit + "-bench", user=cfg.get("broker.user") or unit,
                   password=cfg.get("broker.password") or None, keepalive=cfg.get("broker.keepalive"))
    t0 = ticks_ms()
    try:
        stream = await s.sup.open(host, port)
    except Exception as e:
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


async def check_ptt(s):
    # PTT press -> talk permit through the real floor protocol and the broker's order (docs/FLOOR.md):
    # the claim must come back from the broker before the radio may talk, so this is the access time
    # a user feels (minus the audio cue).
    from ht import topics as T
    from ht import floormsg as fm
    from ht.floor import Floor, Outbox
    from ht.ptt import PTT
    b = s.blocked("ptt_access", "broker")
    if b:
        return b
    tgs = s.cfg.get("talkgroups.list")
    if not tgs:
        return result("ptt_access", None, None, "ms", detail="no talkgroup configured")
    tg, unit = tgs[0], s.cfg.get("unit.id") or "bench"
    fleet = s.env.get("fleet") or "kota"
    c = s.client
    box = Outbox()
    ptt = PTT(Floor(tg, unit, box), box)
    seen = []

    def on_msg(topic, payload, retained):
        p = T.parse(topic)
        if p and p[0] == T.FLOOR and p[2] == tg:
            m = fm.parse(bytes(payload))
            if m is not None:
                seen.append(m)
    c.on_message = on_msg
    await c.subscribe(T.talkgroup_sub(fleet, tg, T.FLOOR), 1)
    await _sleep_ms(int(200 * s.scale) + 50)   # retained floor state arrives first
    evs = []

    async def pump(now):
        while seen:
            ptt.on_floor(seen.pop(0), now)
        ptt.tick(now)
        pubs, _, e = box.drain()
        evs.extend(e)
        for kind, key, payload, qos, retain in pubs:
            if kind == "floor":
                await c.publish(T.floor(fleet, key, unit), payload, qos, retain)
    await pump(ticks_ms())
    # Another radio talking on the talkgroup (a box of radios benched together shares it) is not this
    # radio's fault: like a person, let go, wait for the floor to free, press again. The access time is
    # measured from the press that got the permit; the whole wait is bounded.
    start = ticks_ms()
    limit = max(int(10000 * s.scale), 5000)
    t0 = None
    waited = 0
    while not [e for e in evs if e[0] == "tx_start"]:
        now = ticks_ms()
        if ticks_diff(now, start) > 6 * limit:
            return result("ptt_access", False, None, "ms", None,
                          "no talk permit within %d ms (floor %s)" % (ticks_diff(now, start), ptt.state))
        if t0 is None and ptt.floor.talker() in (None, unit):
            t0 = now
            ptt.press(now)
        elif t0 is not None and (ptt.state in ("busy", "denied") or ticks_diff(now, t0) > limit):
            ptt.release(now)
            waited += 1
            t0 = None
        await pump(now)
        await _sleep_ms(2)
    ms = ticks_diff(ticks_ms(), t0)
    ptt.release(ticks_ms())
    await pump(ticks_ms())
    if waited:
        tg = "%s (waited for another talker %d times)" % (tg, waited)
    return result("ptt_access", True, ms, "ms", None, "talkgroup %s, floor granted by the broker's order" % tg)


def _tone(n):
    # DTMF "1" (697 + 1209 Hz): two tones off the 8 kHz grid, a harder test for ADPCM than one clean
    # 1 kHz sine, computed once (floats here are fine: not per frame on the radio).
    import math
    from array import array
    a = array("h", bytes(2 * n))
    for i in range(n):
        a[i] = int(6000 * (math.sin(2 * math.pi * 697 * i / 8000) + math.sin(2 * math.pi * 1209 * i / 8000)))
    return a


def audio_snr_db(frames=30, frame_ms=20, key=None, speaker=None):
    # Test signal through the radio's own voice path: Transmitter (codec + frame + tag) -> packets ->
    # Receiver (parse, jitter buffer, decoder, concealment) -> PCM, then SNR against what went in.
    # The same classes carry a talk burst; only the network between them is left out (the broker check
    # and the PTT check cover it), so a live talkgroup never hears the bench tone.
    import math
    from array import array
    from ht import codecs
    from ht.voice import Transmitter, Receiver
    n = frame_ms * 8
    sig = _tone(n * frames)
    tx = Transmitter(1, 1, codecs.PT_ADPCM, frame_ms, key=key)
    rx = Receiver(key=key, frame_ms=frame_ms, talkgroup=1)
    out = array("h", bytes(2 * n * (frames + 12)))
    buf = array("h", bytes(2 * n))
    mv = memoryview(sig)
    for k in range(frames + 12):
        now = k * frame_ms
        if k < frames:
            pkt = tx.encode(mv[k * n:(k + 1) * n], last=(k == frames - 1))
            rx.push(bytes(pkt), now)
        rx.pull(now, buf)
        out[k * n:(k + 1) * n] = buf
    if speaker is not None:
        speaker.write(out)
    start = rx.burst_at
    if start < 0:
        return None
    best = None
    lo, hi = 2 * n, (frames - 2) * n       # ADPCM settles in the first frames; the tail fades out
    for lag in range(-4, 5):
        s2 = e2 = 0
        for i in range(lo, hi):
            j = start + lag + i
            if 0 <= j < len(out):
                d = sig[i] - out[j]
                s2 += sig[i] * sig[i]
                e2 += d * d
        snr = 99.0 if e2 == 0 else 10 * math.log10(s2 / e2)
        if best is None or snr > best:
            best = snr
    return round(best, 1)


async def check_audio(s):
    spk = None
    if s.hal is not None and hasattr(s.hal, "speaker"):
        spk = s.hal.speaker()
    snr = audio_snr_db(speaker=spk)
    if snr is None:
        return result("audio_loopback", False, None, "dB", None, "no audio came out of the receiver")
    return result("audio_loopback", True, snr, "dB", None, "DTMF test tone, ADPCM 20 ms frames")


CHECKS = {"modem": check_modem, "sim": check_sim, "iccid": check_iccid, "registration": check_registration,
          "signal": check_signal, "data": check_data, "broker": check_broker, "ptt_access": check_ptt, "audio_loopback": check_audio}


async def run_async(names=None, env=None):
    s = Session(env or {})
    out = []
    names = names or ORDER
    if [n for n in names if n != "audio_loopback"]:
        await s.start()
    elif s.hal is None:
        import hal as H
        s.hal = H.create(s.board)
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
