# The watch over one MQTT link (MQTT 3.1.1 3.1.2.10): PINGREQ when the link has been idle
# for a keepalive, a drop when the broker has been silent for 1.5 x keepalive (modem stuck,
# NAT dropped the flow), and on every tick the client's QoS 1 retry.
# The Reader stamps last_rx and clears ping_out on PINGRESP; the client stamps last_tx.
# The reply deadline (reply_ms, 0 = off): a packet that wants an answer (QoS 1 PUBLISH, SUBSCRIBE,
# PINGREQ) marks expect_at; if the broker then sends nothing at all for reply_ms, the flow is dead
# (a carrier NAT forgot it, the path blackholed) and the link drops now, not after 1.5 x keepalive. Any
# byte from the broker answers: a PUBACK queued behind voice frames still counts. docs/POWER.md.
# Plain fields, not methods: they are touched on every packet of the voice path.
from ht.compat import const, ticks_ms, ticks_diff, asleep_ms as _sleep_ms
import asyncio
from ht.mqtt import packet as P

_TICK_MAX_MS = const(1000)


class Keepalive:
    # write: coroutine fn(pkt) that sends or raises OSError; drop: fn(reason) ends the link;
    # retry: coroutine fn(now) resending QoS 1 messages that waited too long; stats: counters.
    def __init__(self, write, drop, retry, stats):
        self._write = write
        self._drop = drop
        self._retry = retry
        self.stats = stats
        self.last_rx = self.last_tx = self.ping_at = 0
        self.ping_out = False
        self.reply_ms = 0
        self.expect_at = None
        self._s = None

    def expect(self):
        # a packet that the broker must answer went out
        now = ticks_ms()
        e = self.expect_at
        if e is None or ticks_diff(self.last_rx, e) >= 0:
            self.expect_at = now

    def start(self, s, keepalive_s):
        # -> the task watching stream s until stop() or the link fails.
        self._s = s
        self.last_rx = self.last_tx = ticks_ms()
        self.ping_out = False
        self.expect_at = None
        return asyncio.create_task(self._watch(s, keepalive_s * 1000))

    def stop(self):
        self._s = None

    async def _watch(self, s, ka):
        tick = _TICK_MAX_MS if not ka or ka // 4 > _TICK_MAX_MS else ka // 4
        while self._s is s:
            await _sleep_ms(tick)
            now = ticks_ms()
            e = self.expect_at
            if self.reply_ms and e is not None and ticks_diff(self.last_rx, e) < 0 and \
                    ticks_diff(now, e) > self.reply_ms:
                self._drop("no reply from broker for %d ms: dead flow" % ticks_diff(now, e))
                return
            if ka:
                quiet = ticks_diff(now, self.last_rx)
                if quiet > ka + ka // 2:
                    self._drop("keepalive timeout: no reply from broker for %d ms" % quiet)
                    return
                idle = ticks_diff(now, self.last_tx)
                if (idle >= ka or quiet >= ka) and (not self.ping_out or
                                                    ticks_diff(now, self.ping_at) >= ka // 2):
                    self.ping_out = True
                    self.ping_at = now
                    self.expect()
                    self.stats["pings"] += 1
                    try:
                        await self._write(P.PINGREQ_PKT)
                    except OSError:
                        return
            await self._retry(now)
