# Emergency SMS through the modem, for when the data link is down: each message in its own task, and
# the ones the network refused kept to be tried again (when the modem registers, or every 30 s).
import asyncio
from ht.compat import const, ticks_diff

_TRIES = const(10)
_RETRY_MS = const(30000)


class SMSSender:
    # send: async fn(number, text) (ht.modem.lifecycle.Modem.sms) or None (no modem: only reported);
    # emit: fn(kind, fields) transcript hook; counts: the radio's counters (sms_sent, sms_failed).
    def __init__(self, send, emit, counts, now):
        self.send_fn = send
        self.emit = emit
        self.counts = counts
        self.owed = []
        self.tasks = []
        self._at = now

    def send(self, number, text, tries=0):
        self.emit("sms", {"to": number, "text": text, "via": "modem" if self.send_fn else "none", "try": tries})
        if self.send_fn is not None:
            self.tasks.append(asyncio.create_task(self._task(number, text, tries)))

    async def _task(self, number, text, tries):
        try:
            await self.send_fn(number, text)
            self.counts["sms_sent"] += 1
            self.emit("sms_sent", {"to": number})
        except Exception as e:   # ModemError (no network service), timeout, no SIM
            self.counts["sms_failed"] += 1
            self.emit("sms_failed", {"to": number, "why": repr(e)})
            if tries < _TRIES:
                # Coverage gone entirely: retried when the modem registers again (link_changed) or
                # on the slow tick, so the duty officer still gets it as soon as the cell allows.
                self.owed.append((number, text, tries + 1))

    def tick(self, now):
        if self.owed and ticks_diff(now, self._at) >= _RETRY_MS:
            self._at = now
            self.retry()

    def retry(self):
        owed = self.owed
        self.owed = []
        for number, text, tries in owed:
            self.send(number, text, tries)

    def cancel(self):
        for t in self.tasks:
            t.cancel()
