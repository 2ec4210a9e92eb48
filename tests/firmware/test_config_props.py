"""Property tests for the shared config schema (firmware/ht/config.py): export -> import is exact, corrupt
fields never cost good ones, secrets never leak, and MicroPython writes the same bytes as CPython."""
import json

import pytest
from hypothesis import assume, given, settings, strategies as st

from ht import config

_name = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1, max_size=32)
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=32)
_date = st.dates().map(lambda d: d.isoformat()).filter(lambda s: len(s) == 10)


def _value(key):
    kind, default, rule = config.FIELDS[key]
    if key in ("unit.id",):
        return st.one_of(st.just(""), _name)
    if key == "fleet.id":
        return _name
    if key in ("audio.key", "audio.key_old"):
        return st.one_of(st.just(""), st.binary(min_size=16, max_size=64).map(lambda b: b.hex()))
    if key == "ota.key":
        return st.one_of(st.just(""), st.binary(min_size=256, max_size=512).map(lambda b: b.hex()))
    if key == "talkgroups.list":
        return st.lists(_name, max_size=16, unique=True)
    if key == "talkgroups.scan":
        return st.just([])  # set below from the list
    if key == "emergency.sms_numbers":
        return st.lists(st.from_regex(r"\A\+?[0-9]{6,15}\Z"), max_size=4, unique=True)
    if key == "broker.url":
        return st.builds(lambda s, h, p: "%s://%s%s" % (s, h, ":%d" % p if p else ""),
                         st.sampled_from(["mqtt", "mqtts"]), _name, st.one_of(st.none(), st.integers(1, 65535)))
    if key == "modem.sim_pin":
        return st.one_of(st.just(""), st.from_regex(r"\A[0-9]{4,8}\Z"))
    if key == "modem.apn":
        return st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=62)
    if key == "dataplan.expiry":
        return st.one_of(st.just(""), _date)
    if kind == "int":
        return st.integers(*rule)
    if kind == "bool":
        return st.booleans()
    if kind == "enum":
        return st.sampled_from(rule)
    return _text


@st.composite
def configs(draw):
    c = config.defaults()
    for key in config.keys():
        if draw(st.booleans()):
            c.set(key, draw(_value(key)))
    tgs = c.get("talkgroups.list")
    if tgs:
        c.set("talkgroups.scan", draw(st.lists(st.sampled_from(tgs), unique=True)))
    return c


@settings(max_examples=300, deadline=None)
@given(configs())
def test_export_import_round_trips_exactly(c):
    text = config.dump(c)
    c2, errors = config.load(text)
    assert errors == []
    assert c2 == c
    assert config.dump(c2) == text
    assert config.config_hash(c2) == config.config_hash(c)
    assert json.loads(text) == c.to_dict()  # canonical text is plain JSON any tool can read


@settings(max_examples=200, deadline=None)
@given(configs(), st.sampled_from(config.keys()), st.one_of(st.integers(), st.text(max_size=5), st.booleans(),
                                                          st.none(), st.lists(st.integers(), max_size=2)))
def test_one_corrupt_field_costs_only_that_field(c, key, junk):
    assume(config.check(key, junk) is not None)
    d = c.to_dict()
    sec, field = key.split(".")
    d[sec][field] = junk
    c2, errors = config.load(json.dumps(d))
    assert errors[0].startswith(key + ":")
    if key == "talkgroups.list" and c.get("talkgroups.scan"):
        # the scan order names talkgroups that are gone with the list: it falls back too, and says so
        assert len(errors) == 2 and errors[1].startswith("talkgroups.scan:")
    else:
        assert len(errors) == 1
    for k in config.keys():
        if k == key:
            assert c2.get(k) == config.FIELDS[k][1]
        elif k == "talkgroups.scan" and key == "talkgroups.list":
            assert c2.get(k) == []  # the scan list refers to talkgroups that fell back to none
        else:
            assert c2.get(k) == c.get(k), k


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="0123456789abcdefXYZ", min_size=6, max_size=30), st.from_regex(r"\A[0-9]{4,8}\Z"))
def test_secrets_masked_everywhere_they_could_be_shown(password, pin):
    c = config.defaults()
    c.set("broker.password", password)
    c.set("modem.sim_pin", pin)
    for text in (repr(c), str(c), "\n".join(c.show()), json.dumps(c.masked())):
        assert password not in text and config.MASK in text
        assert '"%s"' % pin not in text
    assert config.load(config.dump(c))[0].get("broker.password") == password


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_load_never_raises_on_garbage(text):
    c, errors = config.load(text)
    assert isinstance(c, config.Config)
    assert isinstance(errors, list)


@pytest.mark.mpy
def test_micropython_writes_the_same_bytes_and_hash(mpy):
    # Differential: the radio must compute the same config hash the registry's audit log recorded.
    c = config.defaults()
    c.set("unit.id", "dinkes-01")
    c.set("unit.callsign", 'Kadis "Dinkes" \u00e9 \u4e2d')
    c.set("talkgroups.list", ["dinkes", "all"])
    c.set("talkgroups.scan", ["all"])
    c.set("broker.password", "p\\w\n")
    c.set("emergency.sms_numbers", ["+628123456789"])
    text = config.dump(c)
    code = ("from ht import config\nimport sys\nc,e=config.load(sys.stdin.read())\nassert e==[],e\n"
            "print(config.dump(c))\nprint(config.config_hash(c))\n")
    r = mpy(["-c", code], input=text)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == text
    assert out[1] == config.config_hash(c)
