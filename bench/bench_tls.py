"""TLS through the modem's own TLS stack (ht/modem/tls.py) against the emulator's real TLS (htsim.emu.tls).

tls_handshake_s_modem: what the radio waits for one TLS open at the modem's real timing (time_scale 1): the
setup commands over the 115200-baud UART, the CA file check, CCHSTART / QSSLCFG, then the open itself - TCP and
the TLS 1.2 round trips through an LTE-like link (35 +- 10 ms one way) plus the module's own handshake work
(htsim.emu.tls.CRYPTO_S). The worst of the four dialects; each dialect's figure beside it, the first open
(which also writes the CA into the modem) and a reconnect (CA already there).

tls_bytes_per_talk_minute: bytes on the air (the emulator's socket counters: TLS records, TCP payload) for one
talk minute of the radio's voice packets (ADPCM 40 ms, tagged, 25 a second at QoS 0 on the voice topic, paced in
real time) plus the MQTT login, over TLS to Mosquitto's TLS listener; plain_bytes_per_talk_minute_modem the
same minute over a plain AT socket to its plain listener, side by side in this one run (A7670).
"""
import asyncio
import statistics
import tempfile

from fixtures.tls import TLSEchoServer
from htctl.mosquitto import Mosquitto, free_port, make_ca_and_server_cert
from htsim import rig
from htsim.emu import LinkModel, ModemEmulator

DIALECTS = ("A7670", "SIM7600", "EC200U", "EG91")
LTE = dict(delay_ms=35.0, jitter_ms=10.0)
TALK_S = 60.0

UNITS = {"tls_handshake_s_modem": "s", "tls_reconnect_s_modem": "s", "tls_bytes_per_talk_minute": "bytes",
         "plain_bytes_per_talk_minute_modem": "bytes", "tls_overhead_bytes_per_talk_minute": "bytes",
         "tls_overhead_pct": "%", "tls_handshake_bytes": "bytes"}
GOALS = {"tls_handshake_s_modem": "<= 10 (one open; MQTT waits for it at every reconnect)",
         "tls_overhead_pct": "report (voice is 25 small records a second)"}
for _d in DIALECTS:
    UNITS["tls_handshake_s_modem_" + _d] = "s"


async def _opens(dialect, port, ca):
    drv = rig.load("tls_driver")
    emu = ModemEmulator(dialect=dialect, time_scale=1.0, powered=True, link=LinkModel(**LTE)).start()
    try:
        r = drv.Run(dialect, emu.uart_port, emu.ctl_port, port, 1.0, ca)
        await r.start()
        try:
            if not await r.until(lambda: r.m.link.data_up, 120):
                raise RuntimeError("%s: no data link" % dialect)
            times = []
            for _ in range(3):
                s = await r.open()
                times.append(r.out["open_wall_s"])
                await s.close()
            return times
        finally:
            r.sup.stop()
    finally:
        emu.stop()


async def _talk_minute(r, emu, port, tls, user, pw):
    from ht.compat import ticks_ms, ticks_diff
    from ht.mqtt.client import MQTTClient
    from ht.radio import topics
    from ht.voice import codecs, frame as F

    size = F.packet_len(codecs.get(codecs.PT_ADPCM), 40, True)
    topic = topics.voice("kota", "1", user)
    before = dict(emu.state["bytes"])
    s = await r.sup.open("127.0.0.1", port, tls=tls)
    c = MQTTClient(user, user=user, password=pw, keepalive=60)
    await c.connect(s)
    pkt = bytes(size)
    t0 = ticks_ms()
    n = int(TALK_S * 25)
    for i in range(n):
        await c.publish(topic, pkt, 0)
        wait = (i + 1) * 40 - ticks_diff(ticks_ms(), t0)
        if wait > 0:
            await asyncio.sleep(wait / 1000)
    await s.flushed()
    await c.disconnect()
    await s.close()
    await asyncio.sleep(0.5)
    after = emu.state["bytes"]
    return (after["sock_tx"] - before["sock_tx"]) + (after["sock_rx"] - before["sock_rx"]), size


async def _bytes(tmp):
    certs = make_ca_and_server_cert(tmp, "127.0.0.1")
    tls_port = free_port()
    extra = "\n".join(["listener %d 127.0.0.1" % tls_port, "cafile %s" % certs["ca"], "certfile %s" % certs["cert"],
                       "keyfile %s" % certs["key"], "tls_version tlsv1.2"])
    m = Mosquitto(users={"u1": "pw-u1-bench"}, extra_config=extra)
    m.start()
    emu = ModemEmulator(dialect="A7670", time_scale=1.0, powered=True, link=LinkModel(**LTE)).start()
    drv = rig.load("tls_driver")
    try:
        with open(certs["ca"], "rb") as f:
            r = drv.Run("A7670", emu.uart_port, emu.ctl_port, tls_port, 1.0, f.read())
        await r.start()
        try:
            if not await r.until(lambda: r.m.link.data_up, 120):
                raise RuntimeError("no data link")
            tls_b, size = await _talk_minute(r, emu, tls_port, True, "u1", "pw-u1-bench")
            plain_b, _ = await _talk_minute(r, emu, m.port, False, "u1", "pw-u1-bench")
            # the handshake alone: an open and a close without MQTT
            before = dict(emu.state["bytes"])
            s = await r.sup.open("127.0.0.1", tls_port, tls=True)
            await s.close()
            await asyncio.sleep(0.5)
            after = emu.state["bytes"]
            hs = after["sock_tx"] - before["sock_tx"] + after["sock_rx"] - before["sock_rx"]
        finally:
            r.sup.stop()
    finally:
        emu.stop()
        m.stop()
        m.cleanup()
    return tls_b, plain_b, hs, size


def run():
    tmp = tempfile.mkdtemp(prefix="bench-tls-")
    certs = make_ca_and_server_cert(tmp, "127.0.0.1")
    srv = TLSEchoServer(certs)
    try:
        with open(certs["ca"], "rb") as f:
            ca = f.read()

        async def all_opens():
            return await asyncio.gather(*[_opens(d, srv.port, ca) for d in DIALECTS])
        opens = asyncio.run(all_opens())
    finally:
        srv.close()
    out = {}
    for d, t in zip(DIALECTS, opens):
        out["tls_handshake_s_modem_" + d] = round(t[0], 2)
        print("   %s: first open %.2f s, reconnects %s s" % (d, t[0], ", ".join("%.2f" % x for x in t[1:])))
    out["tls_handshake_s_modem"] = max(out["tls_handshake_s_modem_" + d] for d in DIALECTS)
    out["tls_reconnect_s_modem"] = round(max(statistics.median(t[1:]) for t in opens), 2)
    tls_b, plain_b, hs, size = asyncio.run(_bytes(tempfile.mkdtemp(prefix="bench-tls-b-")))
    print("   voice packet %d bytes, 25/s for %d s: TLS %d bytes, plain %d bytes, handshake %d bytes"
          % (size, TALK_S, tls_b, plain_b, hs))
    out["tls_bytes_per_talk_minute"] = tls_b
    out["plain_bytes_per_talk_minute_modem"] = plain_b
    out["tls_overhead_bytes_per_talk_minute"] = tls_b - plain_b
    out["tls_overhead_pct"] = round(100.0 * (tls_b - plain_b) / plain_b, 1)
    out["tls_handshake_bytes"] = hs
    return out
