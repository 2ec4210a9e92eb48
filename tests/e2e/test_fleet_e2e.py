"""Fleet simulation end to end: the real firmware under MicroPython unix, four radios (Command Center +
a, b, c) through REAL Mosquitto (per-unit accounts, the fleet ACL) over per-radio LTE link proxies with
5 % voice loss. a talks real speech: b's and c's WAVs score PESQ within 0.2 of the audio core's figure
(htsim.audiopath, same loss model and seed, same speech). Then a goes out of coverage and the Command
Center calls the roll: b answers, c does not; the report lists answered / missed / offline correctly."""
import pytest

from ht import config
from ht.voice import codecs
from htsim import linksim
from htsim import audiopath
from htsim.fleet import runner, scenario as S, summary as report

pytestmark = [pytest.mark.sim, pytest.mark.mpy]
LOSS = 0.05
SEED = 3
HOLD_S = 4.0


def scenario():
    return S.parse({
        "name": "e2e", "duration_s": 22, "seed": SEED,
        "link": {"preset": "lossy", "loss": LOSS, "seed": SEED},
        "radios": [{"unit": "cc", "cc": True}, {"unit": "a"}, {"unit": "b"}, {"unit": "c"}],
        "events": [
            {"t": 1.0, "unit": "a", "do": "talk", "clip": "all", "hold_s": HOLD_S},
            {"t": 7.0, "do": "fault", "fault": "link_down", "unit": "a"},
            {"t": 9.0, "unit": "cc", "do": "rollcall", "id": "rc9", "deadline_s": 5},
            {"t": 10.5, "unit": "b", "do": "answer"},
            {"t": 18.5, "unit": "cc", "do": "report"},
            {"t": 19.0, "do": "fault", "fault": "link_up", "unit": "a"},
        ]})


def test_fleet_micropython_through_mosquitto(mosquitto, tmp_path):
    sc = scenario()
    users, rights = runner.broker_accounts(sc)
    m = mosquitto(users=users, acl=rights)
    res = runner.run(sc, tmp_path, mode="mpy", broker="mqtt://%s:%d" % (m.host, m.port))
    s = report.write(res, tmp_path)
    print(report.text(s))
    assert all(p["mode"] == "mpy" and p["rc"] == 0 for p in res["procs"]), res["procs"]

    # The audio core alone, same speech, same loss model and seed (the proxy's loss draws on a's uplink).
    ref = res["clips"]["all"][: int(8000 * HOLD_S)]
    n_sent = res["stats"]["a"]["voice"]["tx_frames"]
    # a transmits from the arbiter's grant to the release: the hold time less its access time
    frames = int((HOLD_S * 1000 - s["access_ms"][0]) / sc.frame_ms)
    link = linksim.Link(runner.link_models(sc.link, runner.link_seed(sc.link, sc.units.index("a")))[2],
                       linksim.LTEDelay(seed=SEED))
    # ... and the same codec: the radios send what the default config says (adpcme: DVI4 in adaptive emphasis)
    pt = {"adpcm": codecs.PT_ADPCM, "adpcme": codecs.PT_ADPCME}[config.defaults().get("audio.codec")]
    core = audiopath.run(link, seed=SEED, frame_ms=sc.frame_ms, clips=[ref], pt=pt)
    assert core["pesq"] is not None
    dropped = res["links"]["a"]["dropped"]
    assert 0 < dropped < 0.15 * n_sent, (dropped, n_sent)          # the 5 % loss really applied
    assert abs(n_sent - frames) <= 3
    for u in ("b", "c"):
        heard = res["heard"][u]
        assert len(heard) > 3 * 8000, u
        q = audiopath.aligned_pesq(ref, heard)
        print("PESQ", u, round(q, 2), "audio core", round(core["pesq"], 2))
        assert abs(q - core["pesq"]) <= 0.2, (u, q, core["pesq"])
    assert s["m2e_ms"] and s["access_ms"]

    rc = s["rollcall"]
    assert rc["id"] == "rc9" and rc["final"]
    assert rc["answered"] == ["b"] and rc["missed"] == ["c"] and rc["offline"] == ["a"], rc
    # the Command Center and the listeners saw who talked; nobody's floor is left stuck
    assert not s["stuck"]
    assert s["per_radio"]["b"]["spoofed"] == 0 and s["per_radio"]["b"]["replayed"] == 0
