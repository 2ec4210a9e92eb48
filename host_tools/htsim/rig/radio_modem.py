# The "modem" scenario of radio_driver.py: radio a rides MQTT through the modem emulator's AT
# socket (ht.radio.boot: hal/sim.py UART -> ht.modem.lifecycle -> supervisor -> ht.modem.sockets -> real TCP to the
# broker); radio b uses a plain TCP stream. a talks, b hears; then a's coverage is lost and its emergency
# SMS is refused (no service), sent when the modem registers again, and the late data alert follows.
from ht.compat import ticks_ms
from ht.radio import boot as radio_boot
from hal.sim import HAL
from modem_driver import Ctl


def _through_modem(drv, rig, u, args, emu):
    cfg = drv.config(u)
    cfg.set("broker.url", "mqtt://%s:%d" % (args["host"], args["port"]))
    ca = None
    if args.get("tls") and u == "a":
        # through the modem's own TLS client to the broker's TLS listener (ht/modem/tls.py)
        cfg.set("broker.url", "mqtts://%s:%d" % (args["host"], args["tls"]["port"]))
        with open(args["tls"]["ca"], "rb") as f:
            ca = f.read()
    # 40 ms is the config default: half the AT round trips of 20 ms frames
    cfg.set("audio.frame_ms", args.get("frame_ms", 40))
    hal = HAL(rig.board, uart="127.0.0.1:%d" % emu["uart"])
    log = []
    rig.ev[u] = log
    r, sup = radio_boot.build(hal, rig.board, cfg, events=lambda now, k, d: log.append((now, k, d)),
                              scale=emu["scale"], store=False, fleet=drv.FLEET, key=drv.KEY, ca=ca)
    rig.radios[u] = r
    rig.hals[u] = hal
    return r, sup, hal


async def scenario_modem(args, res, Rig, talk):
    # args: emu (a's modem), optional emu_b (b listens through a modem of its own too), frame_ms (40),
    # talk_only (stop after the talk burst: the benchmark's run)
    import radio_driver as drv
    emu = args["emu"]
    rig = Rig(args["host"], args["port"])
    a, sup, hal = _through_modem(drv, rig, "a", args, emu)
    # the microphone: real speech from a file, as hal/sim reads mic.wav on the virtual device
    from hal.sim import AudioIn
    a.audio.mic = AudioIn(open(args["mic"], "rb").read() if args.get("mic") else b"")
    sup_b = None
    if args.get("emu_b"):
        _, sup_b, _ = _through_modem(drv, rig, "b", args, args["emu_b"])
        sup_b.start()
    else:
        rig.add("b")
    sup.start()
    rig.start()
    await rig.until(lambda: all(r.online for r in rig.radios.values()), "online through the modem", 60000)
    await rig.until(lambda: rig.when("b", "presence", lambda d: d["unit"] == "a" and d["stage"] == "online")
                    is not None, "b sees a online")
    await talk(rig, res, "a", args.get("hold_ms", 2000))
    rig.save(args["out"])
    # where the speech went: sent, dropped in a's queue, echoed back to a, arrived late/lost at b
    res["a_voice"] = a.audio.stats()
    res["own_voice"] = a.counts["own_voice"]
    b = rig.radios["b"].audio
    res["b_rx"] = [b.rx[i].stats() for i in range(len(b.rx)) if b.rx_uid[i] >= 0]
    if args.get("talk_only"):
        await rig.stop()
        sup.stop()
        if sup_b is not None:
            sup_b.stop()
        return
    ctl = Ctl(emu["ctl"])
    ctl("fault reg_lost duration_s=0")
    await rig.until(lambda: not a.online, "a offline when coverage goes", 30000)
    t0 = ticks_ms()
    hal.press("emergency")
    # no coverage: the SMS is tried at once and refused by the network (no service) ...
    await rig.until(lambda: a.counts["sms_failed"] >= 2, "emergency SMS tried while offline", 30000)
    hal.press("emergency", False)
    ctl("fault reg_home")
    # ... and sent as soon as the modem registers again; the data alert follows, marked late
    await rig.until(lambda: a.counts["sms_sent"] >= 2, "emergency SMS through the modem", 30000)
    await rig.until(lambda: a.online, "a back online", 60000)
    await rig.until(lambda: rig.when("b", "emergency_rx", lambda d: d["unit"] == "a" and d["late"] == 1)
                    is not None, "late alert at b", 30000)
    res["sms_ms"] = rig.when("a", "sms_sent") - t0
    res["stats"] = {u: rig.radios[u].stats() for u in rig.radios}
    res["plan_bytes"] = a.health.plan.tx + a.health.plan.rx
    await rig.stop()
    sup.stop()
    if sup_b is not None:
        sup_b.stop()
