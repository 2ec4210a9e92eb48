"""Every portable core test module (tests/core/test_*.py) runs again under real MicroPython unix."""
import pathlib

import pytest

from fixtures.mpy import run_portable_tests

CORE = pathlib.Path(__file__).parent / "core"
MODULES = sorted(p.stem for p in CORE.glob("test_*.py"))


@pytest.mark.mpy
@pytest.mark.parametrize("module", MODULES)
def test_core_module_under_micropython(module):
    passed, failed, out = run_portable_tests(module)
    assert failed == 0, out
    assert passed > 0, "no portable tests ran in %s:\n%s" % (module, out)
