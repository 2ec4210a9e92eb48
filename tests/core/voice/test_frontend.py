# Portable: runs under CPython (pytest) and MicroPython (tests/firmware/test_mpy_tier.py).
# The microphone front end and the speaker's leveller (ht/voice/frontend.py on the level kernel).
import math
from array import array
from ht.compat import kernel
from ht.voice import frontend, level_pure


def _tone(n, hz, amp, dc=0, start=0):
    return array("h", [int(dc + amp * math.sin(2 * math.pi * hz * (start + i) / 8000)) for i in range(n)])


def _noise(n, amp, seed=1):
    out = array("h", bytes(2 * n))
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out[i] = ((x >> 8) % (2 * amp + 1)) - amp
    return out


def _rms(x, a=0, b=None):
    b = len(x) if b is None else b
    s = 0
    for i in range(a, b):
        s += x[i] * x[i]
    return math.sqrt(s / max(1, b - a))


def _run(fe, x, n=160):
    out = array("h", x)
    buf = array("h", bytes(2 * n))
    for f in range(len(x) // n):
        for i in range(n):
            buf[i] = out[f * n + i]
        fe.process(buf, n)
        for i in range(n):
            out[f * n + i] = buf[i]
    return out


def _fixed():
    # high-pass only: unity gain, no AGC, no gate, no fade
    return frontend.Level(True, False, 0, -20, -20, 40, False, 9, -80, 400, -12, 0, -60)


def test_dc_and_hum_removed_speech_band_kept():
    fe = _fixed()
    fe.begin()
    hum = _run(fe, _tone(8000, 50, 3000, dc=800))
    assert abs(sum(hum[4000:]) / 4000) < 2                      # DC gone
    assert _rms(hum, 4000) < _rms(_tone(4000, 50, 3000)) / 30     # 50 Hz hum down more than 30 dB
    fe.reset()
    voice = _run(fe, _tone(8000, 500, 3000, dc=800))
    assert 0.8 < _rms(voice, 4000) / _rms(_tone(4000, 500, 3000)) < 1.3   # 500 Hz passes


def test_never_clips_even_when_shouted_into():
    fe = frontend.mic_frontend()
    fe.begin()
    loud = array("h", [30000 if (i // 20) & 1 else -30000 for i in range(8000)])
    out = _run(fe, loud)
    assert max(out) <= 29300 and min(out) >= -29300
    assert max(out) > 2000         # brought down by the limiter and the AGC, not muted


def test_quiet_talker_brought_up_to_target():
    fe = frontend.mic_frontend()
    fe.begin()
    x = array("h")
    for k in range(10):            # "syllables" of a 440 Hz tone at about -45 dBFS, with pauses
        x.extend(_tone(1600, 440, 260))
        x.extend(array("h", bytes(2 * 800)))
    out = _run(fe, x)
    lvl = 20 * math.log10(_rms(out, 9 * 2400 + 320, 9 * 2400 + 1600) / 32768)
    assert -26 < lvl < -14, lvl


def test_loud_talker_brought_down_within_a_word():
    # Speech 20 dB above what the calibration expects (the radio held to the mouth): the limiter would
    # squash it; within 80 ms of loud speech the AGC must be within 6 dB of its gain for that talker (+5 dB
    # for -25 dBFS to -20; the limiter takes the rest), not a second later. The syllable starts softly (its
    # first 40 ms at the calibrated level): that is where the AGC's envelope starts from.
    fe = frontend.mic_frontend(denoise=False)
    fe.begin()
    x = _tone(320, 440, 150)              # ~ -50 dBFS: the onset
    x.extend(_tone(640, 440, 2600, start=320))    # ~ -25 dBFS RMS, 80 ms
    _run(fe, x)
    assert fe.gain_db_x10() < 110, fe.gain_db_x10()       # the slow attack alone: still +13 dB


def test_gate_quiets_the_channel_between_words_after_hangover():
    fe = frontend.mic_frontend(denoise=False)
    fe.begin()
    words = _tone(8000, 300, 600)
    noise = _noise(8000, 20)
    x = array("h", list(noise[:2400]) + list(words) + list(noise) + list(words))
    out = _run(fe, x)
    gap = 10400                                      # the pause between the two words
    open_ = _rms(out, gap, gap + 2400)               # hangover: the noise right after the word stays
    shut = _rms(out, gap + 4800, gap + 8000)         # past the hangover: gate down
    assert shut < open_ / 3, (shut, open_)
    assert 20 * math.log10(shut / 32768 + 1e-9) < -40
    assert _rms(out, gap + 8000 + 800, gap + 8000 + 2400) > 10 * shut   # the next word is not chopped


def test_fade_in_at_key_up_no_pop():
    fe = frontend.mic_frontend()
    fe.begin()
    x = _tone(1600, 440, 3000, dc=2000)
    out = _run(fe, x)
    for i in range(16):
        assert abs(out[i]) < 800, (i, out[i])
    assert _rms(out, 800, 1600) > 5 * _rms(out, 0, 32)


def test_viper_and_pure_twins_bit_identical():
    k = kernel("ht.voice.level")
    p = kernel("ht.voice.level", False)
    assert p is level_pure
    x = array("h", _noise(3200, 9000, 7))
    for i in range(1600, 2400):
        x[i] = x[i] >> 6                         # a quiet stretch: the gate closes, the AGC holds
    for make in (lambda: frontend.mic_frontend(denoise=False), frontend.rx_leveller, _fixed):
        a = make()
        b = make()
        a, b = getattr(a, "level", a), getattr(b, "level", b)
        a.begin()
        b.begin()
        for f in range(20):
            ba = array("h", x[f * 160:(f + 1) * 160])
            bb = array("h", ba)
            k.process(ba, 160, a.st)
            p.process(bb, 160, b.st)
            assert ba == bb, f
            assert a.st == b.st, f


def test_leveller_brings_quiet_and_loud_senders_together():
    levels = []
    for amp in (800, 12000):
        lev = frontend.rx_leveller(-20)
        out = _run(lev, _tone(16000, 440, amp))
        levels.append(20 * math.log10(_rms(out, 8000) / 32768))
    assert abs(levels[0] - levels[1]) < 3, levels


def test_leveller_plays_a_new_talkers_first_word_at_the_volume_not_squashed():
    # A sender's front end delivers speech near -20 dBFS; each word starts softly. The leveller (volume at
    # -26 dBFS) must play the first word near -26 dBFS from its start. Learning the level from the first
    # voiced block (the soft onset) put the gain at +18 dB and the limiter held the word near full scale.
    lev = frontend.rx_leveller(-26)
    lev.reset()
    x = _tone(160, 440, 150)                          # ~ -50 dBFS: the onset
    x.extend(_tone(1600, 440, 4600, start=160))       # ~ -20 dBFS RMS, 200 ms
    out = _run(lev, x)
    lvl = 20 * math.log10(_rms(out, 320, 1760) / 32768)
    assert -29 < lvl < -23, lvl


def test_a_soft_onset_does_not_set_the_mic_gain():
    # The AGC starts from the calibrated gain (INMP441, speech at 72 dB SPL: +28 dB) and moves slowly; the
    # first voiced block, often a soft onset, once set the envelope alone and put the gain at its ceiling
    # (+40 dB) in a quiet room: a talker close to the mic was then squashed by the limiter.
    fe = frontend.mic_frontend(denoise=False)
    fe.begin()
    x = _noise(3200, 8)                          # a quiet room, ~ -75 dBFS: the noise floor falls to it
    x.extend(_tone(320, 440, 60))                # a soft onset, ~ -58 dBFS, 40 ms
    _run(fe, x)
    assert 250 <= fe.gain_db_x10() <= 310, fe.gain_db_x10()


def _buzz_burst(n, amp, a, b):
    # the modem's TDMA buzz (a 577 us pulse every 4.615 ms, 18 harmonics, DC-free) from sample a to b
    out = array("h", bytes(2 * n))
    for i in range(a, b):
        v = 0.0
        for h in range(1, 17):
            c = math.sin(math.pi * h * 0.125) / (math.pi * h)
            v += c * math.cos(2 * math.pi * h * (i - 3.3) * 13 / 480 - math.pi * h * 0.125)
        out[i] = int(amp * 4 * v)
    return out


def _at_buzz(x, a, b):
    # energy at the buzz's harmonics 4..15 (0.9-3.3 kHz: clear of the 700 Hz talker)
    e = 0.0
    for h in range(4, 16):
        w = 2 * math.pi * h * 13 / 480
        re = im = 0.0
        for i in range(a, b):
            re += x[i] * math.cos(w * i)
            im += x[i] * math.sin(w * i)
        e += re * re + im * im
    return e


def test_the_buzz_canceller_runs_first_and_mic_buzz_turns_it_off():
    # A buzz burst under a talker: the front end's output (fixed gain, so the two runs compare) carries
    # less of it with the canceller than without, and with no buzz the two give the same samples.
    on = frontend.mic_frontend(agc=False)
    off = frontend.mic_frontend(agc=False, buzz=False)
    assert on.buzz is not None and off.buzz is None
    assert frontend.mic_frontend().buzz is not None            # on by default
    n = 8000
    talk = _tone(n, 700, 700)
    bz = _buzz_burst(n, 400, 2400, 6400)
    x = array("h", [talk[i] + bz[i] for i in range(n)])
    res = []
    for fe in (on, off):
        fe.begin()
        out = _run(fe, x)
        res.append(_at_buzz(out, 3200, 6400))
        fe.reset()
    assert res[0] < res[1] / 10, res                      # the buzz 10 dB lower at least
    on.reset()
    off.reset()
    on.begin()
    off.begin()
    assert _run(on, talk) == _run(off, talk)              # nothing to cancel: the same samples
