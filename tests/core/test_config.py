# Portable: runs under CPython (pytest) and MicroPython (tests/mpy_runner.py).
# The radio's config schema: defaults, set() by "section.field", load() that keeps good fields and reports
# bad ones, canonical dump, masking of secrets.
from ht import config


def test_defaults_are_the_documented_ones():
    c = config.defaults()
    assert c.get("modem.apn") == "internet"
    assert c.get("ptt.talk_timeout_s") == 60
    assert c.get("emergency.hot_mic_s") == 10
    assert c.get("unit.priority") == "normal"
    assert c.get("dataplan.price_rp") == 55000


def test_every_default_passes_its_own_check():
    for key in config.keys():
        assert config.check(key, config.FIELDS[key][1]) is None, key


def test_set_validates_by_schema():
    c = config.defaults()
    c.set("broker.keepalive", 30)
    assert c.get("broker.keepalive") == 30
    for key, bad in (("broker.keepalive", 5), ("broker.keepalive", "30"), ("broker.tls", 1),
                     ("unit.priority", "urgent"), ("unit.id", "a/b"), ("modem.sim_pin", "12ab"),
                     ("dataplan.expiry", "2027-02-30"), ("broker.url", "http://x"), ("nope.x", 1),
                     ("emergency.sms_numbers", ["+62 812"]), ("talkgroups.list", ["a", "a"])):
        try:
            c.set(key, bad)
        except ValueError as e:
            assert str(e).startswith(key + ":"), str(e)
        else:
            assert False, "accepted %s=%r" % (key, bad)
    assert c.get("broker.keepalive") == 30  # a refused set changes nothing


def test_set_text_reads_command_line_values():
    c = config.defaults()
    c.set_text("broker.tls", "yes")
    c.set_text("audio.frame_ms", "20")
    c.set_text("talkgroups.list", "dinkes, all")
    assert c.get("broker.tls") is True
    assert c.get("audio.frame_ms") == 20
    assert c.get("talkgroups.list") == ["dinkes", "all"]


def test_scan_must_be_joined_talkgroups_and_follows_the_list():
    c = config.defaults()
    c.set("talkgroups.list", ["dinkes", "bpbd", "all"])
    c.set("talkgroups.scan", ["bpbd", "all"])
    try:
        c.set("talkgroups.scan", ["pmi"])
        assert False
    except ValueError:
        pass
    c.set("talkgroups.list", ["dinkes", "all"])
    assert c.get("talkgroups.scan") == ["all"]


def test_dump_load_round_trip():
    c = config.defaults()
    c.set("unit.id", "dinkes-01")
    c.set("unit.callsign", 'Kadis "Dinkes" \u00e9')
    c.set("broker.password", "s3cret")
    c.set("emergency.sms_numbers", ["+628123456789"])
    c2, errors = config.load(config.dump(c))
    assert errors == []
    assert c2 == c
    assert config.dump(c2) == config.dump(c)


def test_corrupt_fields_fall_back_and_good_ones_survive():
    text = ('{"unit":{"id":"dinkes-01","priority":"boss"},"broker":{"keepalive":"x","url":"mqtt://h:1883"},'
            '"ptt":"oops","mystery":{"a":1}}')
    c, errors = config.load(text)
    assert c.get("unit.id") == "dinkes-01"
    assert c.get("broker.url") == "mqtt://h:1883"
    assert c.get("unit.priority") == "normal"
    assert c.get("broker.keepalive") == 60
    joined = "\n".join(errors)
    for key in ("unit.priority", "broker.keepalive", "ptt", "mystery.a"):
        assert key in joined, key
    assert len(errors) == 4


def test_garbage_gives_defaults_and_one_error():
    for text in ("", "{not json", "[1,2]", "null"):
        c, errors = config.load(text)
        assert c == config.defaults()
        assert len(errors) == 1


def test_secrets_never_shown():
    c = config.defaults()
    c.set("broker.password", "hunter2-very-secret")
    c.set("modem.sim_pin", "4321")
    for text in (repr(c), str(c), "\n".join(c.show())):
        assert "hunter2" not in text and "4321" not in text
        assert config.MASK in text
    assert c.get("broker.password") == "hunter2-very-secret"
    c2, errors = config.load('{"modem":{"sim_pin":"12x"}}')
    assert "12x" not in "".join(errors)


def test_config_hash_is_stable_and_sensitive():
    a = config.defaults()
    b = config.defaults()
    assert config.config_hash(a) == config.config_hash(b)
    assert len(config.config_hash(a)) == 64
    b.set("ptt.talk_timeout_s", 61)
    assert config.config_hash(a) != config.config_hash(b)


def test_known_dump_text():
    # Pinned bytes: the same text (and hash) on CPython and MicroPython.
    c = config.defaults()
    c.set("unit.callsign", "A\"\\\n\u00e9")
    text = config.dump(c)
    assert '"callsign":"A\\"\\\\\\u000a\u00e9"' in text
    assert text.startswith('{"audio":{"codec":"adpcme","frame_ms":40,"key":"","key_old":""},"broker":{')


def test_fleet_id_and_voice_key():
    # fleet.id names the fleet in every topic; audio.key is the fleet's voice authentication key (hex),
    # a secret like the broker password: set by htctl provision, never shown.
    c = config.defaults()
    assert c.get("fleet.id") == "kota" and c.get("audio.key") == ""
    key = "00112233445566778899aabbccddeeff" * 2
    c.set("audio.key", key)
    c.set("fleet.id", "prov-jatim")
    assert "audio.key" in config.SECRETS
    for text in (repr(c), "\n".join(c.show())):
        assert key not in text and "prov-jatim" in text
    assert config.load(config.dump(c))[0] == c
    for k, bad in (("audio.key", "xyz"), ("audio.key", "0" * 33), ("audio.key", "00" * 8),
                   ("audio.key", "00" * 65), ("fleet.id", ""), ("fleet.id", "kota/#")):
        try:
            c.set(k, bad)
        except ValueError as e:
            assert str(e).startswith(k + ":")
            continue
        assert False, (k, bad)
