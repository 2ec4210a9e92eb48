# What a field officer sees on the LEDs (docs/QUICKREF.md): each radio state's rhythm over simulated
# time, cues layered on top, single status LED vs coloured LEDs. Portable (CPython and MicroPython).
from ht.radio import feedback
from ht.radio.leds import LedPlayer, led_names


class Rec:
    def __init__(self):
        self.calls = []

    def __call__(self, name, on):
        self.calls.append((name, on))


def trace(player, start, ms, step=10, name="status"):
    # on/off of one LED every `step` ms over a span, as the radio's 10 ms tick would drive it
    out = []
    t = start
    while t < start + ms:
        player.update(t)
        out.append(player.lit(name))
        t += step
    return out


def flashes(samples):
    # number of separate on-periods and their lengths (in samples)
    runs = []
    prev = False
    for v in samples:
        if v and not prev:
            runs.append(0)
        if v:
            runs[-1] += 1
        prev = v
    return runs


def single(state, t0=1000):
    p = LedPlayer(("status",), Rec())
    p.set_state(state, t0)
    return p


def test_idle_online_is_one_short_blink_every_5_s():
    p = single("idle")
    runs = flashes(trace(p, 1000, 15000))
    assert len(runs) == 3 and all(r * 10 <= 200 for r in runs)


def test_transmitting_is_steady_on():
    p = single("transmitting")
    assert all(trace(p, 1000, 10000))


def test_receiving_is_a_long_blink():
    p = single("receiving")
    runs = flashes(trace(p, 1000, 8000))
    assert len(runs) == 4 and all(r * 10 >= 1000 for r in runs)


def test_no_signal_blinks_once_a_second():
    runs = flashes(trace(single("no_signal"), 1000, 10000))
    assert len(runs) == 10 and max(runs) * 10 <= 200


def test_quota_low_is_two_short_blinks_every_3_s():
    runs = flashes(trace(single("quota_low"), 1000, 9000))
    assert len(runs) == 6 and max(runs) * 10 <= 200
    # the two blinks of a group are close, the groups far apart
    s = trace(single("quota_low"), 1000, 3000)
    assert flashes(s[:500 // 10]) == [10, 10] and not any(s[50:])


def test_emergency_is_fast_and_rollcall_double_blinks_until_answered():
    assert len(flashes(trace(single("emergency"), 1000, 2000))) == 10
    p = single("rollcall")
    runs = flashes(trace(p, 1000, 15000))
    assert len(runs) == 20      # a double blink every 1.5 s for as long as the call waits
    p.set_state("idle", 16000)  # answered
    assert len(flashes(trace(p, 16000, 5000))) == 1


def test_every_state_rhythm_is_distinct_on_a_single_led():
    # One LED must be enough: no two meanings may look the same over 6 s.
    seen = {}
    for st in feedback.STATE_LED:
        s = tuple(trace(single(st), 0, 6000))
        assert s not in seen, "%s looks like %s" % (st, seen.get(s))
        seen[s] = st
        assert feedback.state_meaning(st, "en") != feedback.state_meaning(st, "id")


def test_cue_overlays_then_the_state_rhythm_returns():
    p = single("transmitting", 0)
    p.update(0)
    assert p.lit("status")
    p.cue("roger", 100)          # ("off", 50): a dark blink over steady on
    p.update(110)
    assert not p.lit("status")
    p.update(160)
    assert p.lit("status")
    p = single("idle", 0)
    p.update(500)
    assert not p.lit("status")
    p.cue("permit", 500)         # ("green", 200) over a dark idle gap
    assert trace(p, 500, 200) == [True] * 20
    p.update(700)
    assert not p.lit("status")   # idle gap again
    p.cue("rx_end", 800)         # no LED steps: nothing changes
    p.update(800)
    assert not p.lit("status")


def test_leds_are_driven_only_on_changes():
    rec = Rec()
    p = LedPlayer(("status",), rec)
    p.set_state("transmitting", 0)
    for t in range(0, 5000, 10):
        p.update(t)
    assert rec.calls == [("status", True)]
    p.set_state("idle", 5000)
    for t in range(5000, 15000, 10):
        p.update(t)
    # idle starts "on" (already lit: no call), dark at 5.1 s, blinks at 10 s: four writes in 15 s
    assert rec.calls == [("status", True), ("status", False), ("status", True), ("status", False)]


def test_coloured_leds_show_colour_and_status_shows_rhythm():
    rec = Rec()
    p = LedPlayer(("green", "red", "status"), rec)
    p.set_state("transmitting", 0)
    p.update(0)
    assert p.lit("red") and p.lit("status") and not p.lit("green")
    p.set_state("receiving", 10)
    p.update(10)
    assert p.lit("green") and not p.lit("red")
    p.set_state("busy", 20)     # amber with no amber LED: red + green, as bi-colour LEDs do it
    p.update(20)
    assert p.lit("green") and p.lit("red")
    p.cue("denied", 30)         # red flash over the busy amber
    p.update(30)
    assert p.lit("red") and not p.lit("green")
    p = LedPlayer(("amber", "green", "red"), Rec())
    p.set_state("quota_low", 0)
    p.update(0)
    assert p.lit("amber") and not p.lit("red") and not p.lit("green")


def test_board_led_names():
    assert led_names(None) == ("status",)
    assert led_names({"leds": {}}) == ()
    assert led_names({"leds": {"status": {"pin": 2}}}) == ("status",)
    p = LedPlayer(led_names({"leds": {}}), Rec())   # a board with no LED: nothing to drive, no error
    p.set_state("idle", 0)
    assert p.update(0) == 0


def test_unknown_state_is_refused():
    p = single("idle")
    try:
        p.set_state("dancing", 0)
    except ValueError:
        pass
    else:
        assert False, "unknown state accepted"
    assert p.state == "idle"


def test_update_allocates_nothing_per_tick():
    # The radio calls update() every 10 ms for days: no garbage per tick (MicroPython's gc.mem_alloc is
    # exact; on CPython mem_alloc() is 0 and this only runs the loop). Runs with the drive writes too.
    import gc
    from ht.compat import mem_alloc
    p = LedPlayer(("green", "red", "status"), lambda name, on: None)
    p.set_state("quota_low", 0)
    p.update(0)
    p.cue("timeout_warning", 0)
    p.update(0)
    gc.collect()
    gc.disable()
    try:
        a0 = mem_alloc()
        for t in range(0, 10000, 10):
            p.update(t)
        used = mem_alloc() - a0
    finally:
        gc.enable()
    assert used == 0, "%d bytes allocated in 1000 updates" % used
