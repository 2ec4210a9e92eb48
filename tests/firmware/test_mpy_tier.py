"""Every portable core test module (tests/core/**/test_*.py) runs again under real MicroPython unix."""
import pathlib

import pytest

from fixtures.mpy import run_portable_tests

CORE = pathlib.Path(__file__).resolve().parents[1] / "core"
MODULES = sorted(CORE.rglob("test_*.py"))


@pytest.mark.mpy
@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(CORE).with_suffix("").as_posix())
def test_core_module_under_micropython(path):
    passed, failed, out = run_portable_tests(path)
    assert failed == 0, out
    assert passed > 0, "no portable tests ran in %s:\n%s" % (path.name, out)
