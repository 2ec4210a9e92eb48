"""The radio's PTT (ht.radio.ptt) as it read the fold-era floor's verdicts, for the reference model only.

Everything but the floor events is the firmware's own PTT; the fold reported a lost claim with the winner's
priority (ev[3]) instead of a reason, had no "no service" (an unechoed claim was "noecho", cued as no
signal), no arbiter cut, and a holder_offline input from last wills.
"""
from ht.radio.ptt import BUSY, DENIED, IDLE, RECEIVING, RELEASING, TALKING
from ht.radio.ptt import PTT as _PTT


class PTT(_PTT):
    def holder_offline(self, unit, now):
        self._handle(self.floor.holder_offline(unit, now), now)

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
