# What the user hears and sees of the radio's state: cue tones and LED overlays when a state machine
# asks (ht.radio.feedback.CUES), and the steady LED rhythm for the most urgent state the radio is in
# (feedback.STATE_LED), played by ht.radio.leds.LedPlayer.
from ht.compat import ticks_ms
from ht.radio import feedback
from ht.radio.ptt import TALKING, REQUESTING, BUSY, DENIED, RECEIVING
from ht.radio.emergency import ALERTING


class Indicator:
    # tone: fn(hz, ms) (hal.tone); leds: LedPlayer; ptts: talkgroup -> PTT; emit: fn(kind, fields).
    def __init__(self, tone, leds, emergency, scan, ptts, rollcall, emit):
        self.tone = tone
        self.leds = leds
        self.emergency = emergency
        self.scan = scan
        self.ptts = ptts
        self.rollcall = rollcall
        self.emit = emit

    def cue(self, name, now=None):
        # now: the tick's time when a state machine asked (same clock as the LED rhythm); None from
        # the MQTT reader, which reads the clock itself.
        if name in feedback.CUES:
            for f, ms in feedback.tone(name):
                self.tone(f, ms)
            self.leds.cue(name, ticks_ms() if now is None else now)   # one pass over the state rhythm
        self.emit("cue", {"name": name})

    def update(self, now, online, plan):
        self.leds.set_state(self.state(now, online, plan), now)
        self.leds.update(now)

    def state(self, now, online, plan):
        # The steady LED meaning, most urgent first: an emergency outshines the hot-mic transmission
        # it opened; "releasing" has already stopped sending, so it is not shown.
        if self.emergency.state == ALERTING:
            return "emergency"
        ask = None
        rx = self.scan.playing is not None
        for tg in self.ptts:
            s = self.ptts[tg].state
            if s == TALKING:
                return "transmitting"
            if s == REQUESTING or s == BUSY:
                ask = "busy"
            elif s == DENIED and ask is None:
                ask = "denied"
            elif s == RECEIVING:
                rx = True
        if ask is not None:
            return ask
        if self.rollcall.wants_press(now):
            return "rollcall"
        if rx:
            return "receiving"
        if not online:
            return "no_signal"
        for tg in self.ptts:
            if not self.ptts[tg].floor.service:
                return "no_service"
        if plan == "low" or plan == "exhausted":
            return "quota_low"
        return "idle"
