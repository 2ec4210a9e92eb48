# Voice receive guard: forged tags, spoofed sources/talkgroups and replays are dropped and counted;
# a rebooted source (a later epoch) is heard again at once; a recording of an earlier boot never is, even
# after presence or a crowd of other talkers (issue 11: both reset the window); no key, no voice.
from array import array
from ht.voice import transceiver as voice, codecs, frame
from ht.radio.guard import VoiceGuard, unit_num, tg_num, OK, SPOOFED, REPLAYED, NO_KEY

KEY = b"fleet-key"


def burst(unit="u07", tg="1", n=5, seq=100, key=KEY, epoch=7):
    tx = voice.Transmitter(tg_num(tg), unit_num(unit), codecs.PT_ADPCM, 20, key, seq, epoch=epoch)
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


def test_a_rebooted_source_is_heard_at_once_and_its_old_boot_never_again():
    g = VoiceGuard(KEY)
    u, t = unit_num("u07"), tg_num("1")
    before = burst(seq=5000, n=3, epoch=7)
    for f in before:
        assert g.check(f, u, t) == OK
    after = burst(seq=100, n=3, epoch=8)      # rebooted: a later epoch, its sequence restarted anywhere
    assert [g.check(f, u, t) for f in after] == [OK, OK, OK]
    assert [g.check(f, u, t) for f in before] == [REPLAYED] * 3


def test_epochs_compare_across_the_24_bit_wrap():
    g = VoiceGuard(KEY)
    u, t = unit_num("u07"), tg_num("1")
    assert g.check(burst(epoch=0xFFFFFF, n=1)[0], u, t) == OK
    assert g.check(burst(epoch=0, seq=3, n=1)[0], u, t) == OK           # 0 follows 0xFFFFFF
    assert g.check(burst(epoch=0xFFFFFF, seq=9, n=1)[0], u, t) == REPLAYED


def _attack(between):
    # Record a burst, let `between` happen, replay the recording: 20 frames.
    g = VoiceGuard(KEY)
    u, t = unit_num("u07"), tg_num("1")
    rec = burst(seq=300, n=20)
    for f in rec:
        assert g.check(f, u, t) == OK
    between(g)
    return [g.check(f, u, t) for f in rec]


def test_replay_after_sixteen_and_a_hundred_other_talkers_is_refused():
    def crowd(n):
        def run(g):
            for k in range(n):
                for f in burst(unit=str(1000 + k), n=2):
                    assert g.check(f, 1000 + k, tg_num("1")) == OK
        return run
    assert _attack(crowd(16)) == [REPLAYED] * 20
    assert _attack(crowd(100)) == [REPLAYED] * 20      # the window went, the remembered (epoch, top) stays


def test_the_source_keeps_talking_after_losing_its_window_to_others():
    g = VoiceGuard(KEY)
    u, t = unit_num("u07"), tg_num("1")
    for f in burst(seq=300, n=5):
        g.check(f, u, t)
    for k in range(40):
        g.check(burst(unit=str(2000 + k), n=1)[0], 2000 + k, t)
    assert [g.check(f, u, t) for f in burst(seq=305, n=5)] == [OK] * 5


def test_a_radio_without_a_key_takes_no_voice():
    g = VoiceGuard(None)
    for f in burst(key=None, n=3) + burst(n=2):
        assert g.check(f, unit_num("u07"), tg_num("1")) == NO_KEY
    assert g.stats()["no key"] == 5 and g.accepted == 0


def test_many_sources_share_the_table():
    g = VoiceGuard(KEY)
    for u in range(300):
        for f in burst(unit=str(u), n=2):
            assert g.check(f, u, 1) == OK
