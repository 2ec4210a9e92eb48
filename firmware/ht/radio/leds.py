# LED pattern player: the steady state rhythm (ht.radio.feedback.STATE_LED) with one-shot cue patterns
# (ht.radio.feedback.CUES LED steps) layered on top, for whatever LEDs a board has (board.json "leds").
# Pure: time comes in as now_ms, the LEDs are driven through a passed-in drive(name, on), called only
# when an LED changes (a GPIO write per 10 ms tick would be wasted work; a HAL that logs would flood).
# No allocation per update: colour -> LED rows are built once, patterns are the table's own tuples.
from ht.compat import ticks_diff
from ht.radio import feedback

_COLOURS = ("red", "green", "amber")


def led_names(board):
    # The LEDs to drive. No board (sim, tests): one "status" LED, what most of our boards have.
    # A board file with no LEDs (LILYGO T-A7670 unless the builder wires one): nothing to drive.
    if board is None:
        return ("status",)
    return tuple(sorted(board.get("leds") or {}))


def _rows(names):
    # colour -> tuple of on/off per LED. A single-colour "status" LED lights for any colour (the rhythm
    # carries the meaning); coloured LEDs light for their colour; amber is red+green where there is no
    # amber LED (bi-colour and RGB LEDs). A board with only coloured LEDs that cannot show a colour
    # lights them all, so no meaning is ever dark.
    has = {}
    for n in names:
        has[n] = True
    rows = {"off": tuple([False] * len(names))}
    for c in _COLOURS:
        want = (c,) if c in has else ("red", "green") if c == "amber" and "red" in has and "green" in has else ()
        row = [n == "status" or n in want for n in names]
        if not any(row):
            row = [True] * len(names)
        rows[c] = tuple(row)
    return rows


class LedPlayer:
    def __init__(self, names, drive):
        self.names = tuple(names)
        self.drive = drive
        self.on = [False] * len(self.names)
        self._rows = _rows(self.names)
        self._all = tuple([True] * len(self.names))
        self.state = None
        self._pat = None
        self._period = 0
        self._row = self._rows["off"]
        self._t0 = 0
        self._cue = None
        self._cue_t0 = 0
        self._cue_len = 0

    def set_state(self, state, now):
        # A new state restarts its rhythm at "on", so a change shows at once.
        if state == self.state:
            return
        if state is None:
            self._pat = None
        else:
            if state not in feedback.STATE_LED:
                raise ValueError("leds: unknown state %s" % state)
            self._pat = feedback.rhythm(state)
            self._row = self._rows.get(feedback.state_colour(state), self._all)
            p = 0
            for d in self._pat:
                p += d
            self._period = p if p > 0 else 1
        self.state = state
        self._t0 = now

    def cue(self, name, now):
        # One pass of the cue's LED steps, then back to the state rhythm. Cues without LED steps
        # (rx_end) leave the state pattern alone.
        steps = feedback.led(name) if name in feedback.CUES else None
        if not steps:
            return
        t = 0
        for _c, ms in steps:
            t += ms
        self._cue = steps
        self._cue_t0 = now
        self._cue_len = t

    def _cue_row(self, now):
        e = ticks_diff(now, self._cue_t0)
        if e < 0 or e >= self._cue_len:
            self._cue = None
            return None
        steps = self._cue
        for i in range(len(steps)):
            c, ms = steps[i]
            if e < ms:
                return self._rows.get(c, self._all)
            e -= ms
        return None

    def _state_row(self, now):
        pat = self._pat
        if pat is None:
            return self._rows["off"]
        e = ticks_diff(now, self._t0) % self._period
        for i in range(len(pat)):
            d = pat[i]
            if e < d:
                return self._row if i % 2 == 0 else self._rows["off"]
            e -= d
        return self._rows["off"]

    def update(self, now):
        # Returns how many LEDs changed (and were driven).
        row = None
        if self._cue is not None:
            row = self._cue_row(now)
        if row is None:
            row = self._state_row(now)
        n = 0
        on = self.on
        for i in range(len(on)):
            v = row[i]
            if v != on[i]:
                on[i] = v
                self.drive(self.names[i], v)
                n += 1
        return n

    def lit(self, name):
        return self.on[self.names.index(name)]
