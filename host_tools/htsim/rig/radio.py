# Fleet simulation driver: runs ONE OR MORE real radios (ht.radio.app.Radio on hal/sim.py) in one interpreter
# and reports what happens as JSON lines on stdout. Runs unchanged under MicroPython unix (the fleet's
# default) and CPython (`--mode cpython`, and radios behind the modem emulator, see docs/FLEET.md).
#   micropython radio.py <args.json>      (MICROPYPATH = firmware)
# args: fleet, key (text) or key_hex, board, out, end (ms after the start), frame_ms, keepalive, telemetry_s,
#       radios [{unit, prio, tgs, host, port, password, cc, modem: {uart, ctl, scale} or null}],
#       clips {name: raw 8 kHz PCM16LE path}, script [[t_ms, unit, action, {params}], ...] (sorted by t).
# <out>/stop.json ends the run before `end`.
# Protocol: "EV [wall_ms, unit, kind, {fields}]" lines (wall_ms: CLOCK_REALTIME, the clock every process
# on the host shares), "READY [units not online]" after warm-up, then the script runs on the scenario
# clock (wall time minus the t0 the runner writes into <out>/go.json), then "DONE {unit: stats}".
import sys
import json
import time
import asyncio
from ht.compat import ticks_ms, ticks_diff, asleep_ms as _sleep_ms
from ht.config import Config
from ht import board as B
from hal import netstream
from ht.radio import topics as T
from ht.radio.app import Radio
from ht.radio.floor import Outbox
from ht.radio.rollcall import RollCallCollector
from ht.radio.emergency import ack_payload
from hal.sim import HAL, AudioIn


_W0 = time.time_ns() // 1000000
_K0 = ticks_ms()
T0 = [None]          # wall ms of the scenario start (go.json); None while warming up


def wall(now):
    return _W0 + ticks_diff(now, _K0)


def rel(now):
    t0 = T0[0]
    return wall(now) - (t0 if t0 is not None else _W0)


def out(line):
    sys.stdout.write(line + "\n")
    try:
        sys.stdout.flush()
    except AttributeError:
        pass


def cpu_s():
    # This process's CPU seconds (user + system) from /proc (Linux, both interpreters; USER_HZ is 100
    # there whatever the kernel's HZ), or None elsewhere. The fleet's cost per radio comes from it: unlike
    # late frames it does not depend on what else the shared machine is running.
    try:
        f = open("/proc/self/stat")
        s = f.read()
        f.close()
        p = s[s.rfind(")") + 2:].split()
        return (int(p[11]) + int(p[12])) / 100.0
    except (OSError, ValueError, IndexError):
        return None


def emit(now, unit, kind, d):
    out("EV " + json.dumps([wall(now), unit, kind, d]))


class Mic:
    # The radio's microphone: a scenario talk action loads a clip; the first read of a burst is stamped
    # (mouth-to-ear starts where a sample enters the microphone).
    def __init__(self, unit):
        self.unit = unit
        self.src = AudioIn(b"")
        self.last = None

    def load(self, pcm):
        self.src = AudioIn(pcm)

    def readinto(self, buf):
        now = ticks_ms()
        if self.last is None or ticks_diff(now, self.last) > 200:
            emit(now, self.unit, "mic_start", {})
        self.last = now
        return self.src.readinto(buf)


class Clock:
    # Counts audio frames whose step ran more than one period after its slot: the real-time figure.
    def __init__(self, audio):
        self.audio = audio
        self.period = audio.frame_ms
        self.base = None
        self.k = 0
        self.frames = 0
        self.late = 0
        self.inner = audio.step

    def step(self, now):
        # A plain function handing back AudioPath.step's coroutine: wrapping it in a coroutine of our
        # own would add a heap object and a resume per frame to the figure this class measures.
        if self.base is None:
            self.base = now
        lag = ticks_diff(now, self.base) - self.k * self.period
        self.frames += 1
        if lag > self.period:
            self.late += 1
            if lag > 5 * self.period:     # ht.radio.audio resets its clock too: count once, then rebase
                self.base = now
                self.k = 0
        self.k += 1
        return self.inner(now)


class Unit:
    def __init__(self, spec, args, board):
        self.spec = spec
        self.name = u = spec["unit"]
        self.fleet = args["fleet"]
        cfg = Config({"unit.id": u, "unit.priority": spec.get("prio", "normal"),
                      "talkgroups.list": spec.get("tgs") or ["1"], "audio.frame_ms": args.get("frame_ms", 20),
                      "broker.user": u, "broker.password": spec.get("password") or "",
                      "broker.keepalive": args.get("keepalive", 10),
                      "telemetry.interval_s": args.get("telemetry_s", 60),
                      "emergency.sms_numbers": args.get("sms_numbers") or ["+628111000111"],
                      "emergency.hot_mic_s": args.get("hot_mic_s", 3),
                      # The fleet's microphones are studio speech at line level (htsim.speech), not an INMP441
                      # at arm's length: the front end and the speaker's leveller are off, so fleet figures measure the network path
                      # (compared with htsim.audiopath). Realistic mic material: htsim.micsim, bench_voice_frontend.
                      "mic.frontend": False, "speaker.level": False})
        self.sup = None
        hook = self.hook
        key = args.get("key")
        key = key.encode() if key else None
        if args.get("key_hex"):     # the registry's fleet key (random bytes, hex in config.json as on a radio)
            from binascii import unhexlify
            key = unhexlify(args["key_hex"])
        m = spec.get("modem")
        if m:
            from ht.radio import boot as radio_boot
            cfg.set("broker.url", "mqtt://%s:%d" % (spec["host"], spec["port"]))
            self.hal = HAL(board, uart="127.0.0.1:%d" % m["uart"], ctl="127.0.0.1:%d" % m["ctl"])
            self.radio, self.sup = radio_boot.build(self.hal, board, cfg, events=hook, scale=m.get("scale", 1.0),
                                                    store=False, fleet=self.fleet, key=key)
        else:
            self.hal = HAL(board, mic_pcm=b"")
            self.radio = Radio(self.hal, cfg, net_opener=netstream.opener(spec["host"], spec["port"]),
                               fleet=self.fleet, key=key, events=hook)
        self.mic = Mic(u)
        self.radio.audio.mic = self.mic
        self.clock = Clock(self.radio.audio)
        self.radio.audio.step = self.clock.step
        self.rc = None
        if spec.get("cc"):
            self._command_center()

    def hook(self, now, kind, d):
        emit(now, self.name, kind, d)
        if self.rc is not None and kind == "presence":
            self.rc.on_presence(d["unit"], d["stage"] != "offline")

    def _command_center(self):
        # The Command Center is a radio with priority "command" that also runs the roll-call collector
        # (ht.radio.rollcall) and acknowledges emergencies, as the console would.
        r = self.radio
        self.rc = RollCallCollector(Outbox(), by=self.name)
        self.t_ack = T.units_sub(self.fleet, T.ACK)
        r.subs.append((self.t_ack, 1))
        # A tap ahead of the radio's own dispatcher, on the live client: the Command Center is the
        # rig's, not firmware the radio ships (MQTTClient keeps on_message an attribute for such taps).
        inner = r.inbound.on_message

        def on_message(topic, payload, retained):
            p = T.parse(topic)
            if p is not None and p[0] == T.ACK and self.rc.rc_id is not None:
                tg = r.keys.tagger
                body = bytes(payload) if tg is None else tg.open(topic, payload)
                if body is None:
                    emit(ticks_ms(), self.name, "bad_msg", {"topic": bytes(topic).decode(), "why": "bad tag"})
                    return      # an answer nobody with the fleet key made
                if self.rc.on_ack(body, ticks_ms()):
                    emit(ticks_ms(), self.name, "rollcall_ack", {"unit": p[3]})
            elif p is not None and p[0] == T.ROLLCALL:
                return      # our own call: the Command Center does not answer it
            inner(topic, payload, retained)
        r.client.on_message = on_message

    def start_rollcall(self, rc_id, units, deadline_s):
        now = ticks_ms()
        self.rc.start(rc_id, units, now, deadline_s)
        for kind, key, payload, qos, retain in self.rc.out.drain()[0]:
            self.radio.publish(T.rollcall(self.fleet), payload, qos, retain)
        emit(now, self.name, "rollcall_start", {"id": rc_id, "units": list(units), "deadline_s": deadline_s})

    def rollcall_report(self):
        if self.rc is None or self.rc.rc_id is None:
            return None
        return self.rc.report(ticks_ms())

    def ack(self, unit):
        self.radio.publish(T.unit_topic(self.fleet, unit, T.COMMAND), ack_payload(unit, self.name), 1)
        emit(ticks_ms(), self.name, "emergency_ack_sent", {"unit": unit})

    def stats(self):
        s = self.radio.stats()
        s["frames"] = self.clock.frames
        s["late_frames"] = self.clock.late
        s["heard_bytes"] = len(self.hal.speaker().pcm)
        return s


class Driver:
    def __init__(self, args):
        self.args = args
        boards = {}
        self.units = {}
        for spec in args["radios"]:
            path = spec.get("board") or args["board"]    # a radio with a modem: the board of its dialect
            if path not in boards:
                boards[path] = B.load_path(path)
            self.units[spec["unit"]] = Unit(spec, args, boards[path])
        self.clips = args.get("clips") or {}
        self.held = []
        self.cpu0 = None

    def clip(self, name):
        f = open(self.clips[name], "rb")
        pcm = f.read()
        f.close()
        return pcm

    async def start(self):
        for u in self.units.values():
            if u.sup is not None:
                uart = u.hal.modem_uart()
                if getattr(uart, "_u", 1) is None:
                    await uart._open()     # one cable: open before the AT engine reads and writes at once
                u.sup.start()
        # Staggered by 50 ms: a whole process connecting in the same instant makes the embedded broker
        # (amqtt) race on its subscription table; radios in the field never boot in lock-step either.
        self.tasks = []
        for u in self.units.values():
            self.tasks.append(asyncio.create_task(u.radio.run()))
            await _sleep_ms(50)

    async def warm_up(self):
        t = ticks_ms()
        limit = self.args.get("warmup_ms", 60000)
        while not all(u.radio.online for u in self.units.values()) and ticks_diff(ticks_ms(), t) < limit:
            await _sleep_ms(50)
        out("READY " + json.dumps([u for u in self.units if not self.units[u].radio.online]))
        go = self.args["out"] + "/go.json"
        while True:
            try:
                f = open(go)
                T0[0] = json.loads(f.read())["t0"]
                f.close()
                return
            except (OSError, ValueError):
                await _sleep_ms(20)

    async def play(self):
        self.cpu0 = cpu_s()
        self.t_play = ticks_ms()
        for t_ms, unit, action, p in self.args["script"]:
            d = t_ms - rel(ticks_ms())
            if d > 0:
                await _sleep_ms(d)
            u = self.units.get(unit)
            if u is not None:
                self.act(u, action, p)
        end = self.args["end"]
        stop = self.args["out"] + "/stop.json"    # a driver that decides when it has seen enough writes it
        while rel(ticks_ms()) < end:
            try:
                f = open(stop)
                f.close()
                break
            except OSError:
                pass
            await _sleep_ms(50)

    def act(self, u, action, p):
        h = u.hal
        if action == "press":
            h.press("ptt")
        elif action == "release":
            h.press("ptt", False)
        elif action == "talk":
            u.mic.load(self.clip(p["clip"]) if p.get("clip") else b"")
            h.press("ptt")
        elif action == "emergency":
            if p.get("clip"):
                u.mic.load(self.clip(p["clip"]))
            h.press("emergency")
        elif action == "emergency_release":
            h.press("emergency", False)
        elif action == "rollcall":
            u.start_rollcall(p.get("id", "rc1"), p.get("units") or [x for x in self.args["all_units"]
                                                                       if x != u.name], p.get("deadline_s", 10))
        elif action == "ack":
            u.ack(p["target"])
        elif action == "report":
            emit(ticks_ms(), u.name, "rollcall_report", u.rollcall_report() or {})
        emit(ticks_ms(), u.name, "action", {"do": action})

    async def stop(self):
        c = cpu_s()
        if c is not None and self.cpu0 is not None:
            out("CPU " + json.dumps({"cpu_s": c - self.cpu0, "wall_s": ticks_diff(ticks_ms(), self.t_play) / 1000,
                                     "radios": len(self.units)}))
        for u in self.units.values():
            f = open("%s/%s.raw" % (self.args["out"], u.name), "wb")
            f.write(bytes(u.hal.speaker().pcm))
            f.close()
            rep = u.rollcall_report()
            if rep is not None:
                emit(ticks_ms(), u.name, "rollcall_report", rep)
        stats = {}
        for n, u in self.units.items():
            stats[n] = u.stats()
        out("DONE " + json.dumps(stats))
        for u in self.units.values():
            try:
                await u.radio.stop()
            except Exception:
                pass
            if u.sup is not None:
                u.sup.stop()


async def main(args):
    d = Driver(args)
    await d.start()
    await d.warm_up()
    await d.play()
    await d.stop()


if __name__ == "__main__":
    f = open(sys.argv[1])
    a = json.loads(f.read())
    f.close()
    asyncio.run(main(a))
