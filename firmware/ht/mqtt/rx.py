# The receive side of MQTTClient (ht/mqtt/client.py): packets from the broker parsed out
# of the preallocated buffer, and the watch for a link that has gone quiet.
# A mixin only so ht/mqtt/client.py stays readable; it uses the client's fields.
from ht.compat import const, ticks_ms, ticks_diff, asleep_ms as _sleep_ms
from ht.mqtt import packet as P

_HOUSEKEEP_MAX_MS = const(1000)



class Receiver:
    # ---- receiving --------------------------------------------------------
    async def _read_loop(self, s, start, end):
        rx = self._rx
        size = len(rx)
        skip = 0  # bytes left of an oversized packet we are discarding
        try:
            while self._s is s:
                start = await self._parse(start, end)
                if start < 0:  # oversized packet: its head is handled, discard the rest
                    skip = -start
                    start = end = 0
                elif start == end:
                    start = end = 0
                elif start:
                    rx[0:end - start] = bytes(self._rxmv[start:end])
                    end -= start
                    start = 0
                chunk = await s.recv(size - end)
                if not chunk:
                    self._drop("broker closed the connection")
                    return
                self._last_rx = ticks_ms()
                n = len(chunk)
                if skip:
                    k = n if n < skip else skip
                    skip -= k
                    if k == n:
                        continue
                    chunk = chunk[k:]
                    n -= k
                rx[end:end + n] = chunk
                end += n
        except ValueError as e:
            self._drop("malformed packet from broker: %s" % e)
        except OSError as e:
            self._drop("receive failed: %s" % e)
        except Exception as e:  # a bug here must end in a reconnect, not a zombie link
            self._drop("client error: %r" % e)

    async def _parse(self, start, end):
        # Dispatch every complete packet in rx[start:end]; return the new start,
        # or -(bytes still to discard) for an oversized packet.
        rx = self._rx
        while end - start >= 2:
            n, body = P.get_varint(rx, start + 1, end)
            if n < 0:
                break
            total = body - start + n
            if total > len(rx):
                return await self._oversize(start, body, end, total)
            if end - start < total:
                break
            # _dispatch is a plain call: a coroutine per packet would cost a heap object and a
            # resume for every voice frame (50/s per talker heard); only an ack is awaited.
            ack = self._dispatch(rx[start], body, start + total)
            if ack is not None:
                await self._write(ack)
            start += total
        return start

    async def _oversize(self, start, body, end, total):
        # Bigger than max_packet: drop the message but keep the link; a QoS 1
        # PUBLISH still gets its PUBACK so the broker does not resend it forever.
        rx = self._rx
        if rx[start] & 0xF0 != P.PUBLISH:
            raise ValueError("packet of %d bytes exceeds max_packet" % total)
        if end - body < 2:
            raise ValueError("oversized packet header split")  # only if max_packet is tiny
        qos = (rx[start] >> 1) & 3
        need = body + 2 + ((rx[body] << 8) | rx[body + 1]) + (2 if qos else 0)
        if need > end:
            raise ValueError("oversized PUBLISH with topic beyond buffer")
        self.stats["dropped_big"] += 1
        if qos:
            await self._write(P.put_ack(self._ackbuf, P.PUBACK, (rx[need - 2] << 8) | rx[need - 1]))
        return -(total - (end - start))

    def _dispatch(self, head, body, end):
        # -> a packet to write back (PUBACK for a QoS 1 PUBLISH) or None.
        kind = head & 0xF0
        rx = self._rx
        self.stats["rx"] += 1
        if kind == P.PUBLISH:
            ts, te, pid, ps = P.parse_publish(rx, body, end, head)
            cb = self.on_message
            if cb:
                try:
                    cb(bytes(self._rxmv[ts:te]), self._rxmv[ps:end], bool(head & 1))
                except Exception as e:  # the radio's bug must not cost the link
                    self.stats["handler_errors"] += 1
                    print("mqtt: on_message failed:", repr(e))
            if pid:
                return P.put_ack(self._ackbuf, P.PUBACK, pid)
            return None
        if kind == P.PINGRESP:
            self._ping_out = False
            return None
        if end - body < 2:
            raise ValueError("packet type 0x%02x too short" % kind)
        pid = (rx[body] << 8) | rx[body + 1]
        if kind == P.PUBACK:
            if self._inflight.pop(pid, None) is not None:
                self._acked.set()
        elif kind == P.SUBACK or kind == P.UNSUBACK:
            if pid in self._pending:
                self._pending[pid] = bytes(self._rxmv[body + 2:end]) or b"\x00"
                self._acked.set()
        else:
            raise ValueError("unexpected packet type 0x%02x" % kind)
        return None

    # ---- keepalive, dead-link detection, QoS 1 retry -------------------------
    async def _housekeep(self, s):
        ka = self.keepalive * 1000
        tick = _HOUSEKEEP_MAX_MS if not ka or ka // 4 > _HOUSEKEEP_MAX_MS else ka // 4
        while self._s is s:
            await _sleep_ms(tick)
            now = ticks_ms()
            if ka:
                quiet = ticks_diff(now, self._last_rx)
                if quiet > ka + ka // 2:
                    # Silent link (modem stuck, NAT dropped the flow): no reply in 1.5 x keepalive.
                    self._drop("keepalive timeout: no reply from broker for %d ms" % quiet)
                    return
                idle = ticks_diff(now, self._last_tx)
                if (idle >= ka or quiet >= ka) and (not self._ping_out or
                                                    ticks_diff(now, self._ping_at) >= ka // 2):
                    self._ping_out = True
                    self._ping_at = now
                    self.stats["pings"] += 1
                    try:
                        await self._write(P.PINGREQ_PKT)
                    except OSError:
                        return
            await self._retry(now)

    async def _retry(self, now):
        for pid in list(self._inflight):
            m = self._inflight.get(pid)
            if m is not None and ticks_diff(now, m[1]) >= self.retry_ms:
                try:
                    await self._resend(m)
                except OSError:
                    return
