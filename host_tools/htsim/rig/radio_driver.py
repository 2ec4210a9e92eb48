# Runs real radios (ht.radio.app.Radio on hal/sim.py) against a real broker and prints one JSON line of
# results. Runs unchanged under MicroPython unix (spawned by tests/e2e/test_radio_mosquitto.py) and
# CPython (imported by the same tests). Usage: micropython radio_driver.py '<json args>'
#   '<json args>' may also be '@<path of a JSON file>' (the unix port dies on an argv string >= 256 bytes).
#   args: host, port, out (folder for <unit>.raw speaker PCM), scenario ("talk" | "modem"),
#         mic (raw 8 kHz PCM16LE file for radio a), emu {uart, dialect, scale} for "modem".
import sys
import json
import asyncio
from ht.compat import ticks_ms, ticks_diff, asleep_ms as _sleep_ms
from ht.config import Config
from ht import board as B
from hal import netstream
from ht.radio import topics as T
from ht.radio.app import Radio
from ht.mqtt.robust import RobustClient
from ht.radio.msgtag import Tagger
from hal.sim import HAL

FLEET = "kota"
KEY = b"fleet-voice-key"
CC_TAGS = Tagger(KEY)
BOARD = "boards/LILYGO_T_A7670/board.json"



def password(u):
    return "pw-" + u


def config(u, prio="normal"):
    return Config({"unit.id": u, "unit.priority": prio, "talkgroups.list": ["1"], "audio.frame_ms": 20,
                   "broker.user": u, "broker.password": password(u), "broker.keepalive": 10,
                   "emergency.sms_numbers": ["+628111000111", "+628111000222"], "emergency.hot_mic_s": 2,
                   # studio speech at line level, not an INMP441 at arm's length (see rig/radio.py)
                   "mic.frontend": False, "speaker.level": False})


class Rig:
    def __init__(self, host, port):
        self.host = host
        self.port = port
        self.board = B.load_path(BOARD)
        self.radios = {}
        self.hals = {}
        self.ev = {}

    def add(self, u, mic=b"", opener=None, key=KEY, **kw):
        hal = HAL(self.board, mic_pcm=mic)
        log = []
        self.ev[u] = log
        r = Radio(hal, config(u), net_opener=opener or netstream.opener(self.host, self.port), fleet=FLEET,
                  key=key, events=lambda now, k, d, log=log: log.append((now, k, d)), **kw)
        self.radios[u] = r
        self.hals[u] = hal
        return r

    def start(self):
        self.tasks = [asyncio.create_task(r.run()) for r in self.radios.values()]

    def when(self, u, kind, pred=None):
        for now, k, d in self.ev[u]:
            if k == kind and (pred is None or pred(d)):
                return now
        return None

    def cue_at(self, u, name, after=None):
        for now, k, d in self.ev[u]:
            if k == "cue" and d["name"] == name and (after is None or ticks_diff(now, after) >= 0):
                return now
        return None

    async def until(self, pred, what, ms=20000):
        t0 = ticks_ms()
        while not pred():
            if ticks_diff(ticks_ms(), t0) > ms:
                raise AssertionError("timed out waiting for " + what)
            await _sleep_ms(10)

    def save(self, out):
        for u in self.hals:
            f = open("%s/%s.raw" % (out, u), "wb")
            f.write(bytes(self.hals[u].speaker().pcm))
            f.close()

    async def stop(self):
        for r in self.radios.values():
            await r.stop()
        await _sleep_ms(50)


def _cc_open(t, p):
    # the Command Center keeps only what carries the fleet key's tag (ht.radio.msgtag)
    body = CC_TAGS.open(t, p)
    return (bytes(t).decode(), body if body is not None else b"<bad tag>")


async def cc_client(host, port, got):
    c = RobustClient(netstream.opener(host, port), "cc", user="cc", password=password("cc"), keepalive=10)
    c.on_message = lambda t, p, r: got.append(_cc_open(t, p))
    await c.subscribe(T.units_sub(FLEET, T.ACK), 1)
    await c.subscribe(T.emergency_sub(FLEET), 1)
    c.start()
    await c.wait_online(10000)
    return c


async def talk(rig, res, speaker="a", hold_ms=2500):
    h = rig.hals[speaker]
    t_press = ticks_ms()
    h.press("ptt")
    await rig.until(lambda: rig.cue_at(speaker, "permit", t_press) is not None, "talk permit")
    res["access_ms"] = ticks_diff(rig.cue_at(speaker, "permit", t_press), t_press)
    t_start = rig.when(speaker, "tx_start")
    others = [u for u in rig.radios if u != speaker]
    for u in others:
        await rig.until(lambda u=u: rig.when(u, "talker", lambda d: d["unit"] == speaker) is not None, "talker")
    await rig.until(lambda: all(rig.when(u, "rx_start") is not None for u in others), "audio at listeners")
    res["m2e_ms"] = [ticks_diff(rig.when(u, "rx_start"), t_start) + 20 for u in others]
    await _sleep_ms(hold_ms)
    h.press("ptt", False)
    for u in others:
        await rig.until(lambda u=u: rig.when(u, "free") is not None, "floor free")


async def scenario_talk(args, res):
    rig = Rig(args["host"], args["port"])
    mic = open(args["mic"], "rb").read() if args.get("mic") else b""
    for u in ("a", "b", "c"):
        rig.add(u, mic if u == "a" else b"")
    rig.start()
    await rig.until(lambda: all(r.online for r in rig.radios.values()), "online")
    await rig.until(lambda: all(len([1 for _, k, d in rig.ev[u] if k == "presence" and d["stage"] == "online"])
                                >= 2 for u in rig.radios), "presence of the others")
    t_press = ticks_ms()
    rig.hals["a"].press("ptt")
    await rig.until(lambda: rig.cue_at("a", "permit", t_press) is not None, "permit")
    # a second presser hears the busy tone and never gets the floor
    t_b = ticks_ms()
    rig.hals["b"].press("ptt")
    await rig.until(lambda: rig.cue_at("b", "busy", t_b) is not None, "busy on b")
    rig.hals["b"].press("ptt", False)
    rig.hals["a"].press("ptt", False)
    await rig.until(lambda: rig.when("b", "free") is not None, "free after a")
    for u in rig.hals:
        rig.hals[u].speaker().pcm[:] = b""
    rig.radios["a"].audio.mic.pos = 0
    rig.ev["b"][:] = []
    rig.ev["c"][:] = []
    rig.ev["a"][:] = []
    await talk(rig, res, "a", args.get("hold_ms", 3000))
    res["b_permit"] = rig.cue_at("b", "permit") is not None
    rig.save(args["out"])
    res["talker_shown"] = [d["unit"] for _, k, d in rig.ev["b"] if k == "talker"]
    # emergency pre-empts: a talks, c presses emergency
    got = []
    cc = await cc_client(args["host"], args["port"], got)
    t0 = ticks_ms()
    rig.hals["a"].press("ptt")
    await rig.until(lambda: rig.cue_at("a", "permit", t0) is not None, "permit again")
    rig.hals["c"].press("emergency")
    await rig.until(lambda: rig.cue_at("a", "preempted", t0) is not None, "a pre-empted")
    await rig.until(lambda: rig.when("b", "talker", lambda d: d["unit"] == "c" and d["prio"] == 3) is not None,
                    "b shows c's emergency")
    await rig.until(lambda: any(t == "ht/kota/em/c" for t, _ in got), "alert at the Command Center")
    rig.hals["a"].press("ptt", False)
    rig.hals["c"].press("emergency", False)
    # roll call answered by a PTT press
    t1 = ticks_ms()
    await cc.publish(T.rollcall(FLEET), CC_TAGS.seal(T.rollcall(FLEET), b'{"id":"rc7","dl":20,"by":"cc"}'), 1, False)
    await rig.until(lambda: rig.cue_at("b", "rollcall", t1) is not None, "roll call alert")
    rig.hals["b"].press("ptt")
    await rig.until(lambda: any(t == "ht/kota/u/b/a" for t, _ in got), "roll call answer at the Command Center")
    rig.hals["b"].press("ptt", False)
    res["rc_answers"] = [p.decode() for t, p in got if t.endswith("/a")]
    # c's link dies without DISCONNECT: the broker's last will marks it offline
    c = rig.radios["c"].client
    c._stop = True
    await c._s.close()
    await rig.until(lambda: rig.when("b", "presence", lambda d: d["unit"] == "c" and d["stage"] == "offline")
                    is not None, "c offline at b")
    res["stats"] = {u: rig.radios[u].stats() for u in rig.radios}
    await cc.stop()
    await rig.stop()


async def main(args):
    res = {"scenario": args["scenario"]}
    if args["scenario"] == "talk":
        await scenario_talk(args, res)
    else:
        from radio_modem import scenario_modem
        await scenario_modem(args, res, Rig, talk)
    return res


if __name__ == "__main__":
    a = sys.argv[1]
    if a.startswith("@"):
        f = open(a[1:])
        a = f.read()
        f.close()
    out = asyncio.run(main(json.loads(a)))
    print("RESULT " + json.dumps(out))
