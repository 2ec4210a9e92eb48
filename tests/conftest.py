"""Shared pytest setup: import paths, tiers, the --port option, and fixture plugins.

Fixture modules live in tests/fixtures/*.py (one per area: mosquitto, modem emulator, vdev…) and are
loaded automatically, so each area adds fixtures without editing this file.
"""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
for p in (ROOT / "firmware", ROOT / "host_tools", ROOT / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

pytest_plugins = sorted(
    "fixtures." + f.stem for f in (ROOT / "tests" / "fixtures").glob("*.py") if f.stem != "__init__"
)

import pytest  # noqa: E402


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
