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
    for s in svcs:                                  # `htctl arbiter` restarted: both keys from the registry
        await s.stop()
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
    for s in svcs:
        await s.stop()
    svcs = await run_pair(drv.FLEET, m.host, m.port, ("1",), key=k2)
    for u in units:
        rig_.ev[u][:] = []
    await drv.talk(rig_, res, b, 400)                 # talk still works on the new key alone
    for s in svcs:
        await s.stop()
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
