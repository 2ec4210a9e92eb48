"""Scenario files: timed faults and pin changes, e.g.
    [{"at_s": 5, "fault": "sim_remove"}, {"at_s": 9, "fault": "sim_insert"},
     {"at_s": 20, "fault": "slow", "ms": 800}, {"at_s": 30, "pin": "RESET", "level": 1}]
at_s is emulated seconds after run_scenario() (x time_scale in wall time). A step repeats with
"every_s" (optionally "jitter_s" = +- random spread and "count" = how many times in all), e.g. the A7670E field
report of a link dropped every 50-70 s: {"at_s": 60, "every_s": 60, "jitter_s": 10, "fault": "pdp_drop"}.
Everything is validated first: a bad entry rejects the whole file with the entry's index, nothing
half-applied."""
import inspect
import json
import os

from .faults import FAULTS


_REPEAT_KEYS = ("every_s", "jitter_s", "count")


def _repeat(i, it):
    """(every_s, jitter_s, count or None) for a repeating step, None for a one-off."""
    if "every_s" not in it:
        if "jitter_s" in it or "count" in it:
            raise ValueError("scenario step %d: jitter_s/count need every_s" % i)
        return None
    every, jitter, count = it["every_s"], it.get("jitter_s", 0), it.get("count")
    if not isinstance(every, (int, float)) or every <= 0:
        raise ValueError("scenario step %d: every_s must be a number > 0" % i)
    if not isinstance(jitter, (int, float)) or not (0 <= jitter < every):
        raise ValueError("scenario step %d: jitter_s must be >= 0 and below every_s" % i)
    if count is not None and (not isinstance(count, int) or count < 1):
        raise ValueError("scenario step %d: count must be an integer >= 1" % i)
    return (float(every), float(jitter), count)


def load(src):
    if isinstance(src, (list, tuple)):
        items = list(src)
    elif not isinstance(src, (str, bytes, os.PathLike)):
        raise ValueError("scenario must be a JSON list of steps (or a path to one)")
    else:
        with open(src) as f:
            try:
                items = json.load(f)
            except ValueError as e:
                raise ValueError("scenario %s: not valid JSON (%s)" % (src, e)) from None
    if not isinstance(items, list):
        raise ValueError("scenario must be a JSON list of steps")
    steps = []
    for i, it in enumerate(items):
        if not isinstance(it, dict):
            raise ValueError("scenario step %d: expected an object" % i)
        at = it.get("at_s")
        if not isinstance(at, (int, float)) or at < 0:
            raise ValueError("scenario step %d: at_s must be a number >= 0" % i)
        rep = _repeat(i, it)
        kw = {k: v for k, v in it.items() if k not in ("at_s", "fault", "pin", "level") + _REPEAT_KEYS}
        if "fault" in it:
            if it["fault"] not in FAULTS:
                raise ValueError("scenario step %d: unknown fault %r" % (i, it["fault"]))
            try:
                inspect.signature(FAULTS[it["fault"]]).bind(None, **kw)
            except TypeError as e:
                raise ValueError("scenario step %d: %s: %s" % (i, it["fault"], e)) from None
            steps.append((float(at), "fault", it["fault"], kw, rep))
        elif "pin" in it:
            if it.get("level") not in (0, 1):
                raise ValueError("scenario step %d: pin needs level 0 or 1" % i)
            steps.append((float(at), "pin", str(it["pin"]).upper(), it["level"], rep))
        else:
            raise ValueError("scenario step %d: needs 'fault' or 'pin'" % i)
    return sorted(steps, key=lambda s: s[0])
