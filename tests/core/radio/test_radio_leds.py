# The radio drives its LED from its own tick (ht.radio.leds via Radio.tick), end to end on the in-memory
# broker: a talking radio's status LED is steady on, a listening one shows the receive rhythm (long
# blink), an idle online one its short blink, an emergency its fast blink. Portable (both interpreters).
import asyncio
from ht.compat import ticks_ms
from ht.config import Config
from ht.radio.app import Radio
from radiofake import FakeHAL, MemBroker, MemClient, sleep_ms, until


class LedHAL(FakeHAL):
    # FakeHAL records (name, on); the rhythm needs when, too
    def __init__(self):
        FakeHAL.__init__(self)
        self.timed = []

    def led(self, name, on):
        FakeHAL.led(self, name, on)
        self.timed.append((ticks_ms(), name, on))


def cfg(unit):
    return Config({"unit.id": unit, "unit.priority": "normal", "talkgroups.list": ["1"], "audio.frame_ms": 20,
                   "emergency.sms_numbers": ["+62811000111"]})


def cues(log):
    return [d["name"] for _, k, d in log if k == "cue"]


async def _talk_and_listen():
    broker = MemBroker(key=b"fleet-key")
    radios, hals, logs = {}, {}, {}
    for u in ("a", "b"):
        hal = hals[u] = LedHAL()
        log = logs[u] = []
        radios[u] = Radio(hal, cfg(u), make_client=lambda m, s: MemClient(broker, u, m, s), key=b"fleet-key",
                          events=lambda now, k, d, log=log: log.append((now, k, d)))
    tasks = [asyncio.create_task(r.run()) for r in radios.values()]
    a, b = radios["a"], radios["b"]
    await until(lambda: a.online and b.online, "online")
    await until(lambda: a.leds.state == "idle" and b.leds.state == "idle", "idle rhythm once online")
    hals["a"].press("ptt")
    await until(lambda: "permit" in cues(logs["a"]), "talk permit on a")
    await until(lambda: b.leds.state == "receiving", "b shows the receive rhythm")
    # The permit arrives with a broker message; a's LED follows at its next 10 ms tick, which a busy machine
    # may run after b has already shown the burst: wait for that tick rather than race it.
    await until(lambda: a.leds.state == "transmitting", "a shows transmitting")
    t_rx = ticks_ms()
    # b's long blink goes dark after 1.5 s and lights again: the HAL sees the rhythm, not one write
    await until(lambda: len([1 for t, n, on in hals["b"].timed if t >= t_rx and n == "status" and not on]) >= 1
                and hals["b"].timed[-1][2], "b's receive blink off and on again")
    assert a.leds.state == "transmitting", (a.leds.state, [p.state for p in a.ptts.values()], logs["a"][-12:])
    since = [on for t, n, on in hals["a"].timed if t >= t_rx]
    assert hals["a"].leds[-1] == ("status", True) and False not in since, "talker's LED not steady on"
    hals["a"].press("ptt", False)
    await until(lambda: a.leds.state == "idle" and b.leds.state == "idle", "both idle after release")
    # emergency: fast blink on the sender until the Command Center acknowledges
    hals["b"].press("emergency")
    await until(lambda: b.leds.state == "emergency", "emergency rhythm on b")
    n0 = len(hals["b"].timed)
    await until(lambda: len(hals["b"].timed) >= n0 + 6, "b's emergency LED blinking")
    hals["b"].press("emergency", False)
    for r in radios.values():
        await r.stop()
    await sleep_ms(30)
    for t in tasks:
        t.cancel()


def test_talking_radio_led_is_steady_and_listener_shows_receive_rhythm():
    asyncio.run(_talk_and_listen())


def test_radio_without_link_shows_no_signal_and_board_without_led_drives_nothing():
    hal = LedHAL()
    r = Radio(hal, cfg("c"), make_client=lambda m, s: MemClient(MemBroker(), "c", m, s))
    for t in range(0, 3000, 10):
        r.tick(t)
    assert r.leds.state == "no_signal"
    assert [on for _t, _n, on in hal.timed].count(True) == 3     # one blink a second
    hal = LedHAL()
    r = Radio(hal, cfg("d"), board={"leds": {}}, make_client=lambda m, s: MemClient(MemBroker(), "d", m, s))
    for t in range(0, 3000, 10):
        r.tick(t)
    assert hal.timed == []


def test_cue_from_a_tick_flashes_on_the_tick_clock():
    # A cue asked for inside tick(now) overlays at that tick's time (not the wall clock): driven on
    # simulated time, the talk-permit's LED step lights the idle rhythm's dark gap for 200 ms.
    hal = LedHAL()
    r = Radio(hal, cfg("e"), make_client=lambda m, s: MemClient(MemBroker(), "e", m, s))
    r.online = True
    r.tick(0)
    assert r.leds.state == "idle"
    r.tick(1000)
    assert not r.leds.lit("status")     # idle: dark from 100 ms to 5 s
    r.main.cue("permit")                # ("green", 200)
    r.tick(1010)
    assert r.leds.lit("status")
    r.tick(1150)
    assert r.leds.lit("status")
    r.tick(1250)
    assert not r.leds.lit("status")
