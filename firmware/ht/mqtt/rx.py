# The receive side of MQTTClient (ht/mqtt/client.py): packets from the broker parsed out
# of a buffer allocated once and handed to the client. Voice frames arrive through here
# (50/s per talker heard), so nothing below allocates per packet: no coroutine per packet,
# no bound method per lookup (the client's methods are fetched once, in the constructor).
import asyncio
from ht.compat import ticks_ms
from ht.mqtt import packet as P
from ht.mqtt.packet import MQTTError


class Reader:
    # client: the MQTTClient this reads for. Used: on_message (looked up per packet: rigs
    # and the self-test swap it on a live client), _write(pkt) (coroutine), _drop(reason),
    # _on_ack(pid, codes). clock: the link's Keepalive (last_rx, ping_out). stats: the
    # client's counters ("rx", "dropped_big", "handler_errors").
    def __init__(self, client, max_packet, clock, stats):
        self.buf = bytearray(max_packet)  # handlers get memoryviews into it
        self._mv = memoryview(self.buf)
        self._ackbuf = bytearray(4)
        self._client = client
        self._write = client._write
        self._drop = client._drop
        self._on_ack = client._on_ack
        self._clock = clock
        self.stats = stats
        self._s = None
        self._skip = self._off = self._pid = 0
        self._pidp = -1

    async def connack(self, stream):
        # -> bytes now in buf (>= 4): CONNACK at buf[0:4], anything after it is the next packet.
        # Raises MQTTError (code = CONNACK return code) when refused, OSError if the stream ends.
        buf = self.buf
        end = 0
        while end < 4:
            chunk = await stream.recv(len(buf) - end)
            if not chunk:
                raise OSError("broker closed the connection before CONNACK")
            buf[end:end + len(chunk)] = chunk
            end += len(chunk)
        if buf[0] != P.CONNACK or buf[1] != 2:
            raise MQTTError(0, "malformed CONNACK")
        code = buf[3]
        if code:
            raise MQTTError(code, P.CONNACK_TEXT.get(code, "broker refused: code %d" % code))
        return end

    def start(self, s, end):
        # -> the task reading stream s from buf[4:end] on (CONNACK consumed) until stop()
        # or the link fails.
        self._s = s
        return asyncio.create_task(self._run(s, 4, end))

    def stop(self):
        self._s = None

    async def _run(self, s, start, end):
        rx = self.buf
        size = len(rx)
        clock = self._clock
        self._skip = 0  # bytes left of an oversized packet we are discarding (_oversize)
        try:
            while self._s is s:
                start = await self._parse(start, end)
                if start < 0 or start == end:  # < 0: an oversized packet took every byte buffered
                    start = end = 0
                elif start:
                    rx[0:end - start] = bytes(self._mv[start:end])
                    end -= start
                    start = 0
                chunk = await s.recv(size - end)
                if not chunk:
                    self._drop("broker closed the connection")
                    return
                clock.last_rx = ticks_ms()
                n = len(chunk)
                if self._skip:
                    k = n if n < self._skip else self._skip
                    await self._discard(chunk, 0, k)
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
        rx = self.buf
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
        # Bigger than max_packet: drop the message but keep the link, the same way wherever the read
        # boundaries fall (issue 11: a header split across reads used to kill the link or not,
        # depending on the chunking). A QoS 1 PUBLISH still gets its PUBACK, sent once the whole packet
        # has gone by, so the broker does not resend it forever; its packet id is picked out of the
        # discarded bytes even when the topic alone is longer than the buffer. Anything else that big
        # is not something a broker sends us: drop the link.
        rx = self.buf
        if rx[start] & 0xF0 != P.PUBLISH:
            raise ValueError("packet of %d bytes exceeds max_packet" % total)
        qos = (rx[start] >> 1) & 3
        if qos and end - body < 2:
            return start            # the topic length is in the next read: wait for it
        self.stats["dropped_big"] += 1
        self._skip = total
        self._off = 0
        self._pid = 0
        self._pidp = body + 2 + ((rx[body] << 8) | rx[body + 1]) - start if qos else -1
        await self._discard(rx, start, end - start)     # total > len(rx): never the whole packet
        return -1

    async def _discard(self, data, i, n):
        # data[i:i + n] are the next n bytes of the oversized packet being dropped
        p = self._pidp
        if p >= 0:
            for k in (p, p + 1):
                j = k - self._off
                if 0 <= j < n:
                    self._pid = ((self._pid << 8) | data[i + j]) & 0xFFFF
        self._off += n
        self._skip -= n
        if not self._skip and p >= 0:
            await self._write(P.put_ack(self._ackbuf, P.PUBACK, self._pid))

    def _dispatch(self, head, body, end):
        # -> a packet to write back (PUBACK for a QoS 1 PUBLISH) or None.
        kind = head & 0xF0
        rx = self.buf
        self.stats["rx"] += 1
        if kind == P.PUBLISH:
            ts, te, pid, ps = P.parse_publish(rx, body, end, head)
            cb = self._client.on_message
            if cb:
                try:
                    cb(bytes(self._mv[ts:te]), self._mv[ps:end], bool(head & 1))
                except Exception as e:  # the radio's bug must not cost the link
                    self.stats["handler_errors"] += 1
                    print("mqtt: on_message failed:", repr(e))
            if pid:
                return P.put_ack(self._ackbuf, P.PUBACK, pid)
            return None
        if kind == P.PINGRESP:
            self._clock.ping_out = False
            return None
        if end - body < 2:
            raise ValueError("packet type 0x%02x too short" % kind)
        pid = (rx[body] << 8) | rx[body + 1]
        if kind == P.PUBACK:
            self._on_ack(pid, None)
        elif kind == P.SUBACK or kind == P.UNSUBACK:
            self._on_ack(pid, bytes(self._mv[body + 2:end]) or b"\x00")
        else:
            raise ValueError("unexpected packet type 0x%02x" % kind)
        return None
