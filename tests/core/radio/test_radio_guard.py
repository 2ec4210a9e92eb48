# Voice receive guard: forged tags, spoofed sources/talkgroups and replays are dropped and counted;
# a rebooted source (new session) is heard again at once.
from array import array
from ht.voice import transceiver as voice, codecs, frame
from ht.radio.guard import VoiceGuard, unit_num, tg_num, OK, SPOOFED, REPLAYED

KEY = b"fleet-key"


def burst(unit="u07", tg="1", n=5, seq=100, key=KEY):
    tx = voice.Transmitter(tg_num(tg), unit_num(unit), codecs.PT_ADPCM, 20, key, seq)
    pcm = array("h", [0] * 160)
    return [bytes(tx.encode(pcm, i == n - 1)) for i in range(n)]


def test_ids_are_stable_and_numeric_names_keep_their_number():
    assert unit_num("4242") == 4242 and tg_num("101") == 101
    assert unit_num("u07") == unit_num("u07") and 0 <= unit_num("u07") <= 0xFFFFFF
    assert unit_num("u07") != unit_num("u08")
    assert 0 <= tg_num("all") <= 0xFFFF


def test_fresh_frames_pass_and_replays_are_counted():
    g = VoiceGuard(KEY)
    frames = burst()
    for f in frames:
        assert g.check(f, unit_num("u07"), tg_num("1")) == OK
    for f in frames:
        assert g.check(f, unit_num("u07"), tg_num("1")) == REPLAYED
    assert g.stats()["replayed"] == 5 and g.stats()["accepted"] == 5


def test_reordered_frames_within_the_window_pass_once():
    g = VoiceGuard(KEY)
    frames = burst(n=6)
    for i in (0, 2, 1, 4, 3, 5, 3):
        g.check(frames[i], unit_num("u07"), tg_num("1"))
    assert g.accepted == 6 and g.replayed == 1


def test_old_burst_replayed_after_newer_traffic_is_refused():
    g = VoiceGuard(KEY)
    old = burst(seq=10, n=3)
    new = burst(seq=200, n=3)
    for f in old + new:
        assert g.check(f, unit_num("u07"), tg_num("1")) == OK
    assert [g.check(f, unit_num("u07"), tg_num("1")) for f in old] == [REPLAYED] * 3


def test_spoofed_source_or_talkgroup_and_forged_tag_are_refused():
    g = VoiceGuard(KEY)
    f = burst(unit="u07")[0]
    assert g.check(f, unit_num("u08"), tg_num("1")) == SPOOFED      # published on another unit's topic
    assert g.check(f, unit_num("u07"), tg_num("2")) == SPOOFED      # talkgroup does not match the topic
    forged = burst(key=b"wrong key")[0]
    assert g.check(forged, unit_num("u07"), tg_num("1")) == frame.BAD_TAG
    untagged = burst(key=None)[0]
    assert g.check(untagged, unit_num("u07"), tg_num("1")) == frame.BAD_TAG
    s = g.stats()
    assert s["spoofed"] == 2 and s["bad tag"] == 2 and s["accepted"] == 0


def test_forget_lets_a_rebooted_source_restart_its_sequence():
    g = VoiceGuard(KEY)
    for f in burst(seq=5000, n=3):
        g.check(f, unit_num("u07"), tg_num("1"))
    again = burst(seq=100, n=3)      # rebooted: sequence restarted lower
    assert g.check(again[0], unit_num("u07"), tg_num("1")) == REPLAYED
    g.forget(unit_num("u07"))
    assert [g.check(f, unit_num("u07"), tg_num("1")) for f in again[1:]] == [OK, OK]


def test_many_sources_share_the_table():
    g = VoiceGuard(None)
    for u in range(40):
        for f in burst(unit=str(u), n=2, key=None):
            assert g.check(f, u, 1) == OK
