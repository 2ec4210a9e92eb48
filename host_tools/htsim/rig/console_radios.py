# Real radios (ht.radio.app.Radio on hal/sim.py, the fleet driver's units) that a test or demo steers while
# they run: for the Command Center console's tests, where what happens next depends on what the browser did.
#   micropython console_radios.py <args.json>      (MICROPYPATH = rig folder + firmware)
# args: as radio.py (fleet, key, board, out, frame_ms, keepalive, telemetry_s, radios [...], clips {...}).
# Commands: JSON lines appended to <out>/cmd.jsonl, [unit, action, {params}] — the actions of radio.py
# (press, release, talk, emergency, emergency_release, ...) plus "quit". Reports "EV [...]" lines like
# radio.py, "READY [units not online]" once every radio is online (or the warm-up ran out).
import sys
import json
import asyncio
import radio as R
from ht.compat import ticks_ms, ticks_diff, asleep_ms


async def commands(d, path):
    done = 0
    while True:
        try:
            f = open(path)
            text = f.read()
            f.close()
        except OSError:
            text = ""
        lines = text.split("\n")[:-1]       # the last piece has no newline yet: not a whole command
        while done < len(lines):
            ln = lines[done]
            done += 1
            if not ln.strip():
                continue
            unit, action, p = json.loads(ln)
            if action == "quit":
                return
            u = d.units.get(unit)
            if u is None:
                R.out("ERR " + json.dumps({"unit": unit, "why": "no such unit"}))
                continue
            d.act(u, action, p)
        await asleep_ms(30)


async def main(a):
    d = R.Driver(a)
    await d.start()
    t = ticks_ms()
    limit = a.get("warmup_ms", 60000)
    while not all(u.radio.online for u in d.units.values()) and ticks_diff(ticks_ms(), t) < limit:
        await asleep_ms(50)
    R.T0[0] = R._W0
    R.out("READY " + json.dumps([n for n in d.units if not d.units[n].radio.online]))
    d.cpu0 = R.cpu_s()
    d.t_play = ticks_ms()
    await commands(d, a["out"] + "/cmd.jsonl")
    await d.stop()


if __name__ == "__main__":
    f = open(sys.argv[1])
    args = json.loads(f.read())
    f.close()
    asyncio.run(main(args))
