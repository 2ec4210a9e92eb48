# Recovery as a visible layer over MQTTClient (as umqtt.robust over umqtt.simple):
# open a stream, connect, resubscribe, resend unacknowledged QoS 1 messages, and
# when the link dies (keepalive timeout, broker restart, modem socket closed,
# malformed packet) do it all again with backoff. The radio never reboots for it.
import asyncio
import random
from ht.compat import ticks_ms, ticks_diff
from ht.mqtt.client import MQTTClient, MQTTError, OFFLINE, CONNECTING

_AUTH_CODES = (4, 5)  # bad credentials / not authorised: retrying fast will not help


def jitter(ms, rng):
    # "equal jitter": half the backoff plus a random half. Without it a fleet that lost its broker at
    # the same moment retried at the same instants after a restart (issue 11); the modem supervisor's
    # ladder waits the same way (ht/modem/supervisor.py _backoff).
    half = ms // 2
    return half + rng.getrandbits(16) * (ms - half) // 65536


class RobustClient(MQTTClient):
    # opener: async fn() -> byte stream (netstream.open_tcp on the desktop,
    # the modem's AT socket on the radio). Raises OSError when it cannot.
    # fast_ms / fast_for_ms: for the first fast_for_ms of an outage the wait between attempts stays under
    # fast_ms, so a path that comes back is found within one attempt (docs/POWER.md: dead links found
    # fast); after that the usual doubling up to max_backoff_ms. 0 = the doubling from the start.
    def __init__(self, opener, client_id, min_backoff_ms=500, max_backoff_ms=30000, rng=None, fast_ms=0,
                 fast_for_ms=300000, **kw):
        MQTTClient.__init__(self, client_id, **kw)
        self.fast_ms = fast_ms
        self.fast_for_ms = fast_for_ms
        self._out_since = None
        self.opener = opener
        self.rng = rng or random      # getrandbits(16): the jitter of each wait (tests pass a seeded one)
        self.min_backoff_ms = min_backoff_ms
        self.max_backoff_ms = max_backoff_ms
        self._subs = {}  # topic -> qos, replayed on every new link
        self._queue_offline = True
        self._stop = False
        self._up = asyncio.Event()
        self._wake = asyncio.Event()
        self._task = None
        self.refused_subs = []  # topics the broker refused (SUBACK 0x80), e.g. by ACL

    def start(self):
        if self._task is None:
            self._stop = False
            self._task = asyncio.create_task(self.run())
        return self._task

    async def stop(self):
        self._stop = True
        self._wake.set()
        try:
            # bounded: a stalled peer (a send buffer that never drains) must not hold a shutdown forever
            await asyncio.wait_for(self.disconnect(), 5)
        except (asyncio.TimeoutError, OSError):
            self._drop("stopped")
        t = self._task
        self._task = None
        if t is not None:
            t.cancel()
            try:
                await t
            except BaseException:  # CancelledError is BaseException on CPython >= 3.8
                pass
        self._set_state(OFFLINE, "stopped")

    def reconnect_now(self):
        # Skip the backoff wait, e.g. when the modem reports the data link is back.
        self._wake.set()

    async def wait_online(self, timeout_ms=None):
        if timeout_ms is None:
            await self._up.wait()
            return True
        try:
            await asyncio.wait_for(self._up.wait(), timeout_ms / 1000)
            return True
        except asyncio.TimeoutError:
            return False

    async def subscribe(self, topic, qos=0):
        # Remembered and replayed on every reconnect; sent now if online.
        self._subs[topic] = qos
        if self.is_connected():
            return await MQTTClient.subscribe(self, topic, qos)
        return qos

    async def unsubscribe(self, topic):
        self._subs.pop(topic, None)
        if self.is_connected():
            await MQTTClient.unsubscribe(self, topic)

    async def run(self):
        backoff = self.min_backoff_ms
        while not self._stop:
            refused = False
            self._set_state(CONNECTING, self.reason)
            t0 = ticks_ms()
            try:
                await self._link_up()
            except MQTTError as e:
                self._set_state(OFFLINE, str(e))
                if e.code in _AUTH_CODES:
                    backoff = self.max_backoff_ms
                    refused = True      # the broker answers: no dead path to find fast
            except (OSError, asyncio.TimeoutError) as e:
                self._set_state(OFFLINE, "cannot reach broker: %s" % (str(e) or type(e).__name__))
            else:
                if self._stop:
                    # came up while stop() ran: CPython 3.11's wait_for can lose a cancel that lands as the
                    # awaited step finishes, and a link left up here would hold stop() forever
                    self._drop("stopped")
                    break
                await self.wait_down()
                self._up.clear()
                # A link that lived a while was healthy: start backing off from the bottom again.
                if ticks_diff(ticks_ms(), t0) > self.max_backoff_ms:
                    backoff = self.min_backoff_ms
            if self._stop:
                break
            now = ticks_ms()
            if self._up.is_set() or self._out_since is None:
                self._out_since = now
            wait = backoff
            if self.fast_ms and not refused and ticks_diff(now, self._out_since) < self.fast_for_ms:
                wait = min(wait, self.fast_ms)
            await self._sleep_or_wake(jitter(wait, self.rng))
            backoff = min(backoff * 2, self.max_backoff_ms)

    async def _link_up(self):
        stream = await asyncio.wait_for(self.opener(), self.timeout_ms / 1000)
        await self.connect(stream)
        if self._subs:
            topics = list(self._subs.items())
            codes = await self.subscribe_many(topics)
            self.refused_subs = [t for (t, q), c in zip(topics, codes) if c == 0x80]
        await self.resend_inflight()
        self._out_since = None
        self._up.set()
        MQTTClient._announce(self)

    def _announce(self):
        pass  # ONLINE only once subscriptions are back (see _link_up): messages sent then arrive

    async def _sleep_or_wake(self, ms):
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), ms / 1000)
        except asyncio.TimeoutError:
            pass
