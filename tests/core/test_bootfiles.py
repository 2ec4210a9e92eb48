# Portable: runs under CPython (pytest) and MicroPython (tests/firmware/test_mpy_tier.py).
# No file can brick a radio (issue 11): any bytes in config.json / board.json give a config to run on,
# from the file, its last known good copy, or factory defaults in the "provision" stage.
from ht import bootfiles as F
from ht import config

GOOD = config.dump(config.load('{"unit": {"id": "u-01"}, "broker": {"user": "u-01"}}')[0])
if isinstance(GOOD, str):
    GOOD = GOOD.encode()
BOARD = (b'{"name": "T", "modem": {"dialect": "A7670", "uart": {"tx": 26, "rx": 27}, "pwrkey": 4},'
         b' "audio": {"mic": {"sck": 14, "ws": 15, "sd": 34}, "amp": {"bclk": 12, "lrc": 13, "din": 25}},'
         b' "buttons": {"ptt": 0, "emergency": 35}}')

BAD = [b"\xff" * 4096, GOOD[:len(GOOD) // 2], b"\xc3\x28" + GOOD, b"[" * 5000 + b"]" * 5000,
       b'{"unit": {"id": ' + b"[" * 200 + b"]" * 200 + b"}}", b"", b"null", b"[1, 2]", b'"text"',
       b'{"unit": 5}', b'{"unit": {"id": 17}}', b'{"unit": {"id": "a\\ud800"}}', b"{" * 100000]




def reader(d):
    return lambda name: d.get(name)


def test_a_good_config_boots_from_the_file():
    cfg, src, notes = F.choose_config(reader({F.CONFIG: GOOD}))
    assert src == "config" and cfg.get("unit.id") == "u-01" and notes == []


def test_every_bad_file_falls_back_to_the_last_known_good_copy():
    for bad in BAD:
        cfg, src, notes = F.choose_config(reader({F.CONFIG: bad, F.CONFIG_LKG: GOOD}))
        assert src == "last-known-good" and cfg.get("unit.id") == "u-01", bad[:20]
        assert notes


def test_nothing_usable_gives_factory_defaults_needing_provisioning():
    for bad in BAD:
        cfg, src, _ = F.choose_config(reader({F.CONFIG: bad, F.CONFIG_LKG: b"\xff\xff"}))
        assert src == "defaults" and cfg.get("unit.id") == ""


def test_keep_good_writes_copies_only_for_clean_files_and_only_when_they_differ():
    d = {F.CONFIG: GOOD, F.BOARD: BOARD}
    w = []

    def write(name, data):
        w.append(name)
        d[name] = data
    assert F.keep_good(reader(d), write) == [F.CONFIG_LKG, F.BOARD_LKG]
    assert F.keep_good(reader(d), write) == []
    d[F.CONFIG] = GOOD[:10]
    assert F.keep_good(reader(d), write) == [] and d[F.CONFIG_LKG] == GOOD


def test_board_falls_back_to_its_last_known_good_copy_or_says_why():
    b, src, note = F.choose_board(reader({F.BOARD: BOARD}))
    assert src == "board" and b["name"] == "T" and note is None
    for bad in BAD:
        b, src, note = F.choose_board(reader({F.BOARD: bad, F.BOARD_LKG: BOARD}))
        assert src == "last-known-good" and b["name"] == "T" and note
        b, src, note = F.choose_board(reader({F.BOARD: bad}))
        assert b is None and note


def test_depth_check_ignores_brackets_inside_strings():
    assert F.shallow('{"a": {"b": "[[[[[[{{{{{\\"]]]"}}')
    assert not F.shallow("[[[[[1]]]]]")
