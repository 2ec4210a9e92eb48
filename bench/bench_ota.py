"""Updates over the air in the simulation (docs/OTA.md): MicroPython radios booted through the real bootstrap,
Mosquitto, LTE link proxies (40 ms legs, 2 % of update chunks lost).

ota_fleet_20_s: 20 radios, rollout in waves 1 / 2 / 17, from the first offer to all 20 running the release.
ota_bytes_per_radio: the update's own bytes on one radio's link during the rollout (median radio; proxy count
  of the manifest and chunks down and the SUBSCRIBE/UNSUBSCRIBE asking for them up, retries included),
  beside ota_wire_bytes_release (what the dry run prices per radio: Release.wire_bytes) and
  ota_link_down_bytes_per_radio (everything the broker sent that radio meanwhile: presence beats, grants...).
ota_rollback_s: a release that dies at boot, from its first boot to the previous version online again.
ota_refused_tampered: share of radios that refused a release with one changed file (3 radios, 3 files).
ota_verify_ms_mpy: one RSA-2048 PKCS#1 v1.5 verify of a release manifest under MicroPython unix.
"""
import asyncio
import json
import pathlib
import shutil
import subprocess
import tempfile
import time

from htctl import release as REL, rollout as RO
from htctl.firmware import FIRMWARE_DIR
from htsim import ota, rig

ROOT = pathlib.Path(__file__).resolve().parent.parent
UNITS = {"ota_bytes_per_radio": "bytes", "ota_wire_bytes_release": "bytes", "ota_link_down_bytes_per_radio": "bytes",
         "ota_fleet_20_s": "s", "ota_rollback_s": "s",
         "ota_refused_tampered": "share", "ota_verify_ms_mpy": "ms"}
GOALS = {"ota_refused_tampered": "1.0 (all)"}

_VERIFY = r"""
import sys, time
sys.path.append("tests/core/ota")
from ht.ota import rsa
import vectors
k = rsa.PublicKey(vectors.N)
m, s = vectors.SIGNED[2]
s = bytes.fromhex(s)
t = time.ticks_us()
for i in range(50):
    assert rsa.verify(k, m, s)
print(time.ticks_diff(time.ticks_us(), t) / 50000)
"""


def _verify_ms():
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(_VERIFY)
    p = subprocess.run(rig.command([f.name]), capture_output=True, text=True, env=rig.env(), cwd=str(ROOT),
                       timeout=120)
    pathlib.Path(f.name).unlink()
    return round(float(p.stdout.strip().splitlines()[-1]), 2)


async def _fleet(tmp, n_hex, good):
    units = ["u%02d" % i for i in range(20)]
    async with ota.OtaSim(tmp / "fleet", units, n_hex, loss=0.02) as sim:
        assert await sim.online(180)
        link = await asyncio.to_thread(RO.PahoLink, sim.host, sim.port, "kota", "cc", "pw-cc",
                                           key=sim.voice_key)
        try:
            ro = RO.Rollout(units, good.offer(), plan=RO.waves(units), wave_timeout_s=600)
            t0 = time.monotonic()
            s = await asyncio.to_thread(RO.run, link, ro, "kota", good.messages("kota"), limit_s=1500)
            dt = time.monotonic() - t0
        finally:
            link.close()
        stats = [r.proxy.stats() for r in sim.radios.values()]
    assert len(s["ok"]) == 20, s
    down = sorted(sum(v for k, v in st["bytes"].items() if k.startswith("down")) for st in stats)
    ota_b = sorted(st["ota_bytes"]["up"] + st["ota_bytes"]["down"] for st in stats)
    return dt, ota_b[len(ota_b) // 2], down[len(down) // 2]


async def _bad(tmp, n_hex, good, bad):
    units = ["b1", "t1", "t2", "t3"]
    async with ota.OtaSim(tmp / "bad", units, n_hex) as sim:
        assert await sim.online(90)
        link = await asyncio.to_thread(RO.PahoLink, sim.host, sim.port, "kota", "cc", "pw-cc",
                                           key=sim.voice_key)
        try:
            msgs = bad.messages("kota")
            for i, u in enumerate(units[1:]):
                path = good.manifest["files"][3 + 20 * i][0]
                msgs += good.messages("kota", rid="tamp%d" % i, files={path: b"\x00" + good.files[path][1:]})
            for t, p in msgs:
                link.publish(t, p, 1, True)
            link.publish("ht/kota/u/b1/c", json.dumps(bad.offer()).encode(), 1, False)
            for i, u in enumerate(units[1:]):
                link.publish("ht/kota/u/%s/c" % u, json.dumps(good.offer(rid="tamp%d" % i)).encode(), 1, False)
            b1 = sim.radios["b1"]
            assert await sim.wait(lambda: (b1.status() or "").startswith("rolled back")
                                  and all((sim.radios[u].status() or "").startswith("refused") for u in units[1:]),
                                  400)
        finally:
            link.close()
        t_first = next(t for t, k, d in b1.events if k == "boot" and d["active"].get("v") == "0.3.0")
        t_back = next(t for t, k, d in b1.events if k == "ota" and d["status"].startswith("rolled back"))
        refused = sum(1 for u in units[1:] if sim.radios[u].status().startswith("refused: tampered"))
    return t_back - t_first, refused / 3


def run():
    out = {"ota_verify_ms_mpy": _verify_ms()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        n_hex = REL.keygen(tmp / "key.pem")
        good = ota.build_release(tmp / "good", tmp / "key.pem", "0.2.0")
        shutil.copytree(FIRMWARE_DIR, tmp / "fw", ignore=shutil.ignore_patterns("__pycache__"))
        bad = ota.build_release(tmp / "badrel", tmp / "key.pem", "0.3.0", crash=True, firmware_copy=tmp / "fw")
        rb, share = asyncio.run(_bad(tmp, n_hex, good, bad))
        out["ota_rollback_s"] = round(rb, 1)
        out["ota_refused_tampered"] = share
        dt, ota_b, down = asyncio.run(_fleet(tmp, n_hex, good))
        out["ota_fleet_20_s"] = round(dt, 1)
        out["ota_bytes_per_radio"] = ota_b
        out["ota_wire_bytes_release"] = good.wire_bytes("kota")
        out["ota_link_down_bytes_per_radio"] = down
    return out


if __name__ == "__main__":
    print(run())
