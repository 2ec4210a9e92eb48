# hal/sim.py: the desktop twin of the ESP32 HAL behaves the way the firmware relies on.
import asyncio
import io
from array import array
import struct
import hal
from hal import sim

BOARD = {
    "name": "TEST_BOARD",
    "modem": {"dialect": "A7670", "uart": {"tx": 26, "rx": 27},
              "pwrkey": {"pin": 4, "active": 1}, "reset": {"pin": 5, "active": 1},
              "dtr": {"pin": 25, "active": 0}},
    "audio": {"mic": {"sck": 18, "ws": 19, "sd": 34}, "amp": {"bclk": 21, "lrc": 22, "din": 23}},
    "buttons": {"ptt": {"pin": 32, "active": 0}, "emergency": {"pin": 36, "active": 0}},
    "battery": {"pin": 35, "divider": 2.0},
}


def _hal(**kw):
    return sim.HAL(BOARD, **kw)


def test_create_picks_the_sim_hal_off_the_radio():
    h = hal.create(BOARD)
    assert h.name == "sim"


def test_modem_pins_apply_the_board_inversion():
    h = _hal()
    pins = h.modem_pins()
    assert sorted(pins) == ["dtr", "pwrkey", "reset"]  # no POWERON on this board
    gpio = h.pins
    pins["pwrkey"](1)                 # press PWRKEY: the LilyGO transistor wants the GPIO high
    assert gpio["modem.pwrkey"]() == 1
    pins["pwrkey"](0)
    assert gpio["modem.pwrkey"]() == 0
    pins["reset"](1)                  # hold in reset: active-high GPIO
    assert gpio["modem.reset"]() == 1
    pins["dtr"](1)                    # DTR asserted: active-low, wired straight
    assert gpio["modem.dtr"]() == 0
    pins["dtr"](0)
    assert gpio["modem.dtr"]() == 1
    kinds = [e[1:] for e in h.events]
    assert ("pin", "modem.pwrkey", 1) in kinds and ("pin", "modem.pwrkey", 0) in kinds


def test_gpio_level_table():
    assert hal.gpio_level(1, 1) == 1
    assert hal.gpio_level(1, 0) == 0
    assert hal.gpio_level(0, 1) == 0
    assert hal.gpio_level(0, 0) == 1


def test_buttons_idle_released_and_follow_presses():
    h = _hal()
    ptt = h.button("ptt")
    assert ptt() is False
    h.press("ptt")
    assert ptt() is True
    assert h.pins["buttons.ptt"]() == 0  # active-low switch
    h.press("ptt", False)
    assert ptt() is False


def test_led_and_tone_are_recorded_and_bounded():
    h = _hal()
    h.led("green", True)
    h.tone(1200, 60)
    assert [e[1:] for e in h.events] == [("led", "green", 1), ("tone", 1200, 60)]
    for i in range(sim._EVENTS_MAX + 10):
        h.led("red", i & 1)
    assert len(h.events) == sim._EVENTS_MAX


def _pcm(samples):
    return b"".join(struct.pack("<h", s) for s in samples)


def test_wav_round_trip_and_refusals():
    pcm = _pcm([0, 1000, -1000, 32767, -32768])
    rate, back = sim.wav_read(io.BytesIO(sim.wav_bytes(8000, pcm)))
    assert (rate, back) == (8000, pcm)
    stereo = bytearray(sim.wav_bytes(8000, pcm))
    stereo[22] = 2
    for bad in (bytes(stereo), b"RIFF\x00\x00\x00\x00WAVX", b""):
        try:
            sim.wav_read(io.BytesIO(bad))
        except ValueError:
            continue
        assert False, "accepted a bad WAV"


def test_decimate_averages_blocks():
    assert sim.decimate(_pcm([6, 6, 6, 0, 0, 0, 3, 3]), 3) == _pcm([6, 0])
    assert sim.decimate(_pcm([1, 2]), 1) == _pcm([1, 2])


def test_mic_plays_the_source_then_silence():
    # readinto fills int16 samples, as the ESP32 HAL does: the audio path converts nothing per frame
    h = _hal(mic_pcm=_pcm([1, -2, 3]))
    mic = h.mic()
    buf = array("h", [9, 9])
    assert mic.readinto(buf) == 2 and list(buf) == [1, -2]
    assert mic.readinto(memoryview(buf)) == 2 and list(buf) == [3, 0]
    assert mic.readinto(buf) == 2 and list(buf) == [0, 0]


def test_mic_is_one_device():
    # Every caller reads the same microphone: a second mic() must not start the recording over.
    h = _hal(mic_pcm=_pcm([1, 2, 3, 4]))
    buf = array("h", [0, 0])
    h.mic().readinto(buf)
    assert h.mic() is h.mic()
    h.mic().readinto(buf)
    assert list(buf) == [3, 4]


def test_mic_refuses_a_byte_buffer():
    try:
        _hal(mic_pcm=_pcm([1])).mic().readinto(bytearray(4))
    except TypeError:
        return
    assert False, "a byte buffer would get samples truncated to bytes"


def test_speaker_keeps_what_was_played():
    h = _hal()
    h.speaker().write(_pcm([5, 6]))
    h.speaker().write(_pcm([7]))
    assert bytes(h.speaker().pcm) == _pcm([5, 6, 7])


def test_uart_without_a_modem_is_an_oserror_or_a_closed_line():
    async def go():
        u = _hal(uart=None).modem_uart()
        assert await u.read(10) == b""
        try:
            await u.write(b"AT\r")
        except OSError:
            return True
        return False
    assert asyncio.run(go())


async def _serve(handler):
    # MicroPython's asyncio Server cannot report an ephemeral port: pick one, skip those in use.
    from ht.compat import ticks_ms
    base = 40000 + (ticks_ms() * 7) % 20000
    for port in range(base, base + 50):
        try:
            return await asyncio.start_server(handler, "127.0.0.1", port), port
        except OSError:
            pass
    raise OSError("no free port")


def test_uart_and_control_reach_the_emulator_ports():
    got = {"uart": b"", "ctl": b""}

    async def go():
        async def on_uart(r, w):
            got["uart"] += await r.read(16)
            w.write(b"\r\nOK\r\n")
            await w.drain()

        async def on_ctl(r, w):
            while b"\n" not in got["ctl"]:
                got["ctl"] += await r.read(64)

        s1, p1 = await _serve(on_uart)
        s2, p2 = await _serve(on_ctl)
        h = _hal(uart="127.0.0.1:%d" % p1, ctl="127.0.0.1:%d" % p2)
        u = h.modem_uart()
        await u.write(b"AT\r")
        reply = b""
        while b"OK" not in reply:
            reply += await u.read(32)
        h.modem_pins()["pwrkey"](1)
        for _ in range(100):
            if b"\n" in got["ctl"]:
                break
            await asyncio.sleep(0.01)
        u.close()
        s1.close()
        s2.close()
        return reply

    assert asyncio.run(go()) == b"\r\nOK\r\n"
    assert got["uart"] == b"AT\r"
    assert got["ctl"] == b"pin PWRKEY 1\n"


def test_unique_id_is_stable_and_mac_sized():
    a = _hal().unique_id()
    assert a == _hal().unique_id()
    assert len(a) == 12


def test_uart_opens_one_connection_when_read_and_write_race():
    # The AT engine's reader and its first command start together; the emulator takes one client and
    # a second connection replaces the first, so a double open left the modem deaf.
    conns = []

    async def go():
        async def on_uart(r, w):
            conns.append(w)
            data = await r.read(16)
            if data:
                w.write(b"\r\nOK\r\n")
                await w.drain()

        s, p = await _serve(on_uart)
        u = _hal(uart="127.0.0.1:%d" % p).modem_uart()
        reader = asyncio.create_task(u.read(32))
        await u.write(b"AT\r")
        try:
            reply = await asyncio.wait_for(reader, 10)   # a double open never answers
        except asyncio.TimeoutError:
            reply = None
        for _ in range(20):        # a second connection, if any, is accepted by now
            await asyncio.sleep(0.01)
        u.close()
        s.close()
        return reply

    assert asyncio.run(go()) == b"\r\nOK\r\n"
    assert len(conns) == 1


def test_time_scale_reaches_the_radio_apps_modem():
    # On a virtual device the modem emulator runs faster than a modem: the app's modem timeouts must
    # shrink with it (HT_SIM_TIME_SCALE, set by htctl vdev), and stay real time on the radio.
    from ht import config
    from ht.radio import boot as radio_boot
    assert _hal().time_scale == 1.0
    cfg = config.Config()
    cfg.set("unit.id", "u1")
    _, sup = radio_boot.build(_hal(time_scale=0.05), BOARD, cfg, store=False)
    assert sup.m.scale == 0.05
    _, sup = radio_boot.build(_hal(time_scale=0.05), BOARD, cfg, store=False, scale=0.5)
    assert sup.m.scale == 0.5      # a caller that knows better still wins
