"""Updates over the air end to end (docs/OTA.md): MicroPython radios, each booted through the real bootstrap
from its own flash folder, on real Mosquitto behind LTE link proxies that lose 5 % of the update's chunks.
A rollout in waves (htctl.rollout over paho, as `htctl fleet update` runs it) brings u1 and u4 to the new
release: u1's link is cut mid-download and it resumes instead of starting over; u4's PTT is pressed during
its download, it gets the floor from the talkgroup's arbiter and talks, and the update yields: no chunk is
asked for while its voice goes out, so the update does not compete with the voice on the link. u2 gets a
release that dies at boot and comes back on the previous version by itself; u3 gets a tampered file and
refuses it, still running what it ran. Nothing here is timed: every step waits on what the radios did."""
import asyncio
import json
import shutil

import pytest

from htctl import release as REL, rollout as RO
from htctl.firmware import FIRMWARE_DIR
from htsim import ota

pytestmark = [pytest.mark.sim, pytest.mark.mpy]
if not shutil.which("mosquitto") and not shutil.which("/usr/sbin/mosquitto"):
    pytestmark.append(pytest.mark.skip(reason="mosquitto not installed (make sysdeps)"))


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    d = tmp_path_factory.mktemp("ota")
    n = REL.keygen(d / "key.pem")
    good = ota.build_release(d / "good", d / "key.pem", "0.2.0")
    shutil.copytree(FIRMWARE_DIR, d / "fw", ignore=shutil.ignore_patterns("__pycache__"))
    bad = ota.build_release(d / "bad", d / "key.pem", "0.3.0", crash=True, firmware_copy=d / "fw")
    return d, n, good, bad


def _publish(link, msgs):
    for t, p in msgs:
        link.publish(t, p, 1, True)


def _down(px):
    # what came down the radio's link apart from talkgroup voice (others' bursts it hears)
    return px.stats()["bytes"]["down_other"]


def test_fleet_update_with_loss_cut_ptt_crash_and_tamper(tmp_path, releases):
    d, n, good, bad = releases

    async def scenario():
        async with ota.OtaSim(tmp_path, ["u1", "u2", "u3", "u4"], n, loss=0.05, press_at={"u4": 12},
                              arbiter=True) as sim:
            assert await sim.online(90), {u: r.events[-3:] for u, r in sim.radios.items()}
            link = await asyncio.to_thread(RO.PahoLink, sim.host, sim.port, "kota", "cc", "pw-cc",
                                           key=sim.voice_key)
            try:
                # u2: the release that dies at boot; u3: a copy of the good one with one file changed
                path = good.manifest["files"][5][0]
                tampered = dict(good.files)
                tampered[path] = b"\x00" + good.files[path][1:]
                _publish(link, bad.messages("kota") + good.messages("kota", rid="tamp", files=tampered))
                link.publish("ht/kota/u/u2/c", json.dumps(bad.offer()).encode(), 1, False)
                link.publish("ht/kota/u/u3/c", json.dumps(good.offer(rid="tamp")).encode(), 1, False)
                # u1 and u4: the rollout, with u1's link cut a quarter of the way into its download
                # (the timeouts only bound a broken run: a loaded machine takes longer, never fails for it)
                ro = RO.Rollout(["u1", "u4"], good.offer(), plan=[["u1"], ["u4"]], wave_timeout_s=900)
                run = asyncio.create_task(asyncio.to_thread(RO.run, link, ro, "kota", good.messages("kota"),
                                                            limit_s=2000))
                px1 = sim.radios["u1"].proxy
                assert await sim.wait(lambda: _down(px1) > good.total_bytes // 4, 600), px1.stats()
                px1.cut()
                summary = await run
                assert await sim.wait(lambda: (sim.radios["u2"].status() or "").startswith("rolled back")
                                      and sim.radios["u3"].status() is not None
                                      and sim.radios["u3"].status().startswith("refused"), 900)
            finally:
                link.close()
            return summary, sim.radios

    summary, radios = asyncio.run(scenario())
    detail = {u: [e for e in r.events if e[1] != "mqtt"][-6:] for u, r in radios.items()}
    assert summary["ok"] == ["u1", "u4"] and summary["halted"] is None, (summary["halted"], summary["status"],
                                                                         detail["u4"], detail["u1"])
    for u in ("u1", "u4"):
        assert radios[u].seen("version")[-1][1]["v"] == "0.2.0", detail[u]
        assert radios[u].seen("boot")[-1][1]["active"]["v"] == "0.2.0"
    # u1 resumed after the cut: the proxy saw the release about once, not twice
    st = radios["u1"].proxy.stats()
    down = _down(radios["u1"].proxy)
    assert st["connections"] >= 2 and good.total_bytes < down < 1.5 * good.wire_bytes("kota"), st
    # u4 pressed PTT mid-download, got the floor and talked; the release was let go after it had talked
    ptt = radios["u4"].seen("ptt")
    pause = radios["u4"].seen("ota_pause")
    assert [p[1]["down"] for p in ptt] == [1, 0], detail["u4"]
    assert radios["u4"].seen("tx_start") and radios["u4"].seen("tx_stop"), detail["u4"]
    # What the user would notice, on the link itself: from the first voice frame out to the last, the radio
    # asked for no chunk (its requests and its voice share one ordered uplink), and at most the chunk asked
    # for before the press came down meanwhile (or its copy, had a retry crossed a late answer)
    tr = radios["u4"].proxy.trace()
    up = [k for _, d, k in tr if d == "up"]
    first, last = up.index("voice"), len(up) - 1 - up[::-1].index("voice")
    assert up[first:last + 1].count("voice") >= 10 and "ota" not in up[first:last + 1], up[first - 3:last + 4]
    vt = [t for t, d, k in tr if d == "up" and k == "voice"]
    t0, t1 = vt[0], vt[-1]
    during = [t for t, d, k in tr if d == "down" and k == "ota" and t0 <= t <= t1]
    assert len(during) <= 2, (len(during), len(vt))
    # and before and after the burst the download did use the link (the check above is not vacuous)
    assert [1 for t, d, k in tr if d == "up" and k == "ota" and t < t0]
    assert [1 for t, d, k in tr if d == "up" and k == "ota" and t > t1]
    # The radio's own view. Counted from the moment the download saw the radio busy (the press reaches it through the PTT debounce
    # and the 10 ms tick, which a loaded machine stretches): at most the one chunk already in flight.
    assert pause, detail["u4"]
    at, end = pause[0][1]["at"], ptt[1][1]["at"]
    one_more = (end[0] == at[0] and end[1] - at[1] <= 1) or (end[0] == at[0] + 1 and end[1] == 0)  # it ended a file
    assert pause[0][0] <= ptt[1][0] and (at == end or one_more), (pause, ptt)
    # u2: crashed on trial, then the factory code runs again and says so
    assert radios["u2"].status() == "rolled back from v0.3.0", detail["u2"]
    assert len([e for e in radios["u2"].events if e[1] == "crash"]) >= 3
    assert radios["u2"].seen("version")[-1][1]["v"] != "0.3.0"
    # u3: refused the tampered file; nothing staged, the running version untouched
    assert radios["u3"].status() == "refused: tampered %s" % good.manifest["files"][5][0], detail["u3"]
    assert not (radios["u3"].root / "next").exists() and not (radios["u3"].root / "v").exists()
