# Portable: runs under CPython (pytest) and MicroPython (tests/firmware/test_mpy_tier.py).
# Speaker volume from the board's buttons: steps, the floor, a tone at the new level, kept across reboots.
from ht.radio import volume as V
from ht.radio import sound
from ht import config as C
from ht.voice.level_pure import P_TARGET


class Buttons:
    def __init__(self):
        self.down = {"vol_up": False, "vol_down": False}
        self.tones = []

    def button(self, name):
        return lambda: self.down[name]

    def tone(self, hz, ms, amp=None):
        self.tones.append((hz, ms, amp))


def _press(vol, hw, name, t):
    hw.down[name] = True
    for k in range(6):
        vol.tick(t + 10 * k)
    hw.down[name] = False
    for k in range(6):
        vol.tick(t + 60 + 10 * k)
    return t + 200


def _make(hw, store=None, default=7):
    load, save = store if store else (None, None)
    return V.Volume(hw.button("vol_up"), hw.button("vol_down"), hw.tone, default, load, save)


def test_buttons_step_the_volume_once_per_press_with_a_tone_at_the_new_level():
    hw = Buttons()
    vol = _make(hw)
    t = _press(vol, hw, "vol_up", 0)
    assert vol.step == 8 and len(hw.tones) == 1
    assert hw.tones[0][2] == V.tone_amp(8)
    _press(vol, hw, "vol_down", t)
    _press(vol, hw, "vol_down", t + 200)
    assert vol.step == 6 and hw.tones[-1][2] == V.tone_amp(6) < V.tone_amp(8)


def test_a_bounce_shorter_than_the_filter_is_not_a_press():
    hw = Buttons()
    vol = _make(hw)
    hw.down["vol_up"] = True
    vol.tick(0)
    vol.tick(10)
    hw.down["vol_up"] = False
    for k in range(10):
        vol.tick(20 + 10 * k)
    assert vol.step == 7 and not hw.tones


def test_floor_never_silent_and_top_bounded():
    hw = Buttons()
    vol = _make(hw)
    t = 0
    for k in range(15):
        t = _press(vol, hw, "vol_down", t)
    assert vol.step == 1 and V.tone_amp(1) > 200         # still audible: -41 dBFS, not silence
    for k in range(15):
        t = _press(vol, hw, "vol_up", t)
    assert vol.step == V.STEPS


def test_level_kept_across_reboots_through_the_injected_store():
    flash = {}

    def load():
        return flash.get("v")

    def save(text):
        flash["v"] = text
    hw = Buttons()
    vol = _make(hw, (load, save))
    _press(vol, hw, "vol_up", 0)
    again = _make(Buttons(), (load, save))
    assert again.step == 8
    flash["v"] = "garbage"
    assert _make(Buttons(), (load, save)).step == 7 and not None


def test_tones_and_speech_follow_the_same_level():
    hw = Buttons()
    lev, vol = sound.speaker(hw, C.defaults(), None)
    assert vol.up is None and vol.down is None            # no board: no buttons, still a volume
    vol.set(10)
    assert lev.st[P_TARGET] > 0
    t10 = lev.st[P_TARGET]
    vol.set(4)
    assert lev.st[P_TARGET] < t10                               # the leveller's target followed
    vol.tone(1200, 60)
    assert hw.tones[-1] == (1200, 60, V.tone_amp(4))


def test_the_mic_front_end_follows_its_config_keys():
    cfg = C.defaults()
    fe = sound.mic_frontend(cfg, None)
    assert fe.buzz is not None and fe.denoise is not None          # the buzz canceller on by default
    cfg.set("mic.buzz", False)
    fe = sound.mic_frontend(cfg, None)
    assert fe.buzz is None and fe.denoise is not None
    cfg.set("mic.frontend", False)
    assert sound.mic_frontend(cfg, None) is None
