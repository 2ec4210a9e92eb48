"""Shared pytest setup: tiers, the --port option, and fixture plugins.

The code under test is installed in the virtualenv (`make venv`: htctl, htsim and the firmware's ht and hal
packages), so nothing here touches the import path; pytest puts tests/ on it for the fixture packages.
Fixture modules live in tests/fixtures/*.py (one per area: mosquitto, modem emulator, vdev…) and are
loaded automatically, so each area adds fixtures without editing this file.
"""
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
pytest.register_assert_rewrite("fixtures")      # fixture modules import each other before pytest loads them

pytest_plugins = sorted(
    "fixtures." + f.stem for f in (ROOT / "tests" / "fixtures").glob("*.py") if f.stem != "__init__"
)


def pytest_addoption(parser):
    parser.addoption("--port", default=None, help="serial port of a real radio for the device tier")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--port"):
        return
    skip = pytest.mark.skip(reason="device tier: needs a real radio (--port /dev/ttyUSB0)")
    for item in items:
        if "device" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def port(request):
    return request.config.getoption("--port")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # The per-family count of ModemManager's AT vectors our parsers get right (docs/MODEM.md), printed
    # whenever the vector tests were part of the run.
    # Only when the CPython run of the vector tests itself passed or failed here: that run put their folder
    # (tests/core/modem) on the import path.
    ran = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])
           if str(getattr(r, "nodeid", "")).startswith("tests/core/modem/test_at_vectors.py")]
    if not ran:
        return
    try:
        import vectors_score
        terminalreporter.write_line(vectors_score.summary(vectors_score.score()))
    except Exception as e:      # the summary is a report, never a failure of its own
        terminalreporter.write_line("ModemManager AT vectors: summary failed (%r)" % (e,))
