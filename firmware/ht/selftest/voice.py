# Self-test checks of the talk path for `htctl bench` (docs/PROVISION.md): PTT press -> talk permit through
# the broker, and a test tone through the voice path. Run by ht.selftest.net in its session (they need the
# broker login it made); split out to keep each file small.
import asyncio
from ht.compat import ticks_ms, ticks_diff
from ht.selftest.local import result


def _sleep_ms(ms):
    return asyncio.sleep(ms / 1000)


async def check_ptt(s):
    # PTT press -> talk permit through the real floor protocol (docs/FLOOR.md): the request goes to the
    # talkgroup's arbiter and its grant must come back before the radio may talk, so this is the access time
    # a user feels (minus the audio cue).
    from ht.radio import topics as T
    from ht.radio import grant as G
    from ht.radio.floor import Floor, Outbox
    from ht.radio.ptt import PTT
    b = s.blocked("ptt_access", "broker")
    if b:
        return b
    tgs = s.cfg.get("talkgroups.list")
    if not tgs:
        return result("ptt_access", None, None, "ms", detail="no talkgroup configured")
    tg, unit = tgs[0], s.cfg.get("unit.id") or "bench"
    fleet = s.env.get("fleet") or s.cfg.get("fleet.id")     # the radio's own topics (the broker ACL)
    c = s.client
    # The fleet key tags floor messages both ways (ht.radio.msgtag): the arbiter ignores an untagged claim.
    from ht.config import key_bytes
    from ht.radio.msgtag import Tagger
    k = key_bytes(s.cfg) if s.cfg.get("audio.key") else None
    tags = Tagger(k) if k else None
    box = Outbox()
    # Normal priority whatever the unit's: a bench claim must never pre-empt a live conversation; it holds
    # a free floor for a few tens of ms and sends no voice.
    ptt = PTT(Floor(tg, unit, box), box)
    seen = []

    def on_msg(topic, payload, retained):
        p = T.parse(topic)
        if p and p[0] == T.GRANTS and p[2] == tg:
            body = bytes(payload) if tags is None else tags.open(topic, payload)
            if body:
                seen.append(G.parse(body))
    c.on_message = on_msg
    await c.subscribe(T.grants(fleet, tg), 1)
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
                t = T.floor(fleet, key, unit)
                await c.publish(t, payload if tags is None else tags.seal(t, payload), qos, retain)
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
    return result("ptt_access", True, ms, "ms", None, "talkgroup %s, floor granted by the arbiter" % tg)


def _tone(n):
    # DTMF "1" (697 + 1209 Hz): two tones off the 8 kHz grid, a harder test for ADPCM than one clean
    # 1 kHz sine, computed once (floats here are fine: not per frame on the radio).
    import math
    from array import array
    a = array("h", bytes(2 * n))
    for i in range(n):
        a[i] = int(6000 * (math.sin(2 * math.pi * 697 * i / 8000) + math.sin(2 * math.pi * 1209 * i / 8000)))
    return a


def audio_snr_db(frames=30, frame_ms=20, key=None, speaker=None, rx_key=None):
    # Test signal through the radio's own voice path: Transmitter (codec + frame + tag) -> packets ->
    # Receiver (parse, jitter buffer, decoder, concealment) -> PCM, then SNR against what went in.
    # The same classes carry a talk burst; only the network between them is left out (the broker check
    # and the PTT check cover it), so a live talkgroup never hears the bench tone.
    import math
    from array import array
    from ht.voice import codecs
    from ht.voice.transceiver import Transmitter, Receiver
    n = frame_ms * 8
    sig = _tone(n * frames)
    tx = Transmitter(1, 1, codecs.PT_ADPCM, frame_ms, key=key)
    rx = Receiver(key=rx_key if rx_key is not None else key, frame_ms=frame_ms, talkgroup=1)
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
