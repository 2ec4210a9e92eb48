# The self-test checks htctl bench runs on the radio: each gives a result line, and each can FAIL.
import json
from ht import VERSION
from ht.selftest import local as selftest
from ht.voice import codecs

BOARD = {
    "name": "TEST_BOARD",
    "modem": {"dialect": "A7670", "uart": {"tx": 26, "rx": 27}, "pwrkey": {"pin": 4, "active": 1}},
    "audio": {"mic": {"sck": 18, "ws": 19, "sd": 34}, "amp": {"bclk": 21, "lrc": 22, "din": 23}},
    "buttons": {"ptt": {"pin": 32, "active": 0}, "emergency": {"pin": 36, "active": 0}},
    "battery": {"pin": 35, "divider": 2.0},
}


def _one(name, env=None):
    (r,) = selftest.run([name], env or {})
    assert r["check"] == name
    return r


def test_version_reports_the_firmware_version():
    r = _one("version")
    assert r["ok"] is True and r["value"] == VERSION


def test_board_check_passes_a_good_board_and_names_it():
    r = _one("board", {"board_text": json.dumps(BOARD)})
    assert r["ok"] is True and r["value"] == "TEST_BOARD"


def test_board_check_fails_a_pin_used_twice():
    bad = json.loads(json.dumps(BOARD))
    bad["buttons"]["ptt"]["pin"] = 4  # same GPIO as PWRKEY
    r = _one("board", {"board_text": json.dumps(bad)})
    assert r["ok"] is False and "GPIO 4" in r["detail"]


def test_board_check_fails_a_flash_pin_and_a_missing_file():
    bad = json.loads(json.dumps(BOARD))
    bad["buttons"]["ptt"]["pin"] = 7
    assert _one("board", {"board_text": json.dumps(bad)})["ok"] is False
    r = _one("board", {"board": "no/such/board.json"})
    assert r["ok"] is False and "deploy" in r["detail"]


def test_config_check_reports_missing_and_bad_config():
    r = _one("config", {"config": "no/such/config.json"})
    assert r["ok"] is False and "provision" in r["detail"]
    r = _one("config", {"config_text": "{not json"})
    assert r["ok"] is False and "JSON" in r["detail"]


def test_codec_loopback_passes_with_real_codecs():
    r = _one("codec")
    assert r["ok"] is True
    assert r["value"] >= r["limit"]


class _Deaf:
    # A codec that loses the signal: the loopback check must catch it.
    name = "DVI4"
    STATE_LEN = 0

    def payload_len(self, n):
        return n

    def pack_state(self, st, buf, off):
        pass

    def unpack_state(self, buf, off, st):
        return True

    def new_state(self):
        return None

    def encode(self, pcm, n, out, st):
        pass

    def decode(self, payload, n, pcm_out, st):
        for i in range(n):
            pcm_out[i] = 0


def test_codec_loopback_fails_a_broken_codec():
    r = _one("codec", {"codecs": [codecs.get(codecs.PT_ULAW), _Deaf()]})
    assert r["ok"] is False
    assert r["value"] < r["limit"]


def test_battery_check_uses_the_hal():
    class H:
        def __init__(self, mv):
            self.mv = mv

        def battery_mv(self):
            return self.mv

    assert _one("battery", {"hal": H(3900)})["ok"] is True
    r = _one("battery", {"hal": H(3300)})
    assert r["ok"] is False and r["value"] == 3300
    assert _one("battery", {"hal": H(None)})["ok"] is None


def test_unknown_and_pending_checks_are_skipped_not_passed():
    assert _one("no_such_check")["ok"] is None
    results = selftest.run()
    names = [r["check"] for r in results]
    assert names[:3] == ["version", "board", "config"]
    assert "modem" in names and "ptt_access" in names


def test_a_crashing_check_is_a_fail_line():
    def broken(env):
        raise OSError("sensor gone")

    selftest.register("broken_test_check", broken)
    try:
        r = _one("broken_test_check")
    finally:
        selftest.CHECKS.pop("broken_test_check")
        selftest.ORDER.remove("broken_test_check")
    assert r["ok"] is False and "sensor gone" in r["detail"]


class _Mic:
    # A fake INMP441: a DC offset plus noise of `noise` LSB, and a word (a 300 Hz square of `word` LSB)
    # after `quiet` samples: the bench's quiet 2 s, then the technician counting aloud.
    def __init__(self, noise, word, quiet=16000, dc=-300):
        self.noise, self.word, self.quiet, self.dc, self.t, self.x = noise, word, quiet, dc, 0, 1

    def readinto(self, buf):
        for i in range(len(buf)):
            self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
            v = self.dc + ((self.x >> 8) % (2 * self.noise + 1)) - self.noise if self.noise else self.dc
            if self.t >= self.quiet and (self.t // 4000) & 1 == 0:
                v += self.word if (self.t // 13) & 1 else -self.word
            buf[i] = v
            self.t += 1
        return len(buf)


class _MicHal:
    def __init__(self, mic):
        self.m = mic

    def mic(self):
        return self.m


def _mic_checks(mic):
    env = {"board_text": json.dumps(BOARD), "hal": _MicHal(mic)}
    return selftest.run(["mic_noise", "mic_level"], env)


def test_mic_checks_pass_a_good_microphone():
    # ~-80 dBFS hiss when quiet, speech near -48 dBFS (INMP441 at arm's length): both pass
    noise, level = _mic_checks(_Mic(5, 130))
    assert noise["ok"] is True and -84 < noise["value"] < -74, noise
    assert level["ok"] is True and -52 < level["value"] < -44, level


def test_mic_checks_fail_a_dead_a_humming_and_a_deaf_microphone():
    noise, _ = _mic_checks(_Mic(0, 0))                     # no signal at all
    assert noise["ok"] is False and "dead" in noise["detail"]
    noise, _ = _mic_checks(_Mic(2000, 4000))               # -27 dBFS with the bench quiet
    assert noise["ok"] is False and noise["value"] > noise["limit"]
    _, level = _mic_checks(_Mic(5, 8))                     # the voice barely arrives
    assert level["ok"] is False and level["value"] < level["limit"]


def test_mic_checks_say_not_measurable_on_a_sim_hal_without_a_wav():
    class SimMic:
        simulated = True
        pcm = b""

        def readinto(self, buf):
            return len(buf)
    for r in _mic_checks(SimMic()):
        assert r["ok"] is None and "not measurable" in r["detail"]
