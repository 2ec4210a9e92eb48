"""Battery and power figures (docs/POWER.md), policy off ("_before") and on side by side in one run.

Energy: the radio's day is simulated on a 0.25 s grid for 6 hours per profile. The uplink exchanges come
from the firmware's own Presence (beats, telemetry; batched or not as power.save says), the fleet's beats
arrive at random phases in the "before" (every radio heard every other's beat, QoS 0; now they go to the
Command Center only), talk and listen bursts follow the profile.
Each packet puts the modem in RRC_CONNECTED for the tail (htsim.emu.rrc.TAIL_S, the same model the emulator
applies to the firmware's traffic); between exchanges the modem sleeps when the policy lets it (woken for
each exchange, the supervisor's probe and the socket's safety poll, then awake for ModemSleep.idle_ms);
the CPU runs at the policy's speed. Currents per state come from boards/LILYGO_T_A7670/board.json ("power",
with sources); hours = cell_mah / average mA.

Measured through the modem emulator and Mosquitto (real firmware, CPython): 16 bursts to one listener,
alternately with its modem asleep (policy on) and held awake (policy off, switched at run time): frames lost,
and the extra mouth-to-ear of each asleep burst over the awake one after it (pairs side by side, so a loaded
machine moves both); and the dead-link
time at default settings (keepalive 60 s, reply deadline 10 s): deadlink_detect_s_* is the issue's case (the
flow dies silently - a carrier NAT forgot it - while new flows work, and a QoS 1 alert goes out at that
moment: seconds until the radio is online again on a new flow, the alert re-sent); deadlink_outage_back_s_*
is a 60 s outage of the whole path starting just after an answered exchange: seconds from the path's
return until the radio is online.
"""
import asyncio
import json
import random
import statistics
import tempfile

from ht.config import Config
from ht.radio.presence import Presence
from htctl.firmware import BOARDS_DIR
from htsim.emu.rrc import TAIL_S

UNITS = {k: "h" for k in ("battery_hours_standby", "battery_hours_workday", "battery_hours_emergency",
                          "battery_hours_standby_before", "battery_hours_workday_before",
                          "battery_hours_emergency_before", "battery_hours_standby_fleet_beats")}
UNITS.update({"wake_to_audio_ms_median": "ms", "wake_to_audio_ms_p95": "ms", "wake_frames_lost": "frames", "idle_bytes_per_hour": "bytes",
              "idle_bytes_per_hour_before": "bytes", "deadlink_detect_s_default": "s",
              "deadlink_detect_s_before": "s", "deadlink_outage_back_s": "s",
              "deadlink_outage_back_s_before": "s", "m2e_ms_asleep_median": "ms", "m2e_ms_awake_median": "ms", "modem_connected_share_standby": "%",
              "modem_connected_share_standby_before": "%"})
GOALS = {"battery_hours_standby": ">= 72", "battery_hours_workday": ">= 16", "wake_frames_lost": "0",
         "wake_to_audio_ms_p95": "<= 150 extra", "deadlink_detect_s_default": "<= 15"}

DT = 0.25
HOURS = 6
FLEET = 8                      # radios whose beats this one hears (one OPD's fleet)
TCPIP = 40                     # IPv4 + TCP header bytes per packet
PROFILES = {"standby": (0.0, 0.0), "workday": (0.05, 0.20), "emergency": (0.30, 0.30)}


class _Box:
    def __init__(self):
        self.out = []

    def publish(self, kind, key, payload, qos, retain):
        self.out.append((kind, len(payload), qos))


def _uplink(save, seconds):
    # (t, bytes on the wire) of every exchange the radio starts while idle, from the firmware's Presence
    cfg = Config({"unit.id": "r1"})
    ka = cfg.get("broker.keepalive")
    tel = cfg.get("telemetry.interval_s") if save else 60      # 60 s: the default before the policy
    box = _Box()
    p = Presence("r1", box, "ht-1", tel * 1000, ka * 900, batch=save)
    p.reconnected(0)
    out = []
    for s in range(int(seconds)):
        n = len(box.out)
        p.tick(s * 1000, s, {"txf": 0, "rxf": 0, "vrej": 0})
        for kind, size, qos in box.out[n:]:
            # PUBLISH (+ topic ~20 B) and, QoS 1, its PUBACK; each packet with TCP/IP and an ACK each way
            wire = size + 22 + 2 * TCPIP + (4 + 2 * TCPIP if qos else 0)
            out.append((float(s), wire))
    return out


def _day(ma, save, talk, listen, seed=1, fleet=FLEET, beats=None):
    # beats: the fleet's beats reach this radio (the "before"; default: not save)
    if beats is None:
        beats = not save
    rng = random.Random(seed)
    secs = HOURS * 3600
    n = int(secs / DT)
    state = bytearray(n)        # 0 idle, 1 listen, 2 talk
    for frac, code in ((talk, 2), (listen, 1)):
        need = int(frac * n)
        while need > 0:
            ln = int(rng.uniform(6, 20) / DT)
            i = rng.randrange(0, n - ln)
            if any(state[i:i + ln]):
                continue
            state[i:i + ln] = bytes([code]) * ln
            need -= ln
    traffic = bytearray(n)      # a packet either way in this step
    uart = bytearray(n)         # the host talks to the modem in this step
    up = _uplink(save, secs)
    idle_bytes = sum(b for _, b in up)
    for t, _ in up:
        traffic[int(t / DT)] = 1
    # Before: every radio got every fleet member's beat on the presence topic (QoS 0); now the beats have
    # their own topic that only the Command Center takes (ht.radio.topics.BEAT).
    for _ in range(fleet - 1 if beats else 0):
        ph = rng.uniform(0, 54)
        t = ph
        while t < secs:
            traffic[int(t / DT)] = 1
            idle_bytes += 30 + 22 + TCPIP * 2
            t += 54
    probe, poll = (20, 30) if save else (3, 2)
    for every in (probe, poll):
        for i in range(0, n, int(every / DT)):
            uart[i] = 1
    tail = int(TAIL_S / DT)
    awake_hold = int(0.5 / DT) + 1
    conn_until = -1
    awake_until = -1
    total = 0.0
    conn_steps = 0
    for i in range(n):
        st = state[i]
        if st or traffic[i]:
            conn_until = i + tail
            awake_until = i + awake_hold
        if uart[i]:
            awake_until = max(awake_until, i + awake_hold)
        connected = i <= conn_until
        conn_steps += connected
        if st == 2:
            modem = ma["modem_talk"]
        elif st == 1:
            modem = ma["modem_listen"]
        elif connected:
            modem = ma["modem_connected"]
        elif save and i > awake_until:
            modem = ma["modem_sleep"]
        else:
            modem = ma["modem_idle"]
        if st:
            cpu = ma["esp32_240_busy"]
        else:
            cpu = ma["esp32_80_idle"] if save else ma["esp32_240_idle"]
        audio = ma["amp_quiescent"] + ma["mic"] + (ma["amp_play"] if st == 1 else 0)
        total += modem + cpu + audio + ma["board"]
    return total / n, conn_steps / n, idle_bytes / HOURS


def _energy():
    board = json.loads((BOARDS_DIR / "LILYGO_T_A7670" / "board.json").read_text())
    ma = board["power"]["ma"]
    cell = board["power"]["cell_mah"]
    out = {}
    for save, sfx in ((True, ""), (False, "_before")):
        for name, (talk, listen) in PROFILES.items():
            avg, conn, idle_b = _day(ma, save, talk, listen)
            out["battery_hours_%s%s" % (name, sfx)] = round(cell / avg, 1)
            if name == "standby":
                out["modem_connected_share_standby%s" % sfx] = round(100 * conn, 1)
                out["idle_bytes_per_hour%s" % sfx] = round(idle_b)
    # the policy alone, with the fleet's beats still reaching every radio: what moving them saves
    avg, _, _ = _day(ma, True, 0, 0, beats=True)
    out["battery_hours_standby_fleet_beats"] = round(cell / avg, 1)
    return out


def _arbiters(m, fleet):
    # the floor arbiters (primary and standby) in a thread of their own beside the broker, as in production
    import threading
    from htcc.arbiter.service import run_pair
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box = {}

    async def main():
        box["svcs"] = await run_pair(fleet, m.host, m.port, ("1",),
                                     accounts=(("arb-a", "pw-arb-a"), ("arb-b", "pw-arb-b")))
        ready.set()
        await asyncio.gather(*[s.task for s in box["svcs"]], return_exceptions=True)

    t = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    t.start()
    ready.wait(10)

    def stop():
        for s in box.get("svcs", ()):
            asyncio.run_coroutine_threadsafe(s.stop(), loop).result(10)
        t.join(10)
    return stop


def _live():
    # the real firmware through the emulator and Mosquitto: wake-up cost and dead-link time
    from fixtures.mosquitto import Mosquitto
    from htctl.mosquitto import fleet_rights
    from htsim import rig, speech
    from htsim.emu import ModemEmulator
    drv = rig.load("radio_driver")
    rp = rig.load("radio_power")
    users = {u: drv.password(u) for u in ("a", "b", "cc")}
    users.update({"arb-a": "pw-arb-a", "arb-b": "pw-arb-b"})
    out = {}
    with tempfile.TemporaryDirectory() as tmp, \
            Mosquitto(users=users, acl=fleet_rights(drv.FLEET, {u: ["1"] for u in ("a", "b")},
                                                     command_center=("cc",))) as m:
        stop_arbiters = _arbiters(m, drv.FLEET)
        mic = "%s/mic.raw" % tmp
        open(mic, "wb").write(speech.load()[:12000].astype("<i2").tobytes())
        with ModemEmulator(dialect="A7670", powered=True, time_scale=0.05) as emu:
            # one listener, bursts alternating: its modem asleep (policy on) / held awake (policy off)
            a = {"host": m.host, "port": m.port, "mic": mic, "save": True, "alternate": True, "bursts": 16,
                 "hold_ms": 1000, "emu": {"uart": emu.uart_port, "ctl": emu.ctl_port, "scale": emu.time_scale}}
            res = {}
            asyncio.run(rp.scenario_sleep_burst(a, res, drv.Rig, drv.talk))
        bs = res["bursts"]
        extra = sorted(bs[i]["m2e_ms"] - bs[i + 1]["m2e_ms"] for i in range(0, len(bs) - 1, 2))
        out["wake_to_audio_ms_p95"] = round(max(0.0, extra[int(round(0.95 * (len(extra) - 1)))]), 1)
        out["wake_to_audio_ms_median"] = round(statistics.median(extra), 1)
        out["wake_frames_lost"] = sum(b["sent"] - b["heard"] for b in bs if b["save"])
        out["m2e_ms_asleep_median"] = statistics.median(b["m2e_ms"] for b in bs if b["save"])
        out["m2e_ms_awake_median"] = statistics.median(b["m2e_ms"] for b in bs if not b["save"])
        runs = ((True, True, "deadlink_detect_s_default"), (False, True, "deadlink_detect_s_before"),
                (True, False, "deadlink_outage_back_s"), (False, False, "deadlink_outage_back_s_before"))
        for fast, flow, key in runs:
            with ModemEmulator(dialect="A7670", powered=True, time_scale=0.05) as emu:
                a = {"host": m.host, "port": m.port, "keepalive": 60, "hole_ms": 60000, "dead_fast": fast,
                     "flow": flow, "emu": {"uart": emu.uart_port, "ctl": emu.ctl_port, "scale": emu.time_scale}}
                res = {}
                asyncio.run(rp.scenario_deadlink(a, res, drv.Rig))
                out[key] = round(max(0, res["back_after_return_ms"]) / 1000.0, 1)
                print("   %s: down after %.1f s (%s), online %.1f s after the path returned" % (
                    key, res["down_after_ms"] / 1000.0, res["reason"], res["back_after_return_ms"] / 1000.0),
                    flush=True)
        stop_arbiters()
    return out


def run():
    out = _energy()
    out.update(_live())
    return out
