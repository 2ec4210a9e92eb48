"""How many messages per second a broker delivers to listeners: one talker publishing voice-sized QoS 0 PUBLISH
packets as fast as TCP lets it, N listeners subscribed to the talkgroup's voice filter, delivered messages
counted at the listeners.

The clients are raw sockets speaking MQTT 3.1.1 with the firmware's own encoder (ht.mqtt.packet): the
publisher writes pre-framed packets in batches and each listener only counts bytes (every packet it receives
is the same PUBLISH, keepalive 0 so nothing else arrives), so the Python side costs a few recv() calls per
64 KB and the broker is what saturates. Loopback only; every loop is bounded by `seconds`.

    r = fanout([port], subscribers=100, seconds=4)
    r["delivered_per_s"]          # messages/s summed over the listeners
"""
from __future__ import annotations

import selectors
import socket
import threading
import time
from collections.abc import Sequence

from ht.mqtt import packet
from ht.radio import topics

HOST = "127.0.0.1"
VOICE_BYTES = 170          # a 40 ms voice frame with header and tag (docs/FRAME.md)
_BATCH = 64                # packets per send() on the publisher


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    import os

    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _connect(host: str, port: int, cid: str, user: str | None, password: str | None) -> socket.socket:
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(packet.connect(cid, keepalive=0, clean=True, user=user, password=password))
    ack = _read_exact(s, 4)
    if ack[0] != packet.CONNACK or ack[3] != 0:
        s.close()
        raise OSError("broker refused %s: CONNACK %r" % (cid, bytes(ack)))
    return s


def _read_exact(s: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise OSError("broker closed the connection")
        out += chunk
    return out


def _listener(host: str, port: int, cid: str, filt: str, user: str | None, password: str | None
              ) -> socket.socket:
    s = _connect(host, port, cid, user, password)
    s.sendall(packet.subscribe(1, [(filt, 0)]))
    ack = _read_exact(s, 5)
    if ack[0] != packet.SUBACK or ack[4] & 0x80:
        s.close()
        raise OSError("broker refused the subscription of %s: %r" % (cid, bytes(ack)))
    s.setblocking(False)
    return s


def fanout(ports: Sequence[int], subscribers: int, seconds: float = 4.0, warmup: float = 1.0,
           payload_bytes: int = VOICE_BYTES, host: str = HOST, user: str | None = None,
           password: str | None = None, fleet: str = "fan", tg: str = "1", broker_pid: int | None = None
           ) -> dict:
    """One publisher on ports[0], `subscribers` listeners spread over `ports`; counts over `seconds` after
    `warmup`. -> {"subscribers", "seconds", "delivered", "delivered_per_s", "published_per_s"}; with
    broker_pid also "broker_cpu_s" (its CPU time in the window) and "delivered_per_broker_cpu_s", the
    figure that does not depend on how much CPU a shared machine left the broker."""
    topic = topics.voice(fleet, tg, "talker")
    filt = topics.talkgroup_sub(fleet, tg, topics.VOICE).decode()
    size = packet.publish_size(len(topic), payload_bytes, 0)
    one = bytearray(size)
    packet.frame_publish(one, topic, bytes(payload_bytes))
    batch = bytes(one) * _BATCH
    subs = []
    try:
        for i in range(subscribers):
            subs.append(_listener(host, ports[i % len(ports)], "fan-l%d" % i, filt, user, password))
        pub = _connect(host, ports[0], "fan-talker", user, password)
        subs.append(pub)            # closed with the listeners
        got = [0]
        sent = [0]
        stop = threading.Event()

        def talk() -> None:
            pub.settimeout(1.0)
            while not stop.is_set():
                try:
                    pub.sendall(batch)
                except socket.timeout:
                    continue
                except OSError:
                    return
                sent[0] += _BATCH

        t = threading.Thread(target=talk, daemon=True)
        sel = selectors.DefaultSelector()
        for s in subs[:-1]:
            sel.register(s, selectors.EVENT_READ)
        buf = bytearray(1 << 16)
        t.start()
        t_start = time.monotonic()
        t_end = t_start + warmup + seconds
        marks = None
        while True:
            now = time.monotonic()
            if marks is None and now >= t_start + warmup:
                marks = (now, got[0], sent[0], cpu_seconds(broker_pid) if broker_pid else 0.0)
            if now >= t_end:
                break
            for key, _ in sel.select(0.05):
                try:
                    n = key.fileobj.recv_into(buf)
                except BlockingIOError:
                    continue
                got[0] += n
        elapsed = time.monotonic() - marks[0]
        cpu = cpu_seconds(broker_pid) - marks[3] if broker_pid else 0.0
        stop.set()
        t.join(5)
        sel.close()
        delivered = (got[0] - marks[1]) // size
        r = {"subscribers": subscribers, "seconds": elapsed, "delivered": delivered,
             "delivered_per_s": delivered / elapsed, "published_per_s": (sent[0] - marks[2]) / elapsed,
             "packet_bytes": size}
        if broker_pid:
            r.update(broker_cpu_s=cpu, delivered_per_broker_cpu_s=delivered / cpu if cpu > 0 else 0.0)
        return r
    finally:
        for s in subs:
            s.close()
