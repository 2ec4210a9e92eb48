"""Power end to end (docs/POWER.md): the real radio through the modem emulator and Mosquitto.
A burst addressed to a radio whose modem sleeps is heard from its first frame; a blackholed data path is
found by the reply deadline and the radio is back online after the path returns. Behaviour only: the
timings are bench figures (bench/bench_power.py), and the waits are generous so a loaded machine passes."""
import asyncio

import pytest

from htsim import rig
from test_radio_mosquitto import broker, mic_file

drv = rig.load("radio_driver")
rp = rig.load("radio_power")

pytestmark = pytest.mark.sim


def args(m, emu, **kw):
    a = {"host": m.host, "port": m.port,
         "emu": {"uart": emu.uart_port, "ctl": emu.ctl_port, "scale": emu.time_scale}}
    a.update(kw)
    return a


def test_burst_to_a_sleeping_radio_is_heard_from_its_first_frame_and_a_roll_call_wakes_it(mosquitto, arbiter, emulator, tmp_path):
    m = broker(mosquitto, arbiter)
    emu = emulator(dialect="A7670", powered=True, time_scale=0.05)
    mic, _ = mic_file(tmp_path, 1.5)
    res = {"scenario": "sleep_burst"}
    asyncio.run(rp.scenario_sleep_burst(args(m, emu, mic=str(mic), bursts=2, hold_ms=1000, rollcall=True), res,
                                        drv.Rig, drv.talk))
    for b in res["bursts"]:
        assert b["asleep"], res                          # the modem really slept before the burst
        assert b["sent"] > 10 and b["heard"] == b["sent"], res
    e = res["energy"]
    assert e["wake_lost"] == 0, e        # no byte was ever sent to a UART that was not up yet
    assert res["sleep"]["rx_wakes"] >= 1 and res["power"]["listen"] > 0, res
    assert res["rollcall_awake"], res                    # a roll call wakes the sleeping radio at once


def test_blackholed_path_found_by_the_reply_deadline_and_back_online(mosquitto, arbiter, emulator):
    m = broker(mosquitto, arbiter)
    emu = emulator(dialect="A7670", powered=True, time_scale=0.05)
    res = {"scenario": "deadlink"}
    # keepalive 10 s (the rig's config): a beat every 9 s, so the hole of 15 s always meets one
    asyncio.run(rp.scenario_deadlink(args(m, emu, hole_ms=15000), res, drv.Rig))
    assert res["reason"] and "no reply" in res["reason"], res
    assert res["back_after_return_ms"] >= 0, res
