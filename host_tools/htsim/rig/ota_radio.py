# One radio of the update simulation (docs/OTA.md), booted the way the ESP32 boots it: the real bootstrap
# picks the release (its folder first on sys.path), then the radio app runs from whatever it picked.
# The runner (htsim.ota) starts this program again when it exits, as the ESP32 resets:
#   exit 3: the app asked for a restart (hal.restart: a staged release, a trial given up)
#   exit 4: the app crashed (main.py restarts the radio after a pause)
#   micropython ota_radio.py <args.json>   args: unit, fleet, root, host, port, password, key, board,
#                                              reboot_ms, quota, press_at (chunk index or null), press_ms
# press_at: PTT goes down once the download reaches that chunk (file * 1000 + chunk) and is let go
# press_ms after the radio started talking (tx_start) and the download has paused, so the hold is
# measured by what happened, not by a clock a loaded machine stretches; with no floor at all it is let go
# after press_cap_ms, and the test sees that no tx_start came.
import sys
import json

f = open(sys.argv[1])
A = json.loads(f.read())
f.close()

import bootstrap  # noqa: E402  (before anything of ours: it chooses the release)
STORE, ACTIVE = bootstrap.boot(A["root"], A.get("quota"))


def out(kind, d):
    sys.stdout.write("EV " + json.dumps([A["unit"], kind, d]) + "\n")


out("boot", {"active": ACTIVE, "path0": sys.path[0]})
try:
    import asyncio
    from ht import VERSION
    from ht.compat import ticks_ms, ticks_diff, asleep_ms
    from ht.config import Config
    from ht import board as B
    from hal import netstream
    from hal.sim import HAL
    from ht.radio.app import Radio
except Exception as e:       # a release that cannot even import: the ESP32 would reset and count the boot
    out("crash", {"where": "import", "why": repr(e)})
    sys.exit(4)


TALK = [None]      # ticks_ms of the last tx_start


def on_event(k, d):
    if k == "tx_start":
        TALK[0] = ticks_ms()
    if k.startswith("ota") or k.startswith("tx_") or k == "mqtt":
        out(k, d)


async def main():
    u = A["unit"]
    cfg = Config({"unit.id": u, "talkgroups.list": ["1"], "broker.user": u, "broker.password": A["password"],
                  "broker.keepalive": 10, "ota.key": A["key"], "fleet.id": A["fleet"],
                  "audio.key": A["vkey"]})
    board = B.load_path(A["board"])
    hal = HAL(board, mic_pcm=b"")
    radio = Radio(hal, cfg, board, net_opener=netstream.opener(A["host"], A["port"]),
                  events=lambda now, k, d: on_event(k, d),
                  ota_store=STORE, ota_version=VERSION, ota_reboot_ms=A.get("reboot_ms", 2000))
    out("version", {"v": VERSION})
    task = asyncio.create_task(radio.run())
    pressed = None
    while True:
        await asleep_ms(50)
        ag = radio.ota.agent if radio.ota else None
        at = A.get("press_at")
        if at is not None and pressed is None and ag and ag.dl and ag.m and ag.dl["i"] * 1000 + ag.dl["k"] >= at:
            pressed = ticks_ms()
            TALK[0] = None
            hal.press("ptt")
            out("ptt", {"down": 1, "at": [ag.dl["i"], ag.dl["k"]]})
        elif pressed is not None and pressed != -1 and (
                TALK[0] is not None and ag and ag.paused and ticks_diff(ticks_ms(), TALK[0]) >= A.get("press_ms", 3000)
                or ticks_diff(ticks_ms(), pressed) >= A.get("press_cap_ms", 60000)):
            hal.press("ptt", False)
            pressed = -1
            out("ptt", {"down": 0, "at": [ag.dl["i"], ag.dl["k"]] if ag and ag.dl else None})
        if task.done():
            task.result()
            return


try:
    asyncio.run(main())
except SystemExit:
    out("restart", {})
    sys.exit(3)
except Exception as e:
    out("crash", {"where": "run", "why": repr(e)})
    sys.exit(4)
