# Speaker volume: the vol_up / vol_down buttons step it, a short tone says the new level at that level,
# and the level is kept across reboots in a small file (load/save are injected: ht/ does no I/O of its own).
# Steps of 3 dB from step 1 (-27 dB) to 10 (full); step 1 is the floor, so a radio is never turned to
# silence by accident. Received speech (ht.voice.frontend's leveller) and cue tones play at the same
# level for a step: speech's active level and a tone's RMS are both speech_dbfs().
from ht.radio.ptt import Debounce

STEPS = 10
STEP_DB = 3
TOP_DBFS = -14          # speech level at step 10: leaves the limiter's -1 dBFS 13 dB for peaks
_BEEP_HZ = 1000
_BEEP_MS = 80


def speech_dbfs(step):
    return TOP_DBFS - STEP_DB * (STEPS - step)


def tone_amp(step):
    # A square wave's RMS is its amplitude: the tone is as loud as speech at this step.
    return int(32768 * 10 ** (speech_dbfs(step) / 20) + 0.5)


class Volume:
    # up/down: fn() -> pressed (hal.button) or None where the board has no such button; tone: fn(hz, ms,
    # amp) (hal.tone); load() -> text or None, save(text); on_change(speech_dbfs) tells the leveller.
    def __init__(self, up, down, tone, default=7, load=None, save=None, on_change=None):
        self.up = up
        self.down = down
        self._tone = tone
        self._save = save
        self.on_change = on_change
        self.db_up = Debounce(active_low=False)
        self.db_down = Debounce(active_low=False)
        self.step = _clamp(default)
        self.note = None
        if load is not None:
            self._load(load)

    def _load(self, load):
        try:
            text = load()
            if text:
                self.step = _clamp(int(text.strip()))
        except (OSError, ValueError) as e:
            self.note = "saved volume unreadable (%s)" % type(e).__name__

    def tick(self, now):
        # Poll the buttons every control tick; a press steps once (no auto-repeat: one press, one step).
        if self.up is not None and self.db_up.update(self.up(), now) > 0:
            self.change(1)
        if self.down is not None and self.db_down.update(self.down(), now) > 0:
            self.change(-1)

    def change(self, delta):
        self.set(self.step + delta)

    def set(self, step):
        self.step = _clamp(step)
        if self.on_change is not None:
            self.on_change(self.speech_dbfs())
        self.tone(_BEEP_HZ, _BEEP_MS)       # at the new level, even at the floor or top (it did not move)
        if self._save is not None:
            try:
                self._save("%d\n" % self.step)
            except OSError as e:
                self.note = "volume not saved (%s)" % type(e).__name__

    def speech_dbfs(self):
        return speech_dbfs(self.step)

    def tone(self, hz, ms):
        # Every cue tone goes through here (ht.radio.indicator), so it follows the volume too.
        self._tone(hz, ms, tone_amp(self.step) if hz else 0)


def _clamp(step):
    return 1 if step < 1 else STEPS if step > STEPS else step
