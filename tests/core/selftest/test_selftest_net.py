# Portable (CPython + MicroPython): the pieces of the bench self-test that need no modem.
from ht.selftest import net as N
from ht.selftest import voice as V


def test_audio_loopback_of_the_test_tone_through_the_voice_path():
    snr = V.audio_snr_db()
    assert snr is not None and 18.0 <= snr < 40.0     # ADPCM on a two-tone signal: ~22 dB


def test_audio_loopback_with_a_fleet_key_and_with_20_and_40_ms_frames():
    assert V.audio_snr_db(frame_ms=40, key=b"k" * 16) >= 18.0


def test_audio_loopback_detects_a_path_that_delivers_nothing():
    # a receiver that rejects every frame (wrong fleet key): no audio comes out, the check must fail
    assert V.audio_snr_db(key=b"a" * 16, rx_key=b"b" * 16) is None


def test_broker_url_forms():
    assert N.broker_addr("mqtt://127.0.0.1:18830") == ("127.0.0.1", 18830, False)
    assert N.broker_addr("mqtts://broker.kota.go.id") == ("broker.kota.go.id", 8883, True)
    assert N.broker_addr("mqtt://broker") == ("broker", 1883, False)
    # broker.tls asks for TLS whatever the scheme (the radio's boot reads the same two settings)
    assert N.broker_addr("mqtt://broker", True) == ("broker", 8883, True)
    assert N.broker_addr("mqtt://broker:9883", True) == ("broker", 9883, True)
    from ht.radio import boot as B
    assert B.broker_addr("mqtts://b") == ("b", 8883, True) and B.broker_addr("mqtt://b:1", False) == ("b", 1, False)


class _S:
    def __init__(self, results):
        self.results = results


def test_a_check_whose_prerequisite_failed_names_it():
    s = _S({"sim": {"ok": False}, "modem": {"ok": True}})
    r = N.Session.blocked(s, "registration", "modem", "sim")
    assert r["ok"] is False and "sim check failed" in r["detail"]
    assert N.Session.blocked(s, "sim", "modem") is None


def test_a_skipped_prerequisite_skips_its_dependants():
    s = _S({"broker": {"ok": None}})
    r = N.Session.blocked(s, "ptt_access", "broker")
    assert r["ok"] is None and "skipped" in r["detail"]
