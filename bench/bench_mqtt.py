"""MQTT client figures: MicroPython publish rates to a real Mosquitto on loopback, CPython publish->receive
round trip through Mosquitto, framing bytes per voice publish and heap allocated per voice publish."""
import asyncio
import json
import pathlib
import statistics
import time
from ht.mqtt import packet as mqtt_packet
from hal import netstream
from ht.radio import topics
from ht.mqtt.client import MQTTClient
from htctl.mosquitto import Mosquitto

ROOT = pathlib.Path(__file__).resolve().parent.parent

UNITS = {"mqtt_publish_qos0_per_s_mpy": "msg/s", "mqtt_publish_qos1_per_s_mpy": "msg/s",
         "mqtt_roundtrip_ms_p50": "ms", "mqtt_roundtrip_ms_p95": "ms",
         "mqtt_overhead_bytes_voice_publish": "bytes", "mqtt_publish_alloc_bytes_mpy": "bytes/msg",
         "mqtt_roundtrip_ms_p50_embedded": "ms", "mqtt_roundtrip_ms_p95_embedded": "ms",
         "mqtt_deadlink_detect_ms": "ms"}
GOALS = {"mqtt_publish_qos0_per_s_mpy": ">= 50 (one radio sends 17-50 voice packets/s)",
         "mqtt_overhead_bytes_voice_publish": "small vs payload",
         "mqtt_roundtrip_ms_p95": "<< 250 ms mouth-to-ear budget",
         "mqtt_deadlink_detect_ms": "<= 2 x keepalive (%d ms)" % (2 * 2000)}
KEEPALIVE_S = 2
N_MPY = 2000
N_RTT = 300
VOICE_PAYLOAD = 168  # about a 40 ms ADPCM frame (160 bytes of codes + header); >127 makes the varint 2 bytes
USERS = {"m1": "bench", "a": "bench", "b": "bench"}


def _mpy_rates(port):
    from fixtures.mpy import run_mpy
    from htsim import rig

    r = run_mpy([rig.program("mqtt_driver"), "bench", str(port), "m1", "bench", str(N_MPY)],
                timeout=600)
    line = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    if r.returncode or not line or line[-1].get("ev") != "bench":
        raise RuntimeError("MicroPython bench driver failed: %s %s" % (r.stdout, r.stderr))
    return line[-1]


async def _roundtrip(port, users=True):
    arrived = {}
    rx = MQTTClient("bench-rx", "b" if users else None, "bench" if users else None)
    rx.on_message = lambda t, p, r: arrived.__setitem__(bytes(p[:8]), time.perf_counter())
    await rx.connect(await netstream.open_tcp("127.0.0.1", port))
    topic = topics.voice("kota", "1", "u07")
    await rx.subscribe(topics.talkgroup_sub("kota", "1", topics.VOICE), 0)
    tx = MQTTClient("bench-tx", "a" if users else None, "bench" if users else None)
    await tx.connect(await netstream.open_tcp("127.0.0.1", port))
    payload = bytearray(VOICE_PAYLOAD)
    samples = []
    for i in range(N_RTT):
        key = b"%08d" % i
        payload[:8] = key
        t0 = time.perf_counter()
        await tx.publish(topic, payload, 0)
        while key not in arrived:
            await asyncio.sleep(0)
        samples.append((arrived[key] - t0) * 1000)
    await tx.disconnect()
    await rx.disconnect()
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


async def _deadlink(port):
    # Silent link (TCP open, nothing forwarded): how long until the client declares it dead.
    from fixtures.mosquitto import TCPProxy
    from ht.mqtt.client import OFFLINE

    proxy = TCPProxy(port)
    try:
        c = MQTTClient("bench-dl", "a", "bench", keepalive=KEEPALIVE_S)
        down = []
        c.on_state = lambda st, why: down.append(time.perf_counter()) if st == OFFLINE else None
        await c.connect(await netstream.open_tcp("127.0.0.1", proxy.port))
        t0 = time.perf_counter()
        proxy.pause()
        while not down:
            await asyncio.sleep(0.005)
        return (down[0] - t0) * 1000
    finally:
        proxy.stop()


def run():
    from htsim.embedded_broker import EmbeddedBroker

    topic = topics.voice("kota", "1", "u07")
    overhead = mqtt_packet.publish_size(len(topic), VOICE_PAYLOAD, 0) - VOICE_PAYLOAD
    with Mosquitto(users=USERS) as m:
        rates = _mpy_rates(m.port)
        p50, p95 = asyncio.run(_roundtrip(m.port))
        dead = asyncio.run(_deadlink(m.port))
    with EmbeddedBroker() as b:
        e50, e95 = asyncio.run(_roundtrip(b.port, users=False))
    return {"mqtt_publish_qos0_per_s_mpy": round(rates["qos0"], 1),
            "mqtt_publish_qos1_per_s_mpy": round(rates["qos1"], 1),
            "mqtt_publish_alloc_bytes_mpy": round(rates["alloc_qos0"], 1),
            "mqtt_roundtrip_ms_p50": round(p50, 3), "mqtt_roundtrip_ms_p95": round(p95, 3),
            "mqtt_overhead_bytes_voice_publish": overhead,
            "mqtt_roundtrip_ms_p50_embedded": round(e50, 3), "mqtt_roundtrip_ms_p95_embedded": round(e95, 3),
            "mqtt_deadlink_detect_ms": round(dead)}
