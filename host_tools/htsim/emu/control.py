"""Control port: one text line per request, one line back.
    pin PWRKEY 1 | pin RESET 0 | pin POWERON 1 | pin DTR 0   -> ok
    fault reg_lost duration_s=3                              -> ok | error <why>
    status                                                   -> {"powered": true, ...}   (one JSON line)
    events [n]                                               -> [[emulated_s, "what happened"], ...] (last n)
    sms                                                      -> [["+62...", "text"], ...]
    help                                                     -> ok <commands>
"""
import asyncio
import json

from .faults import FAULTS, parse_kv


def handle(emu, line):
    words = line.split()
    if not words:
        return "error empty request"
    cmd = words[0].lower()
    try:
        if cmd == "pin" and len(words) == 3:
            if words[2] not in ("0", "1"):
                return "error level must be 0 or 1"
            emu._set_pin_now(words[1], int(words[2]))
            return "ok"
        if cmd == "fault" and len(words) >= 2:
            emu._fault_now(words[1], **parse_kv(words[2:]))
            return "ok"
        if cmd == "status":
            return json.dumps(emu._state_now(), sort_keys=True)
        if cmd == "events" and len(words) <= 2:
            n = int(words[1]) if len(words) == 2 else 50
            return json.dumps(emu._modem.events[-n:] if n > 0 else [])
        if cmd == "sms" and len(words) == 1:
            return json.dumps(emu._modem.sms_log)
        if cmd == "help":
            return "ok pin <name> 0|1; fault <%s> [k=v...]; status; events [n]; sms" % "|".join(sorted(FAULTS))
    except ValueError as e:
        return "error %s" % e
    return "error unknown request %r (try: help)" % line.strip()[:60]


async def serve(emu, host="127.0.0.1"):
    async def client(reader, writer):
        try:
            while True:
                raw = await reader.readline()
                if not raw:
                    break
                reply = handle(emu, raw[:4096].decode("utf-8", "replace"))
                writer.write(reply.encode() + b"\n")
                await writer.drain()
        except (OSError, ValueError, asyncio.LimitOverrunError, asyncio.CancelledError):
            pass   # a flood or a dropped client ends this session only
        finally:
            writer.close()
    return await asyncio.start_server(client, host, 0, limit=1 << 16)
