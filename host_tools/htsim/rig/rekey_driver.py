# Three radios (the firmware's Radio, under MicroPython unix or CPython) through a real broker while the test
# process rotates the fleet key with `htctl fleet key rotate` / `retire` (tests/e2e/test_key_rotation.py).
# Handshake by files in args["out"]: the driver writes stepN.json when it is ready for the test's next action
# and waits for the test's answer file. Prints "RESULT {...}" at the end.
#   micropython rekey_driver.py @args.json   args: host port out key(hex) units[3]
import sys
import json
import asyncio
import binascii
from array import array
from ht.compat import ticks_ms, ticks_diff, asleep_ms as _sleep_ms
from ht.voice import frame
from radio_driver import Rig, talk


def _write(path, d):
    f = open(path, "w")
    f.write(json.dumps(d))
    f.close()


async def _file(path, ms=300000):
    t0 = ticks_ms()
    while True:
        try:
            f = open(path)
            d = json.loads(f.read())
            f.close()
            return d
        except (OSError, ValueError):
            if ticks_diff(ticks_ms(), t0) > ms:
                raise AssertionError("the test never wrote " + path)
            await _sleep_ms(20)


async def main(args):
    out = args["out"]
    k1 = binascii.unhexlify(args["key"])
    a, b, c = args["units"]
    rig = Rig(args["host"], args["port"])
    saved = {}

    def store(u):
        return lambda cfg: saved.__setitem__(u, [cfg.get("audio.key"), cfg.get("audio.key_old")])
    tone = bytes(array("h", [3000, -3000] * 4000))
    for u in (a, b, c):
        rig.add(u, tone if u == a else b"", key=k1, config_store=store(u))
    rig.start()
    await rig.until(lambda: all(r.online for r in rig.radios.values()), "online", 60000)
    res = {}
    await talk(rig, res, a, 600)
    gb = rig.radios[b].audio.guard
    res["heard_k1"] = gb.accepted
    _write(out + "/step1.json", {})
    await _file(out + "/rotated.json")
    await rig.until(lambda: all(rig.when(u, "rekey") is not None for u in (a, b, c)), "rekey on every radio", 60000)
    for u in (a, b, c):
        rig.ev[u][:] = []
    before = gb.accepted
    await talk(rig, res, a, 600)
    res["heard_k2"] = gb.accepted - before
    res["bad_tag_k2"] = gb.rejected[frame.BAD_TAG]
    res["saved"] = dict((u, list(v)) for u, v in saved.items())
    before = gb.accepted
    _write(out + "/step2.json", {})
    await _file(out + "/lagged.json")          # the test published 5 fresh frames signed with the old key
    await rig.until(lambda: gb.accepted >= before + 5, "old-key frames taken during the overlap", 30000)
    res["lag_taken"] = gb.accepted - before
    _write(out + "/step3.json", {})
    await _file(out + "/retired.json")
    await rig.until(lambda: all(rig.when(u, "rekey", lambda d: d["overlap"] == 0) is not None for u in (a, b, c)),
                    "old key retired on every radio", 60000)
    res["saved_after"] = dict(saved)
    bad = gb.rejected[frame.BAD_TAG]
    _write(out + "/step4.json", {})
    await _file(out + "/lagged2.json")
    await rig.until(lambda: gb.rejected[frame.BAD_TAG] >= bad + 5, "old-key frames refused after retire", 30000)
    res["lag_refused"] = gb.rejected[frame.BAD_TAG] - bad
    _write(out + "/step5.json", {})
    await _file(out + "/arbiter.json")         # the arbiters run on the new key alone now
    for u in (a, b, c):
        rig.ev[u][:] = []
    await talk(rig, res, b, 400)
    res["talk_after_retire"] = 1
    await rig.stop()
    return res


if __name__ == "__main__":
    a = sys.argv[1]
    if a.startswith("@"):
        f = open(a[1:])
        a = f.read()
        f.close()
    print("RESULT " + json.dumps(asyncio.run(main(json.loads(a)))))
