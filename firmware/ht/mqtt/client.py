# MQTT 3.1.1 client over any byte stream (docs/ARCHITECTURE.md "Byte stream"):
# an AT socket on the radio, netstream.TCPStream on the desktop. One connection
# at a time; reconnecting is the visible layer on top (ht/mqtt/robust.py), the
# way umqtt.robust sits on umqtt.simple.
#
# Buffers are allocated once: received packets land in the Reader's (ht/mqtt/rx.py) and
# handlers get a memoryview into it; publishes are framed into `_tx`.
import asyncio
from ht.compat import const, ticks_ms, ticks_diff
from ht.mqtt import packet as P
from ht.mqtt.packet import MQTTError
from ht.mqtt.keepalive import Keepalive
from ht.mqtt.rx import Reader

OFFLINE = const(0)
CONNECTING = const(1)
ONLINE = const(2)
STATE_NAMES = ("offline", "connecting", "online")


class MQTTClient:
    def __init__(self, client_id, user=None, password=None, keepalive=60, clean=True,
                 max_packet=1536, max_inflight=4, retry_ms=5000, timeout_ms=10000, on_message=None,
                 on_state=None, reply_ms=0):
        self.client_id = client_id
        self.user = user
        self.password = password
        self.keepalive = keepalive
        self.clean = clean
        self.max_inflight = max_inflight
        self.retry_ms = retry_ms
        self.timeout_ms = timeout_ms
        # fn(topic: bytes, payload: memoryview, retained: bool). payload points into the
        # receive buffer: valid during the call only, copy what must be kept.
        # Both stay plain attributes as well: test rigs and the self-test tap them on a live client.
        self.on_message = on_message
        self.on_state = on_state  # fn(state: OFFLINE/CONNECTING/ONLINE, reason: str)
        self.state = OFFLINE
        self.reason = "not connected yet"
        self.will = None
        self._tx = bytearray(max_packet)
        self._txmv = memoryview(self._tx)
        self._txlen = -1  # cached memoryview of the last frame length (voice frames repeat it)
        self._txview = None
        self._s = None
        # One writer at a time on the stream. Not asyncio.Lock: `async with` costs
        # ~400 bytes of heap per use on MicroPython, and the voice path writes 50 times a second.
        self._busy = False
        self._free = asyncio.Event()
        self._down = asyncio.Event()
        self._acked = asyncio.Event()  # pulsed on PUBACK/SUBACK/UNSUBACK and on link loss
        self._inflight = {}  # pid -> [packet bytearray, sent ticks]
        self._pending = {}  # pid -> return codes of SUBACK/UNSUBACK once they arrive
        self._pid = 0
        self._queue_offline = False  # mqtt_robust keeps QoS 1 messages for the next link
        self._tasks = ()
        # counters a technician can read over the REPL (and tests assert on)
        self.stats = {"rx": 0, "tx": 0, "pings": 0, "retries": 0, "dropped_big": 0,
                      "handler_errors": 0, "links": 0}
        self._clock = Keepalive(self._write, self._drop, self._retry, self.stats)
        self._clock.reply_ms = reply_ms   # 0: a dead flow is found by the keepalive alone
        self._reader = Reader(self, max_packet, self._clock, self.stats)

    def set_last_will(self, topic, payload, qos=0, retain=False):
        self.will = (topic, payload, qos, retain)

    def is_connected(self):
        return self._s is not None

    def _set_state(self, state, reason):
        self.state = state
        self.reason = reason
        cb = self.on_state
        if cb:
            try:
                cb(state, reason)
            except Exception as e:  # a broken UI callback must not break the link
                print("mqtt: on_state failed:", repr(e))

    # ---- connection -------------------------------------------------------
    async def connect(self, stream):
        # Sends CONNECT on an open stream and waits for CONNACK. Raises MQTTError
        # (code = CONNACK return code) when refused, OSError/TimeoutError otherwise.
        if self._s is not None:
            raise OSError("MQTT already connected")
        pkt = P.connect(self.client_id, self.keepalive, self.clean, self.user, self.password, self.will)
        try:
            await stream.send(pkt)
            end = await asyncio.wait_for(self._reader.connack(stream), self.timeout_ms / 1000)
        except BaseException:
            await stream.close()
            raise
        self._s = stream
        self._down = asyncio.Event()
        self.stats["links"] += 1
        self._tasks = (self._reader.start(stream, end), self._clock.start(stream, self.keepalive))
        self._announce()
        return bool(self._reader.buf[2] & 1)  # session present

    def _announce(self):
        self._set_state(ONLINE, "connected")

    async def disconnect(self):
        s = self._s
        if s is None:
            return
        try:
            await self._write(P.DISCONNECT_PKT)
        except OSError:
            pass
        closing = self._drop("disconnected by us")
        if closing is not None:
            await closing  # socket really closed before we return (tests, clean shutdown)

    def _drop(self, reason):
        # The one place a link ends: close the stream, stop its tasks, wake waiters.
        s = self._s
        if s is None:
            return None
        self._s = None
        self._reader.stop()
        self._clock.stop()
        cur = asyncio.current_task()
        for t in self._tasks:
            if t is not cur:
                t.cancel()
        self._tasks = ()
        closing = asyncio.create_task(s.close())
        self._pending.clear()
        self._acked.set()
        self._down.set()
        self._set_state(OFFLINE, reason)
        return closing

    async def wait_down(self):
        await self._down.wait()
        return self.reason

    # ---- sending ----------------------------------------------------------
    async def _write(self, buf):
        # buf goes out whole before anything else does (packets never interleave).
        while self._busy:
            self._free.clear()
            await self._free.wait()
        s = self._s
        if s is None:
            raise OSError("MQTT not connected")
        self._busy = True
        try:
            await s.send(buf)
        except OSError as e:
            self._drop("send failed: %s" % e)
            raise
        finally:
            self._busy = False
            self._free.set()
        self._clock.last_tx = ticks_ms()
        self.stats["tx"] += 1
        return 0

    def _next_pid(self):
        pid = self._pid
        while True:
            pid = pid % 65535 + 1
            if pid not in self._inflight and pid not in self._pending:
                self._pid = pid
                return pid

    def _view(self, n):
        # Voice frames have one length; reusing the view keeps the hot path allocation-free.
        if n != self._txlen:
            self._txview = self._txmv[:n]
            self._txlen = n
        return self._txview

    def publish(self, topic, payload, qos=0, retain=False):
        # Returns an awaitable: `await c.publish(...)`. topic: pre-encoded bytes
        # (ht.radio.topics); payload: bytes/bytearray/memoryview. QoS 0 -> 0 once written.
        # QoS 1 -> packet id once written and kept for retry (wait_ack(pid) for PUBACK).
        # Not a coroutine itself: on the voice path (QoS 0, link idle) the frame is
        # built now, straight into _tx, and the only coroutine left is the write.
        if qos == 0 and not self._busy and self._s is not None:
            return self._write(self._view(P.frame_publish(self._tx, topic, payload, 0, retain)))
        return self._publish(topic, payload, qos, retain)

    async def _publish(self, topic, payload, qos, retain):
        if qos == 0:
            while self._busy:  # _tx may still be on its way out
                self._free.clear()
                await self._free.wait()
            await self._write(self._view(P.frame_publish(self._tx, topic, payload, 0, retain)))
            return 0
        while len(self._inflight) >= self.max_inflight:
            self._check_online()  # full and offline: nothing will free a slot soon
            self._acked.clear()
            await self._acked.wait()
        if not self._queue_offline:
            self._check_online()
        pid = self._next_pid()
        pkt = bytearray(P.publish_size(len(topic), len(payload), 1))
        P.frame_publish(pkt, topic, payload, 1, retain, pid)
        self._inflight[pid] = [pkt, ticks_ms()]
        if self._s is not None:
            try:
                await self._write(pkt)
                self._clock.expect()
            except OSError:
                if not self._queue_offline:
                    raise
        return pid

    def _check_online(self):
        if self._s is None:
            raise OSError("MQTT not connected")

    def pending(self, pid):
        return pid in self._inflight

    async def wait_ack(self, pid, timeout_ms=None):
        # True once the broker acknowledged pid; False on timeout.
        t0 = ticks_ms()
        while pid in self._inflight:
            left = None if timeout_ms is None else timeout_ms - ticks_diff(ticks_ms(), t0)
            if left is not None and left <= 0:
                return False
            self._acked.clear()
            try:
                if left is None:
                    await self._acked.wait()
                else:
                    await asyncio.wait_for(self._acked.wait(), left / 1000)
            except asyncio.TimeoutError:
                return False
        return True

    async def resend_inflight(self):
        # After a reconnect: unacknowledged QoS 1 messages go out again with DUP set (4.4).
        for pid in sorted(self._inflight):
            m = self._inflight.get(pid)
            if m is not None:
                await self._resend(m)

    async def _resend(self, m):
        m[0][0] |= 0x08
        m[1] = ticks_ms()
        self.stats["retries"] += 1
        await self._write(m[0])
        self._clock.expect()

    async def _retry(self, now):
        # The Keepalive's tick: QoS 1 messages unacknowledged for retry_ms go out again.
        for pid in list(self._inflight):
            m = self._inflight.get(pid)
            if m is not None and ticks_diff(now, m[1]) >= self.retry_ms:
                try:
                    await self._resend(m)
                except OSError:
                    return

    def _on_ack(self, pid, codes):
        # From the Reader: PUBACK (codes None) frees a QoS 1 slot; SUBACK/UNSUBACK codes go to _request.
        if codes is None:
            if self._inflight.pop(pid, None) is not None:
                self._acked.set()
        elif pid in self._pending:
            self._pending[pid] = codes
            self._acked.set()

    # ---- subscriptions ----------------------------------------------------
    async def subscribe(self, topic, qos=0):
        codes = await self._request(P.subscribe, [(topic, qos)])
        if codes[0] == 0x80:
            raise MQTTError(0x80, "broker refused subscription to %s" % topic)
        return codes[0]

    async def subscribe_many(self, topics):
        # [(topic, qos)] in one SUBSCRIBE -> granted QoS list (0x80 = refused).
        return await self._request(P.subscribe, topics)

    async def unsubscribe(self, topic):
        await self._request(P.unsubscribe, [topic])

    async def _request(self, build, items):
        self._check_online()
        pid = self._next_pid()
        self._pending[pid] = None
        await self._write(build(pid, items))
        self._clock.expect()
        t0 = ticks_ms()
        while self._pending.get(pid, 0) is None:
            left = self.timeout_ms - ticks_diff(ticks_ms(), t0)
            if left <= 0:
                self._drop("no SUBACK/UNSUBACK from broker")
                raise OSError("broker did not answer SUBSCRIBE/UNSUBSCRIBE")
            self._acked.clear()
            try:
                await asyncio.wait_for(self._acked.wait(), left / 1000)
            except asyncio.TimeoutError:
                pass
        codes = self._pending.pop(pid, None)
        if codes is None:
            raise OSError("link lost: %s" % self.reason)
        return codes
