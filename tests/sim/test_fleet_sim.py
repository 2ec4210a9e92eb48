"""Fleet simulation: scenario files fail with their place named; the LTE link proxy keeps a valid MQTT
stream while it drops voice and counts bytes; faults (modem hang, SIM pulled, broker restart mid-burst)
end with every radio ONLINE again without a reboot and a floor that still grants, and an emergency
pressed with the data link down reaches the modem emulator's SMS log; the CLI runs a scenario and
writes its outputs."""
import asyncio
import json

import pytest

from htctl import cli
from htsim import linksim
from htsim.fleet import runner, scenario as S, summary as report
from htsim.fleet.proxy import LinkProxy, is_voice, packet_len

ROOT = runner.ROOT


def publish(topic, payload, qos=0):
    t = topic.encode()
    body = len(t).to_bytes(2, "big") + t + (b"\x00\x01" if qos else b"") + payload
    return bytes([0x30 | (qos << 1), len(body)]) + body


def base(**kw):
    d = {"duration_s": 10, "radios": [{"unit": "cc", "cc": True}, {"unit": "a"}],
         "events": [{"t": 1, "unit": "a", "do": "talk", "clip": "Front_Center"}]}
    d.update(kw)
    return d


@pytest.mark.parametrize("bad, where", [
    ({"radios": []}, "radios"),
    ({"radios": [{"unit": "a b"}]}, "radios[0].unit"),
    ({"radios": [{"unit": "a", "priority": "boss"}]}, "radios[0].priority"),
    ({"radios": [{"unit": "a", "modem": "NOKIA"}]}, "radios[0].modem"),
    ({"radios": [{"unit": "a"}, {"unit": "a"}]}, "radios"),
    ({"events": [{"t": 1, "unit": "zz", "do": "talk"}]}, "events[0].unit"),
    ({"events": [{"t": 1, "unit": "a", "do": "sing"}]}, "events[0].do"),
    ({"events": [{"t": 99, "unit": "a", "do": "press"}]}, "events[0].t"),
    ({"events": [{"t": 1, "unit": "a", "do": "talk", "clip": "Nope"}]}, "events[0].clip"),
    ({"events": [{"t": 1, "unit": "a", "do": "rollcall"}]}, "events[0].unit"),
    ({"events": [{"t": 1, "unit": "a", "do": "fault", "fault": "modem_hang"}]}, "events[0].unit"),
    ({"events": [{"t": 1, "do": "fault", "fault": "meteor"}]}, "events[0].fault"),
    ({"link": {"preset": "lte", "loss": 2}}, "link.loss"),
    ({"link": "wifi"}, "link.preset"),
    ({"colour": 1}, "colour"),
])
def test_scenario_errors_name_their_place(bad, where):
    with pytest.raises(S.ScenarioError) as e:
        S.parse(base(**bad), clips={"Front_Center", "all"})
    assert str(e.value).startswith(where + ":"), str(e.value)
    assert e.value.hint


def test_scenario_files_load_and_bad_json_is_a_clear_error(tmp_path):
    for p in sorted((ROOT / "scenarios").glob("*.json")):
        sc = S.load(p, clips=set(runner.clip_table()) | {"all"})
        assert sc.radios and sc.duration_s > 0
    demo = S.load(ROOT / "scenarios" / "demo.json")
    assert [r["unit"] for r in demo.radios if r["cc"]] == ["cc"] and len(demo.radios) == 4
    kinds = {e["do"] for e in demo.events}
    assert {"talk", "emergency", "rollcall"} <= kinds
    bad = tmp_path / "bad.json"
    bad.write_text('{"duration_s": 5,\n "radios": [}')
    with pytest.raises(S.ScenarioError, match="bad.json: not valid JSON"):
        S.load(bad)
    with pytest.raises(S.ScenarioError, match="not found"):
        S.load(tmp_path / "missing.json")
    assert len(demo.with_radios(7).radios) == 7


def test_proxy_drops_only_voice_keeps_the_stream_valid_and_counts_bytes():
    async def go():
        got = bytearray()

        async def sink(r, w):
            while True:
                b = await r.read(65536)
                if not b:
                    break
                got.extend(b)
        srv = await asyncio.start_server(sink, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        p = LinkProxy(port, lambda: linksim.Perfect(5.0), None, linksim.Bernoulli(0.5, seed=1))
        await p.start()
        r, w = await asyncio.open_connection("127.0.0.1", p.port)
        stream = b""
        for i in range(100):
            stream += publish("ht/kota/tg/1/v/a", bytes(40))
            stream += publish("ht/kota/u/a/p", b'{"s":1}', qos=1)
        # split at awkward places: the proxy must reassemble packets across reads
        for i in range(0, len(stream), 37):
            w.write(stream[i:i + 37])
            await w.drain()
        for _ in range(200):
            if p.stats()["packets"]["up_other"] == 100 and len(got) >= p.stats()["bytes"]["up_voice"] + \
                    p.stats()["bytes"]["up_other"]:
                break
            await asyncio.sleep(0.02)
        w.close()
        await p.stop()
        srv.close()
        return p.stats(), bytes(got)

    st, got = asyncio.run(go())
    n_voice = st["packets"]["up_voice"]
    assert st["dropped"] + n_voice == 100 and 20 < st["dropped"] < 80
    assert st["packets"]["up_other"] == 100
    # what reached the broker is a sequence of whole MQTT packets, every presence packet among them
    pos, voice, other = 0, 0, 0
    while pos < len(got):
        n = packet_len(got[pos:])
        assert n
        if is_voice(got[pos:pos + n]):
            voice += 1
        else:
            other += 1
        pos += n
    assert (voice, other) == (n_voice, 100)
    assert st["bytes"]["up_voice"] + st["bytes"]["up_other"] == len(got)


def faults_scenario():
    return S.parse({
        "name": "faults", "duration_s": 34, "link": "lte",
        "radios": [{"unit": "cc", "cc": True}, {"unit": "a"},
                   {"unit": "m1", "modem": "A7670"}, {"unit": "m2", "modem": "EC200U"}],
        "events": [
            {"t": 1.0, "unit": "a", "do": "talk", "clip": "all", "hold_s": 4},
            {"t": 2.5, "do": "fault", "fault": "broker_restart"},
            {"t": 8.0, "do": "fault", "fault": "modem_hang", "unit": "m1"},
            {"t": 8.0, "do": "fault", "fault": "sim_pulled", "unit": "m2"},
            {"t": 12.0, "do": "fault", "fault": "sim_insert", "unit": "m2"},
            {"t": 18.0, "do": "fault", "fault": "link_down", "unit": "m1"},
            {"t": 19.0, "unit": "m1", "do": "emergency"},
            {"t": 21.0, "do": "fault", "fault": "link_up", "unit": "m1"},
            {"t": 28.0, "unit": "a", "do": "talk", "clip": "Front_Left", "hold_s": 1.5},
            {"t": 30.5, "unit": "m1", "do": "talk", "clip": "Front_Right", "hold_s": 1.5},
        ]})


@pytest.mark.sim
@pytest.mark.mpy
def test_faults_radios_come_back_online_and_the_floor_is_not_stuck(mosquitto, tmp_path):
    sc = faults_scenario()
    users, rights = runner.broker_accounts(sc)
    m = mosquitto(users=users, acl=rights)
    res = runner.run(sc, tmp_path, mode="mpy", broker=m)
    s = report.write(res, tmp_path)
    print(report.text(s))
    modes = {u: p["mode"] for p in res["procs"] for u in p["units"]}
    assert modes["a"] == "mpy" and modes["m1"] == "mpy" and modes["m2"] == "mpy"
    assert all(p["rc"] == 0 for p in res["procs"]), res["procs"]
    faults = {f["fault"]: f for f in s["faults"]}
    # the broker restart mid-burst knocked everyone off; each came back on its own
    br = faults["broker_restart"]["radios"]
    assert all(r["offline_at"] is not None and r["online_after_ms"] is not None for r in br.values()), br
    for name, unit in (("modem_hang", "m1"), ("sim_pulled", "m2")):
        r = faults[name]["radios"][unit]
        assert r["offline_at"] is not None and r["online_after_ms"] is not None, (name, r)
    # the emergency pressed while m1's data link was down went out by SMS through the modem (emulator's log)
    sms = res["sms"]["m1"]
    assert [n for n, _ in sms] == ["+628111000111"] and "DARURAT" in sms[0][1] and " m1 " in sms[0][1], sms
    late = [d for t, u, k, d in res["events"] if k == "emergency_rx" and d["unit"] == "m1" and d["late"]]
    assert late, "the data alert owed while down follows, marked late"
    assert all(st["online"] for st in res["stats"].values()), {u: st["online"] for u, st in res["stats"].items()}
    # no reboot: one boot event per radio
    boots = [u for t, u, k, d in res["events"] if k == "boot"]
    assert sorted(boots) == sorted(sc.units)
    # the floor is not stuck: the talks after the faults get the permit and are heard
    late = [(u, t) for u, t, ms in report.access_times(res["events"])[0] if t > 27000]
    assert sorted(u for u, _ in late) == ["a", "m1"], late
    heard_m1 = [e for e in res["events"] if e[2] == "talker" and e[3]["unit"] == "m1" and e[0] > 30000]
    assert {e[1] for e in heard_m1} >= {"cc", "a", "m2"}
    assert not s["stuck"]


def test_cli_sim_runs_a_scenario_in_cpython_mode(tmp_path, capsys):
    sc = tmp_path / "tiny.json"
    sc.write_text(json.dumps({"duration_s": 6, "link": "clean",
                              "radios": [{"unit": "cc", "cc": True}, {"unit": "a"}],
                              "events": [{"t": 0.5, "unit": "a", "do": "talk", "clip": "Front_Center",
                                          "hold_s": 1.5},
                                         {"t": 3.5, "unit": "cc", "do": "talk", "hold_s": 1.0}]}))
    out = tmp_path / "out"
    code = cli.main(["sim", str(sc), "--mode", "cpython", "--radios", "3", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "talk bursts: 2" in text and "access" in text and "mouth-to-ear" in text, text
    for u in ("cc", "a", "u001"):
        assert (out / ("%s_heard.wav" % u)).stat().st_size > 44, text
    lines = (out / "transcript.jsonl").read_text().splitlines()
    assert any(json.loads(x)["kind"] == "tx_start" for x in lines)
    assert json.loads((out / "summary.json").read_text())["bursts"] == 2
    assert cli.main(["sim", "no-such-scenario"]) != 0
    # only what people read is left (issue 13: .raw clips, go.json and process files with the broker
    # passwords were left behind), and the transcript speaks sentences, not event records
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["a_heard.wav", "cc_heard.wav", "u001_heard.wav", "summary.json", "transcript.jsonl", "transcript.txt"])
    assert not any(b"pw-" in p.read_bytes() for p in out.iterdir())
    story = (out / "transcript.txt").read_text()
    assert "a        presses PTT and gets the channel (talk-permit tone): speaks" in story
    assert "{" not in story and "cue" not in story
