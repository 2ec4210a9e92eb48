# Talkgroup scan: a radio listens to several talkgroups but plays one burst at a time. Which one:
# an emergency burst anywhere, then all-call (Command Center to the whole fleet), then the priority
# talkgroup, then the selected one, then the others in scan-list order. A burst being played is not
# interrupted by a lower-ranked one; after it ends the radio "hangs" on that talkgroup for hang_ms so a
# press answers the person just heard, then falls back to the selected talkgroup for transmit.
from ht.compat import ticks_diff, ticks_add
from ht.radio import floormsg as fm

ALLCALL = "all"


class Scan:
    def __init__(self, talkgroups, selected=None, priority_tg=None, hang_ms=4000):
        if not talkgroups:
            raise ValueError("no talkgroups")
        self.talkgroups = list(talkgroups)
        self.selected = selected or self.talkgroups[0]
        if self.selected not in self.talkgroups:
            raise ValueError("selected talkgroup not in scan list")
        if priority_tg is not None and priority_tg not in self.talkgroups:
            raise ValueError("priority talkgroup not in scan list")
        self.priority_tg = priority_tg
        self.hang_ms = hang_ms
        self.enabled = True
        self.active = {}   # tg -> (unit, prio) for talkgroups with a live talker
        self.playing = None
        self._hang_tg = None
        self._hang_until = 0

    def subscriptions(self):
        # Every talkgroup in the list plus the fleet-wide all-call group.
        return self.talkgroups + [ALLCALL]

    def on_talker(self, tg, unit, prio, now):
        self.active[tg] = (unit, prio)
        self._choose(now)
        return self.playing

    def on_free(self, tg, now):
        if tg in self.active:
            del self.active[tg]
        if tg == self.playing:
            self._hang_tg = tg
            self._hang_until = ticks_add(now, self.hang_ms)
            self.playing = None
        self._choose(now)
        return self.playing

    def rank(self, tg):
        # Lower is more important.
        a = self.active.get(tg)
        if a is not None and a[1] >= fm.PRIO_EMERGENCY:
            return 0
        if tg == ALLCALL:
            return 1
        if tg == self.priority_tg:
            return 2
        if tg == self.selected:
            return 3
        if not self.enabled:
            return None
        return 4 + self.talkgroups.index(tg) if tg in self.talkgroups else None

    def _choose(self, now):
        best = None
        for tg in self.active:
            r = self.rank(tg)
            if r is None:
                continue
            if best is None or r < best[0] or (r == best[0] and tg == self.playing):
                best = (r, tg)
        if best is None:
            return
        cur = self.rank(self.playing) if self.playing in self.active else None
        if cur is None or best[0] < cur:
            self.playing = best[1]

    def tx_talkgroup(self, now):
        # Where a PTT press goes: the talkgroup being played or just heard (talk-back), else the selected one.
        if self.playing is not None and self.playing != ALLCALL:
            return self.playing
        if self._hang_tg is not None and self._hang_tg != ALLCALL and ticks_diff(self._hang_until, now) > 0:
            return self._hang_tg
        return self.selected

    def select(self, tg):
        if tg not in self.talkgroups:
            raise ValueError("talkgroup %s not in scan list" % tg)
        self.selected = tg
