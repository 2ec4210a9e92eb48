"""No file can brick a radio (issue 11): any config.json bytes give a radio to run, on CPython (hypothesis)
and under MicroPython unix (firmware/main.py's own prepare() on fuzzed files, the config_fuzz_bricked bench)."""
import json
import pathlib
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ht import bootfiles as F
from ht.radio.presence import STAGES

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import bench_boot  # noqa: E402

SET = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                     lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                     max_leaves=20)


@SET
@given(st.one_of(st.binary(max_size=3000), _json.map(lambda v: json.dumps(v).encode())),
       st.sampled_from([None, b"\xff" * 64]))
def test_any_config_bytes_give_a_config_and_never_raise(data, lkg):
    cfg, src, notes = F.choose_config(lambda n: {F.CONFIG: data, F.CONFIG_LKG: lkg}.get(n))
    assert src in ("config", "defaults") and notes is not None
    assert src == "defaults" or cfg.get("unit.id")


@pytest.mark.mpy
def test_no_fuzzed_config_bricks_the_boot_under_micropython():
    r = bench_boot.run(n=48)
    assert r["config_fuzz_bricked"] == 0
    assert r["config_fuzz_on_file"] > 0 and r["config_fuzz_provision"] > 0


def test_a_radio_on_factory_defaults_shows_the_provision_stage():
    from core.radio.radiofake import FakeHAL
    from ht.radio.app import Radio
    from ht import config
    r = Radio(FakeHAL(), config.defaults(), make_client=lambda on_msg, on_state: _Client(), provision=True)
    assert r.stage() == "provision" and "provision" in STAGES
    r.presence.update(0, stage="online")
    assert r.presence.stage == "provision"


class _Client:
    def set_last_will(self, *a):
        pass
