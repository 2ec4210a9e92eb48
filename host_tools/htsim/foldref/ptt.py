# The PTT button and what pressing it means. Debounce turns raw pin levels into clean edges;
# PTT turns edges plus the floor's verdicts into states, cues and tx_start/tx_stop for the audio path.
from ht.compat import ticks_diff, ticks_add
from ht.radio import floormsg as fm

IDLE = "idle"
REQUESTING = "requesting"
TALKING = "talking"
RELEASING = "releasing"
RECEIVING = "receiving"
BUSY = "busy"
DENIED = "denied"


class Debounce:
    # A level must stay put for filter_ms before it counts: contact bounce on the cheap tact switches
    # lasts ~5-20 ms, and a cable-borne spike from the LTE PA burst is shorter still.
    def __init__(self, filter_ms=30, active_low=True):
        self.filter_ms = filter_ms
        self.active_low = active_low
        self.pressed = False
        self._cand = False
        self._since = 0

    def update(self, raw, now):
        # Feed every poll (or every IRQ with the pin level); returns 1 on press, -1 on release, else 0.
        level = (not raw) if self.active_low else bool(raw)
        if level != self._cand:
            self._cand = level
            self._since = now
            return 0
        if level != self.pressed and ticks_diff(now, self._since) >= self.filter_ms:
            self.pressed = level
            return 1 if level else -1
        return 0


class PTT:
    def __init__(self, floor, outbox, prio=fm.PRIO_NORMAL, talk_timeout_ms=60000, warn_ms=10000,
                 release_wait_ms=3000, debounce=None, rollcall=None):
        self.floor = floor
        self.out = outbox
        self.prio = prio
        self.talk_timeout_ms = talk_timeout_ms
        self.warn_ms = warn_ms
        self.release_wait_ms = release_wait_ms
        self.debounce = debounce or Debounce()
        self.rollcall = rollcall
        self.state = IDLE
        self.held = False
        self._consumed = False
        self._talk_start = 0
        self._warned = False
        self._released_at = 0
        self._hot_until = None

    # ---- inputs ------------------------------------------------------------------------------
    def button(self, raw, now):
        edge = self.debounce.update(raw, now)
        if edge > 0:
            self.press(now)
        elif edge < 0:
            self.release(now)

    def press(self, now):
        self.held = True
        if self.rollcall is not None and self.rollcall.wants_press(now):
            # A press during a roll call answers it; it must not also key up the talkgroup.
            self._consumed = True
            self.rollcall.acknowledge(now)
            return
        self._start(now, self.prio)

    def release(self, now):
        self.held = False
        if self._consumed:
            self._consumed = False
            return
        if self._hot_until is not None:
            return  # hot-mic: the emergency keeps the microphone open on its own timer
        if self.state == REQUESTING:
            self._handle(self.floor.abandon(now), now)
            self._set(self._rest())
        elif self.state == TALKING:
            self._end(now, fm.REASON_USER)
        elif self.state in (BUSY, DENIED):
            self._set(self._rest())

    def hot_mic(self, now, prio, ms):
        # Emergency: transmit for ms without PTT, pre-empting lower priorities (re-claims if talking).
        self._hot_until = ticks_add(now, ms)
        self._start(now, prio, force=True)

    def use(self, floor, now):
        # Scan moved the talk-back talkgroup: switch floors only between bursts, never mid-claim or mid-talk.
        if self.state in (REQUESTING, TALKING, RELEASING) or floor is self.floor:
            return False
        self.floor = floor
        self._set(self._rest())
        return True

    def on_floor(self, msg, now):
        self._handle(self.floor.on_message(msg, now), now)

    def holder_offline(self, unit, now):
        self._handle(self.floor.holder_offline(unit, now), now)

    def tick(self, now):
        self._handle(self.floor.tick(now), now)
        st = self.state
        if st == TALKING:
            self._tick_talk(now)
        elif st == RELEASING and ticks_diff(now, self._released_at) > self.release_wait_ms:
            self._set(self._rest())
        elif st in (IDLE, RECEIVING):
            self._set(self._rest())

    # ---- internals ---------------------------------------------------------------------------
    def _tick_talk(self, now):
        if self._hot_until is not None and ticks_diff(now, self._hot_until) >= 0:
            self._hot_until = None
            if not self.held:
                self._end(now, fm.REASON_HOTMIC)
                return
        el = ticks_diff(now, self._talk_start)
        if el >= self.talk_timeout_ms:
            self._hot_until = None
            self.out.cue("timeout_cut")
            self._end(now, fm.REASON_TIMEOUT, cue=False)
        elif not self._warned and el >= self.talk_timeout_ms - self.warn_ms:
            self._warned = True
            self.out.cue("timeout_warning")

    def _start(self, now, prio, force=False):
        if not force and self.state in (REQUESTING, TALKING):
            return
        if self.state == TALKING and prio <= self.floor.tx_prio:
            return
        why = self.floor.busy_for(prio)
        if why is not None:
            self._hot_until = None
            self._set(BUSY if why == "busy" else DENIED)
            self.out.cue(why)
            return
        if self.state != TALKING:
            self._set(REQUESTING)
        self._handle(self.floor.claim(prio, now), now)

    def _end(self, now, reason, cue=True):
        self._handle(self.floor.release(now, reason), now)
        self.out.event(("tx_stop", self.floor.tg))
        if cue:
            self.out.cue("roger")
        self._released_at = now
        self._set(RELEASING)

    def _handle(self, evs, now):
        for ev in evs:
            k = ev[0]
            if k == "granted":
                if self.state != TALKING:
                    self._talk_start = now
                    self._warned = False
                    self.out.event(("tx_start", self.floor.tg, ev[2]))
                self._set(TALKING)
                self.out.cue("permit")
            elif k in ("lost", "noecho") and self.floor.talking:
                # a re-claim at emergency priority failed, but the burst we were on is still ours
                self.out.cue("no_signal" if k == "noecho" else "busy")
            elif k == "lost":
                self._hot_until = None
                why = "denied" if ev[3] > self.prio else "busy"
                self._set((DENIED if why == "denied" else BUSY) if self.held else self._rest())
                self.out.cue(why)
            elif k == "noecho":
                self._hot_until = None
                self._set(self._rest())
                self.out.cue("no_signal")
            elif k == "preempted":
                self._hot_until = None
                self.out.event(("tx_stop", self.floor.tg))
                self.out.cue("preempted")
                self._set(DENIED if self.held else self._rest())
            elif k == "talker" and self.state in (IDLE, RECEIVING, RELEASING):
                self._set(RECEIVING)
            elif k == "free" and self.state in (RECEIVING, RELEASING):
                if self.state == RECEIVING:
                    self.out.cue("rx_end")
                self._set(IDLE)

    def _rest(self):
        return RECEIVING if self.floor.talker() not in (None, self.floor.unit) else IDLE

    def _set(self, st):
        if st != self.state:
            self.state = st
            self.out.event(("state", st))
