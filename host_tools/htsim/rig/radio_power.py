# Power scenarios for radio_driver.py's Rig (docs/POWER.md): a listener rides MQTT through the modem emulator
# with the power policy on (or off), a talker on plain TCP.
#   scenario_sleep_burst: bursts addressed to a listener whose modem sleeps (DTR high, AT+CSCLK=1): every
#     frame heard? mouth-to-ear per burst (the bench compares policy on/off for the wake-up's extra delay).
#   scenario_deadlink: the listener's data path blackholes (emulator fault: open flows die silently, nothing
#     gets through for hole_ms, then new connections work): when does it drop, why, and how long after the
#     path returned is it online again.
# args: host, port, mic, emu {uart, ctl, scale}, save (power.save), dead_fast, keepalive, bursts, hold_ms,
#       hole_ms (real ms), settle_ms.
import json
from ht.compat import ticks_ms, ticks_diff, asleep_ms as _sleep_ms
from ht.radio import boot as radio_boot
from hal.sim import HAL
from modem_driver import Ctl


def _listener(drv, rig, u, args):
    emu = args["emu"]
    cfg = drv.config(u)
    cfg.set("broker.url", "mqtt://%s:%d" % (args["host"], args["port"]))
    cfg.set("audio.frame_ms", 40)
    cfg.set("power.save", bool(args.get("save", True)))
    if args.get("keepalive"):
        cfg.set("broker.keepalive", args["keepalive"])
    hal = HAL(rig.board, uart="127.0.0.1:%d" % emu["uart"], ctl="127.0.0.1:%d" % emu["ctl"])
    log = []
    rig.ev[u] = log
    r, sup = radio_boot.build(hal, rig.board, cfg, events=lambda now, k, d: log.append((now, k, d)),
                              scale=emu["scale"], store=False, fleet=drv.FLEET, key=drv.KEY,
                              dead_fast=bool(args.get("dead_fast", True)))
    rig.radios[u] = r
    rig.hals[u] = hal
    return r, sup


def _status(ctl):
    return json.loads(ctl("status"))


async def scenario_sleep_burst(args, res, Rig, talk):
    import radio_driver as drv
    ctl = Ctl(args["emu"]["ctl"])
    rig = Rig(args["host"], args["port"])
    mic = open(args["mic"], "rb").read()
    a = rig.add("a", mic)
    b, sup = _listener(drv, rig, "b", args)
    sup.start()
    rig.start()
    await rig.until(lambda: a.online and b.online, "online", 90000)
    res["bursts"] = []
    alternate = args.get("alternate", False)
    for i in range(args.get("bursts", 1)):
        save = args.get("save", True) and not (alternate and i % 2)
        if alternate:
            # odd bursts with the policy off on the same radio: pairs measured side by side
            b.power.set_enabled(save, ticks_ms())
        if save:
            sl = b.power.sleep
            try:
                # the press follows the moment the emulator says the module sleeps (a probe may wake it
                # again before the burst's first packet reaches it: then the URC path does, as it should)
                await rig.until(lambda: _status(ctl)["sleeping"], "the listener's modem asleep", 30000)
            except AssertionError:
                raise AssertionError("modem never slept: policy %s, sleep %s, pins %s" % (
                    b.power.mode, sl and (sl.enabled, sl.allowed, sl.awake, sl.sleeps, sl.cmd),
                    _status(ctl)["pins"]))
            asleep = True
        else:
            await _sleep_ms(args.get("settle_ms", 1500))
            asleep = _status(ctl)["sleeping"]
        tx0 = a.stats()["voice"]["tx_frames"]
        rx0 = b.stats()["voice"]["accepted"]
        for u in rig.ev:
            rig.ev[u][:] = []
        a.audio.mic.pos = 0
        r = {}
        await talk(rig, r, "a", args.get("hold_ms", 1200))
        sent = a.stats()["voice"]["tx_frames"] - tx0
        try:
            await rig.until(lambda: b.stats()["voice"]["accepted"] - rx0 >= sent, "every frame at b", 15000)
        except AssertionError:
            pass
        heard = b.stats()["voice"]["accepted"] - rx0
        res["bursts"].append({"save": save, "asleep": asleep, "sent": sent, "heard": heard, "m2e_ms": r["m2e_ms"][0],
                              "access_ms": r["access_ms"]})
    if args.get("rollcall"):
        # a roll call from the Command Center reaches a sleeping radio and wakes everything at once
        from ht.radio import topics as T
        await rig.until(lambda: _status(ctl)["sleeping"], "the listener's modem asleep again", 30000)
        got = []
        cc = await drv.cc_client(args["host"], args["port"], got)
        from ht.radio.msgtag import Tagger
        rc_topic = T.rollcall(drv.FLEET)      # a roll call carries the fleet key's tag (ht.radio.msgtag)
        await cc.publish(rc_topic, Tagger(drv.KEY).seal(rc_topic, b'{"id":"rc9","dl":20,"by":"cc"}'), 1, False)
        await rig.until(lambda: b.power.mode == "alert", "the roll call woke the radio", 30000)
        res["rollcall_awake"] = not _status(ctl)["sleeping"] and b.power.mhz == 240
        await cc.stop()
    st = _status(ctl)
    res["energy"] = st["energy"]
    res["power"] = b.power.report()
    res["sleep"] = {"wakes": b.power.sleep.wakes, "rx_wakes": b.power.sleep.rx_wakes,
                    "sleeps": b.power.sleep.sleeps} if b.power.sleep is not None else None
    await rig.stop()
    sup.stop()


async def scenario_deadlink(args, res, Rig):
    import radio_driver as drv
    ctl = Ctl(args["emu"]["ctl"])
    rig = Rig(args["host"], args["port"])
    b, sup = _listener(drv, rig, "b", args)
    sup.start()
    rig.start()
    await rig.until(lambda: b.online, "online", 90000)
    # the hole starts once the radio's start-up exchanges (its full presence with battery and signal) are
    # answered and it has gone quiet: the worst phase for a radio that waits for its next exchange (the beat)
    await rig.until(lambda: b.presence._sent is not None and b.presence._sent[1] is not None
                    and not b.client._inflight, "start-up presence answered", 120000)
    await _sleep_ms(2000)
    hole = args.get("hole_ms", 20000)
    t0 = ticks_ms()
    if args.get("flow"):
        # the case: the flow dies (a NAT forgot it), new flows work at once, and a QoS 1 message
        # goes out right then (an alert): it must not wait 1.5 x keepalive for the link to be found dead
        hole = 0
        ctl("fault blackhole ms=0 new=0")
        b.publish(b.topics.kind["telemetry"], b'{"u":"b","t":0,"alert":1}', 1)
    else:
        ctl("fault blackhole ms=%d" % int(hole / args["emu"]["scale"]))
    for u in rig.ev:
        rig.ev[u][:] = []
    await rig.until(lambda: not b.online, "the dead flow noticed", hole + 200000)
    t_down = ticks_ms()
    await rig.until(lambda: b.online and ticks_diff(ticks_ms(), t0) >= hole, "back online", hole + 200000)
    t_up = ticks_ms()
    reasons = [d["reason"] for _, k, d in rig.ev["b"] if k == "mqtt" and d["state"] == "offline"]
    res["down_after_ms"] = ticks_diff(t_down, t0)
    res["back_after_return_ms"] = ticks_diff(t_up, t0) - hole
    res["reason"] = reasons[0] if reasons else None
    res["energy"] = _status(ctl)["energy"]
    await rig.stop()
    sup.stop()


async def main(args):
    import radio_driver as drv
    res = {"scenario": args["scenario"]}
    if args["scenario"] == "sleep_burst":
        await scenario_sleep_burst(args, res, drv.Rig, drv.talk)
    else:
        await scenario_deadlink(args, res, drv.Rig)
    return res
