# Self-test checks that `htctl bench` runs on the radio through the raw REPL (mpremote exec):
#     import ht.selftest.local as t; t.report(["version", "board", "codec"])
# prints one JSON line: a list of results {"check", "ok", "value", "unit", "limit", "detail"}.
# ok is True/False, or None when the check cannot run in this build (a hook nobody registered yet).
# Each check is a small function of `env` (paths; the HAL handed in as env["hal"] or a factory
# env["make_hal"](board), since ht/ never imports hal: the caller's snippet does, see htctl/acceptance.py); a check that raises is a FAIL with the
# exception as detail, never a crash: the technician must see every line of the certificate.
# The modem/SIM/network layer adds its checks with register() so this file does not grow with it.
import json
from ht import VERSION

BOARD_PATH = "board.json"
CONFIG_PATH = "config.json"
CODEC_MIN_SNR_DB = {"DVI4": 15.0, "PCMU": 30.0}   # measured 21.0 / 43.2 dB on a 1 kHz tone; margin for noise
BATTERY_MIN_MV = 3500                             # LiPo under load; below this the modem browns out on TX

# Filled by the modem layer; names htctl bench asks for in docs/VDEV.md.
PENDING = ("modem", "sim", "iccid", "registration", "signal", "data", "broker", "ptt_access")
CHECKS = {}
ORDER = []            # MicroPython dicts do not keep insertion order; the certificate should


def register(name, fn):
    if name not in CHECKS:
        ORDER.append(name)
    CHECKS[name] = fn


def result(check, ok, value=None, unit="", limit=None, detail=""):
    return {"check": check, "ok": ok, "value": value, "unit": unit, "limit": limit, "detail": detail}


def _read(env, what, path):
    # Tests hand the text in (env["board_text"]); on the radio it is the file next to main.py.
    if what + "_text" in env:
        return env[what + "_text"]
    with open(env.get(what, path)) as f:
        return f.read()


def check_version(env):
    return result("version", True, VERSION)


def check_board(env):
    from ht import board
    try:
        text = _read(env, "board", BOARD_PATH)
    except OSError:
        return result("board", False, None, detail="no board.json: run htctl deploy --board B")
    b = board.load(text)
    seen = {}
    for role, pin, _ in board.roles(b):
        # The host validator refuses these; re-checked here because the file on the radio is what runs.
        if pin in seen:
            return result("board", False, b.get("name"), detail="GPIO %d used by %s and %s" % (pin, seen[pin], role))
        if 6 <= pin <= 11:
            return result("board", False, b.get("name"), detail="%s on flash pin GPIO %d" % (role, pin))
        seen[pin] = role
    return result("board", True, b.get("name"), detail="%d pins" % len(seen))


def check_config(env):
    from ht import config
    try:
        text = _read(env, "config", CONFIG_PATH)
    except OSError:
        return result("config", False, None, detail="no config.json: run htctl provision")
    cfg, errors = config.load(text)
    return result("config", not errors, config.config_hash(cfg)[:16], detail="; ".join(errors))


def _tone(n, amp=8000):
    # 1 kHz at 8 kHz sampling: one cycle is 8 samples, so a sine table needs no floats per sample.
    import math
    from array import array
    return array("h", [int(amp * math.sin(2 * math.pi * i / 8)) for i in range(n)])


def codec_snr_db(codec, frames=25, n=160):
    import math
    from array import array
    pcm = _tone(n)
    out = array("h", [0] * n)
    payload = bytearray(codec.payload_len(n))
    enc, dec = codec.new_state(), codec.new_state()
    choose = getattr(codec, "choose", None)    # ADPCME: its emphasis decided per frame, as the Transmitter does
    hdr = bytearray(codec.STATE_LEN + 1)
    sig = err = 0
    for k in range(frames):
        # as on the air: the state before the frame goes with it (ADPCME's coefficient reaches the
        # decoder only this way)
        if choose is not None:
            choose(pcm, n, enc)
        codec.pack_state(enc, hdr, 0)
        codec.encode(pcm, n, payload, enc)
        codec.unpack_state(hdr, 0, dec)
        codec.decode(payload, n, out, dec)
        if k >= 2:  # let the ADPCM step size settle, as it does within the first syllable
            for i in range(n):
                d = pcm[i] - out[i]
                sig += pcm[i] * pcm[i]
                err += d * d
    return 99.0 if err == 0 else 10 * math.log10(sig / err)


def check_codec(env):
    from ht.voice import codecs
    worst = None
    parts = []
    for c in env.get("codecs") or (codecs.get(codecs.PT_ADPCM), codecs.get(codecs.PT_ADPCME), codecs.get(codecs.PT_ULAW)):
        snr = codec_snr_db(c)
        limit = CODEC_MIN_SNR_DB.get(c.name, 15.0)
        parts.append("%s %.1f dB" % (c.name, snr))
        margin = snr - limit
        if worst is None or margin < worst[0]:
            worst = (margin, snr, limit)
    return result("codec", worst[0] >= 0, round(worst[1], 1), "dB", worst[2],
                  ", ".join(parts) + (" (viper)" if codecs.USING_VIPER else " (pure)"))


def hal_of(env, board_fn):
    # The HAL the caller handed in, or one it lets us build for this board; ht/ never imports hal itself.
    hal = env.get("hal")
    if hal is None:
        make = env.get("make_hal")
        if make is None:
            raise ValueError("no HAL handed in (env hal / make_hal)")
        hal = env["hal"] = make(board_fn())
    return hal


def check_battery(env):
    from ht import board
    hal = hal_of(env, lambda: board.load(_read(env, "board", BOARD_PATH)))
    mv = hal.battery_mv()
    if mv is None:
        return result("battery", None, None, "mV", BATTERY_MIN_MV, "board has no battery ADC")
    return result("battery", mv >= BATTERY_MIN_MV, mv, "mV", BATTERY_MIN_MV)


def _mic(env):
    from ht import board
    b = board.load(_read(env, "board", BOARD_PATH))
    return hal_of(env, lambda: b).mic(), b


def check_mic_noise(env):
    # The bench must be quiet for these 2 s (htctl bench says so before it starts).
    from ht.selftest import mic as M
    m, _ = _mic(env)
    if M.no_source(m):
        return result("mic_noise", None, None, "dBFS", M.NOISE_MAX_DBFS, "not measurable without a real microphone")
    lvl = M.noise_floor(m)
    if lvl < M.DEAD_DBFS:
        return result("mic_noise", False, round(lvl, 1), "dBFS", M.NOISE_MAX_DBFS, "no signal: microphone dead or not wired")
    return result("mic_noise", lvl <= M.NOISE_MAX_DBFS, round(lvl, 1), "dBFS", M.NOISE_MAX_DBFS)


def check_mic_level(env):
    # The technician counts aloud at arm's length, normal voice, for 3 s after the noise check.
    from ht import board
    from ht.selftest import mic as M
    m, b = _mic(env)
    expect = board.mic_sensitivity(b) + 72 - 94
    lo, hi = expect + M.LEVEL_WINDOW_DB[0], expect + M.LEVEL_WINDOW_DB[1]
    if M.no_source(m):
        return result("mic_level", None, None, "dBFS", lo, "not measurable without a real microphone")
    lvl = M.spoken_level(m)
    return result("mic_level", lo <= lvl <= hi, round(lvl, 1), "dBFS", lo,
                  "expected %d..%d dBFS" % (lo, hi))


def check_memory(env):
    import gc
    if not hasattr(gc, "mem_free"):
        return result("memory", None, None, "bytes", detail="not MicroPython")
    gc.collect()
    return result("memory", True, gc.mem_free(), "bytes")


register("version", check_version)
register("board", check_board)
register("config", check_config)
register("codec", check_codec)
register("battery", check_battery)
register("mic_noise", check_mic_noise)
register("mic_level", check_mic_level)
register("memory", check_memory)


def run(names=None, env=None):
    env = env or {}
    out = []
    for name in names or ORDER + [p for p in PENDING if p not in CHECKS]:
        fn = CHECKS.get(name)
        if fn is None:
            out.append(result(name, None, detail="not available in firmware %s" % VERSION))
            continue
        try:
            out.append(fn(env))
        except Exception as e:  # a broken check is a FAIL line, not a missing certificate
            out.append(result(name, False, None, detail="%s: %s" % (type(e).__name__, e)))
    return out


def report(names=None, env=None):
    print(json.dumps(run(names, env)))
