"""Fleet voice-key rotation end to end (issue 11): real Mosquitto, the floor arbiters, radios running the
firmware's Radio on CPython, and `htctl fleet key rotate` / `retire` as a technician types them. Rotate: every
radio gets the new key over the air and signs with it; frames signed with the old key (a radio that lags) are
still taken during the overlap; a radio that was off gets the retained command when it comes back and keeps
the key in its config. Retire: the old key is refused. Talk works throughout."""
import asyncio
import io
import json
from array import array

import pytest

from fixtures.wait import wait_until
from htctl import registry
from htctl.cli import main as htctl_main
from htcc.arbiter.service import run_pair
from htsim import rig
from ht.radio import topics as T
from ht.radio.guard import tg_num, unit_num
from ht.voice import codecs, transceiver as voice

drv = rig.load("radio_driver")
pytestmark = pytest.mark.sim


def _registry(tmp_path):
    import pathlib
    inv = pathlib.Path(__file__).resolve().parents[2] / "docs" / "inventory-example.csv"
    reg = tmp_path / "registry.sqlite"
    assert htctl_main(["fleet", "import", str(inv), "--registry", str(reg)], stdout=io.StringIO(),
                      stderr=io.StringIO()) == 0
    conn = registry.connect(reg)
    everyone = [u["unit_id"] for u in registry.units(conn)]
    units = everyone[:3]
    key = bytes.fromhex(registry.fleet_config(conn)["audio.key"])
    conn.close()
    return reg, units, key, len(everyone)


def _keys(reg):
    conn = registry.connect(reg)
    cfg = registry.fleet_config(conn)
    conn.close()
    old = cfg.get("audio.key_old")
    return bytes.fromhex(cfg["audio.key"]), ((bytes.fromhex(old),) if old else ())


def _htctl(*args):
    out, err = io.StringIO(), io.StringIO()
    code = htctl_main(list(args) + ["--json"], stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    return json.loads(out.getvalue())


async def _stop(svcs):
    # stop the arbiters and let their run() tasks end (nothing left pending when the loop closes)
    for s in svcs:
        await s.stop()
    await asyncio.wait_for(asyncio.gather(*[s.task for s in svcs], return_exceptions=True), 30)


def _lagging_frames(key, unit, n=5):
    # A radio that has not switched yet: fresh frames (its own epoch and sequence) signed with the old key.
    tx = voice.Transmitter(tg_num("1"), unit_num(unit), codecs.PT_ADPCM, 20, key, 100, epoch=1)
    pcm = array("h", [1000, -1000] * 80)
    return [bytes(tx.encode(pcm, i == n - 1)) for i in range(n)]


async def _publish_raw(m, unit, frames):
    from hal import netstream
    from ht.mqtt.client import MQTTClient
    c = MQTTClient("lag-" + unit, unit, drv.password(unit))
    await c.connect(await netstream.open_tcp(m.host, m.port))
    for f in frames:
        await c.publish(T.voice(drv.FLEET, "1", unit), f, 0)
        await asyncio.sleep(0.02)
    await c.disconnect()


async def _scenario(m, reg, units, k1, n_units):
    a, b, c = units
    url = "mqtt://%s:%d" % (m.host, m.port)
    svcs = await run_pair(drv.FLEET, m.host, m.port, ("1",), key=k1)
    rig_ = drv.Rig(m.host, m.port)
    tone = array("h", [3000, -3000] * 4000).tobytes()
    saved = {}
    for u in units:
        rig_.add(u, tone if u == a else b"", key=k1, config_store=lambda cfg, u=u: saved.__setitem__(
            u, (cfg.get("audio.key"), cfg.get("audio.key_old"))))
    rig_.start()
    await rig_.until(lambda: all(r.online for r in rig_.radios.values()), "online")
    res = {}
    await drv.talk(rig_, res, a, 600)
    heard0 = rig_.radios[b].audio.guard.accepted
    assert heard0 > 10

    # c is switched off before the rotation: it misses the live command
    await rig_.radios[c].stop()
    rot = _htctl("fleet", "key", "rotate", "--registry", str(reg), "--broker", url, "--fleet", drv.FLEET)
    assert rot["sent"] == n_units and rot["old_kid"] != rot["new_kid"]
    k2, accept = _keys(reg)
    assert accept == (k1,)
    await _stop(svcs)                               # `htctl arbiter` restarted: both keys from the registry
    svcs = await run_pair(drv.FLEET, m.host, m.port, ("1",), key=k2, accept=accept)
    await rig_.until(lambda: all(rig_.when(u, "rekey") is not None for u in (a, b)), "a and b take the new key")
    assert saved[a] == (k2.hex(), k1.hex()) and saved[b] == (k2.hex(), k1.hex())

    # c comes back with the old key in flash: the retained command brings it over
    rig_.add(c + "", b"", key=k1, config_store=lambda cfg: saved.__setitem__(c, (cfg.get("audio.key"),
                                                                              cfg.get("audio.key_old"))))
    rig_.tasks.append(asyncio.create_task(rig_.radios[c].run()))
    await rig_.until(lambda: rig_.when(c, "rekey") is not None, "c takes the new key on reconnect")
    assert saved[c] == (k2.hex(), k1.hex())

    # the new key carries the floor and the voice
    for u in units:
        rig_.ev[u][:] = []
    await drv.talk(rig_, res, a, 600)
    gb = rig_.radios[b].audio.guard
    assert gb.accepted > heard0 + 10 and not gb.rejected[5]         # 5: frame.BAD_TAG

    # the overlap: a lagging radio's frames, signed with the old key, are still taken
    before = gb.accepted
    await _publish_raw(m, c, _lagging_frames(k1, c))
    await rig_.until(lambda: gb.accepted >= before + 5, "old-key frames taken during the overlap")

    ret = _htctl("fleet", "key", "retire", "--registry", str(reg), "--broker", url, "--fleet", drv.FLEET)
    assert ret["sent"] == n_units and ret["new_kid"] == rot["new_kid"]
    await rig_.until(lambda: all(rig_.when(u, "rekey", lambda d: d["overlap"] == 0) is not None for u in units),
                     "every radio retires the old key")
    assert saved[b] == (k2.hex(), "")
    before_bad = gb.rejected[5]
    tx = voice.Transmitter(tg_num("1"), unit_num(c), codecs.PT_ADPCM, 20, k1, 5000, epoch=9)  # fresh, old key
    pcm = array("h", [0] * 160)
    await _publish_raw(m, c, [bytes(tx.encode(pcm, i == 4)) for i in range(5)])
    await rig_.until(lambda: gb.rejected[5] >= before_bad + 5, "old-key frames refused after retire")
    await _stop(svcs)
    svcs = await run_pair(drv.FLEET, m.host, m.port, ("1",), key=k2)
    for u in units:
        rig_.ev[u][:] = []
    await drv.talk(rig_, res, b, 400)                 # talk still works on the new key alone
    await _stop(svcs)
    await rig_.stop()


def test_rotate_overlap_retire_with_real_broker_and_arbiters(mosquitto, tmp_path):
    reg, units, k1, n = _registry(tmp_path)
    m = mosquitto()
    asyncio.run(_scenario(m, reg, units, k1, n))


def test_rotate_refuses_a_second_rotation_in_the_overlap_and_needs_no_broker(tmp_path):
    reg, units, k1, _ = _registry(tmp_path)
    r = _htctl("fleet", "key", "rotate", "--registry", str(reg), "--no-broker")
    assert r["sent"] is None
    err = io.StringIO()
    assert htctl_main(["fleet", "key", "rotate", "--registry", str(reg), "--no-broker"], stdout=io.StringIO(),
                      stderr=err) == 5
    assert "overlap" in err.getvalue()
    conn = registry.connect(reg)
    cfg = registry.fleet_config(conn)        # what `htctl provision` writes during the overlap: both keys
    assert cfg["audio.key_old"] == k1.hex() and cfg["audio.key"] != k1.hex()
    assert any(e["action"] == "fleet_key_rotate" for e in registry.audit_log(conn))
    assert k1.hex() not in json.dumps(registry.audit_log(conn))                # no key in the audit log
    conn.close()
    _htctl("fleet", "key", "retire", "--registry", str(reg), "--no-broker")
    conn = registry.connect(reg)
    assert "audio.key_old" not in registry.fleet_config(conn)
    conn.close()


class _Arbiters:
    # The floor arbiter pair in a thread of its own, restarted with the registry's keys as `htctl arbiter` would be.
    def __init__(self, m):
        import threading
        self.m = m
        self.loop = asyncio.new_event_loop()
        self.t = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.t.start()
        self.svcs = []

    def _do(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def restart(self, key, accept=()):
        async def go():
            await _stop(self.svcs)
            self.svcs = await run_pair(drv.FLEET, self.m.host, self.m.port, ("1",), key=key, accept=accept)
            for s in self.svcs:                  # serving before the radios are told to go on
                await s.client.wait_online(30000)
            await asyncio.sleep(1.0)             # past the service's settle time (retained records first)
        self._do(go())

    def close(self):
        self._do(_stop(self.svcs))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.t.join(10)


def _wait_file(p, proc, s=300):
    def written():
        if proc.poll() is not None and not p.exists():
            out, err = proc.communicate()
            raise AssertionError("driver ended early: %s %s" % (out[-3000:], err[-3000:]))
        return p.exists()
    wait_until(written, timeout=s, what="the driver to write %s" % p.name)


@pytest.mark.mpy
def test_rotation_with_micropython_radios(mosquitto, tmp_path):
    import subprocess
    from fixtures.mpy import CORE_PATHS
    reg, units, k1, n = _registry(tmp_path)
    m = mosquitto()
    url = "mqtt://%s:%d" % (m.host, m.port)
    arbs = _Arbiters(m)
    arbs.restart(k1)
    out = tmp_path / "run"
    out.mkdir()
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"host": m.host, "port": m.port, "out": str(out), "key": k1.hex(), "units": units}))
    proc = subprocess.Popen(rig.command([rig.program("rekey_driver"), "@%s" % args], "16M"), cwd=str(rig.DATA_ROOT),
                            env=rig.env(CORE_PATHS), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_file(out / "step1.json", proc)
        rot = _htctl("fleet", "key", "rotate", "--registry", str(reg), "--broker", url, "--fleet", drv.FLEET)
        assert rot["sent"] == n
        k2, accept = _keys(reg)
        arbs.restart(k2, accept)
        (out / "rotated.json").write_text("{}")
        _wait_file(out / "step2.json", proc)
        asyncio.run(_publish_raw(m, units[2], _lagging_frames(k1, units[2])))
        (out / "lagged.json").write_text("{}")
        _wait_file(out / "step3.json", proc)
        _htctl("fleet", "key", "retire", "--registry", str(reg), "--broker", url, "--fleet", drv.FLEET)
        (out / "retired.json").write_text("{}")
        _wait_file(out / "step4.json", proc)
        tx = voice.Transmitter(tg_num("1"), unit_num(units[2]), codecs.PT_ADPCM, 20, k1, 5000, epoch=9)
        pcm = array("h", [0] * 160)
        asyncio.run(_publish_raw(m, units[2], [bytes(tx.encode(pcm, i == 4)) for i in range(5)]))
        (out / "lagged2.json").write_text("{}")
        _wait_file(out / "step5.json", proc)
        arbs.restart(k2)
        (out / "arbiter.json").write_text("{}")
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
        arbs.close()
    line = [ln for ln in stdout.splitlines() if ln.startswith("RESULT ")]
    assert line, stdout[-3000:] + stderr[-3000:]
    res = json.loads(line[0][7:])
    assert res["heard_k1"] > 10 and res["heard_k2"] > 10 and res["bad_tag_k2"] == 0
    assert all(v == [k2.hex(), k1.hex()] for v in res["saved"].values()) and len(res["saved"]) == 3
    assert res["lag_taken"] >= 5 and res["lag_refused"] >= 5 and res["talk_after_retire"] == 1
    assert all(v == [k2.hex(), ""] for v in res["saved_after"].values())
