# Portable: runs under CPython (pytest) and MicroPython (tests/mpy_runner.py), both kernels where
# the port has viper. ADPCME (payload type 1): IMA ADPCM inside an adaptive pre-/de-emphasis pair
# (docs/CODEC.md). The filters must invert each other exactly, the twins must agree bit for bit,
# the coefficient must follow the frame's spectrum, and the codec must behave on the wire like ADPCM:
# every frame decodable on its own state, bad state refused, short buffers a clear error.
from array import array

from ht.compat import kernel, is_viper
from ht.voice import codecs, emph_pure, frame
from ht.voice import transceiver as voice

N = 160


def _kernels():
    ks = [emph_pure]
    k = kernel("ht.voice.emph")
    if is_viper(k):
        ks.append(k)
    return ks


def _tone(n, period, amp, seed=1, noise=0):
    # Integer-only triangle wave (identical on both interpreters) with optional LCG noise.
    out = array("h", bytes(2 * n))
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        t = (i * 400 // period) % 400
        v = (t if t < 200 else 400 - t) - 100
        v = v * amp // 100
        if noise:
            v += ((x >> 16) % (2 * noise + 1)) - noise
        out[i] = max(-32768, min(32767, v))
    return out


def _vowel(n, period=80, amp=16000, seed=3, noise=30):
    # A voiced sound as a low voice makes it: a pulse every `period` samples (100 Hz) through two
    # one-pole low-passes (the spectrum falls ~12 dB per octave), light noise, no DC.
    out = array("h", bytes(2 * n))
    v = w = 0
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        v = ((v * 14) >> 4) + (amp if i % period == 0 else 0)
        w = ((w * 14) >> 4) + v
        out[i] = max(-32768, min(32767, (w >> 3) + ((x >> 16) % (2 * noise + 1)) - noise))
    m = sum(out) // n
    for i in range(n):
        out[i] -= m
    return out


def _alternating(n, amp):
    return array("h", [amp if i & 1 else -amp for i in range(n)])


def _speechlike(n):
    # A low vowel for 3 frames, then a bright hiss-like stretch for 3 frames.
    a = _vowel(3 * N)
    b = _tone(n - 3 * N, 3, 1500, seed=5, noise=6000)
    out = array("h", bytes(2 * n))
    for i in range(n):
        out[i] = a[i] if i < 3 * N else b[i - 3 * N]
    return out


def test_the_payload_type_is_new_and_its_state_three_bytes_like_dvi4():
    c = codecs.get(codecs.PT_ADPCME)
    assert (c.pt, c.name, c.STATE_LEN) == (1, "DVI4E", 3)
    assert codecs.PT_ADPCME not in (codecs.PT_ULAW, codecs.PT_ADPCM, codecs.PT_G726)
    assert c.payload_len(160) == 80
    assert codecs.PT_ADPCME in codecs.registered()


def test_a_receiver_without_the_codec_sees_an_unknown_payload_type():
    # What an old firmware does with the new frames: refuse them, never misread them as DVI4.
    tx = voice.Transmitter(1, 7, codecs.PT_ADPCME, 20)
    pkt = bytes(tx.encode(_tone(N, 64, 8000)))
    f = frame.Frame()
    assert frame.parse(pkt, f) == frame.OK and f.pt == codecs.PT_ADPCME
    c = codecs.get(codecs.PT_ADPCME)
    codecs.unregister(codecs.PT_ADPCME)
    try:
        assert frame.parse(pkt, f) == frame.UNKNOWN_PT
    finally:
        codecs.register(c)


def test_emphasis_and_deemphasis_invert_each_other_exactly():
    # Without the codec between them the chain is the identity, whatever q each frame uses.
    pcm = _speechlike(8 * N)
    for k in _kernels():
        tx = array("h", (0, 0, 0, 0))
        rx = array("h", (0, 0, 0, 0))
        e = array("h", bytes(2 * N))
        for f in range(8):
            x = memoryview(pcm)[f * N:(f + 1) * N]
            tx[3] = rx[3] = f % 8
            k.emphasis(x, N, e, tx)
            k.deemphasis(e, N, rx)
            assert bytes(e) == bytes(x), (k, f)
            assert tx[2] == rx[2] == x[N - 1]


def test_emphasis_saturates_instead_of_wrapping():
    for k in _kernels():
        x = _alternating(N, 30000)
        st = array("h", (0, 0, -30000, 6))
        e = array("h", bytes(2 * N))
        k.emphasis(x, N, e, st)
        # 30000 + 3/4 * 30000 does not fit 16 bits: the rail, not a wrapped negative sample
        assert e[1] == 32767 and e[2] == -32768, k
        y = array("h", [30000] * N)
        st = array("h", (0, 0, 32000, 6))
        k.deemphasis(y, N, st)
        assert min(y) == 32767 and st[2] == 32767, k


def test_twins_agree_on_odd_lengths_and_wild_states():
    sigs = (_speechlike(6 * N), _alternating(321, 32767), _tone(321, 17, 32767, noise=900),
            array("h", [-32768] * 321), array("h", bytes(642)))
    results = []
    for k in _kernels():
        for pcm in sigs:
            for n in (0, 1, 2, 159, 160, 321, len(pcm) if len(pcm) <= 480 else 480):
                for start in ((0, 0, 0, 0), (5, 3, 32767, 6), (-7, 88, -32768, 7), (0, 0, 12345, 2)):
                    st = array("h", start)
                    kk = k.choose(pcm, n, st)
                    e = array("h", bytes(2 * 480))
                    k.emphasis(pcm, n, e, st)
                    st2 = array("h", start)
                    st2[3] = kk
                    d = array("h", bytes(2 * 480))
                    for i in range(n):
                        d[i] = pcm[i] // 3
                    k.deemphasis(d, n, st2)
                    results.append((kk, list(st), bytes(e), list(st2), bytes(d)))
    half = len(results) // len(_kernels())
    for r in range(half, len(results)):
        assert results[r] == results[r - half], r


def test_a_low_voice_gets_emphasis_and_a_bright_one_does_not():
    q = emph_pure.Q
    assert 0 < q < 8
    for k in _kernels():
        st = array("h", (0, 0, 0, 0))
        assert k.choose(_vowel(N), N, st) == q, k          # 100 Hz pulses, falling 12 dB/octave
        assert st[3] == q
        assert k.choose(_alternating(N, 8000), N, st) == 0, k      # energy at 4 kHz
        assert k.choose(_tone(N, 3, 4000, noise=4000), N, st) == 0, k   # hiss
        assert k.choose(array("h", bytes(2 * N)), N, st) == 0, k   # silence
        assert st[3] == 0


def _code(c, pcm, n, lose=()):
    # Through the codec as the transmitter and receiver use it: choose, pack, encode; unpack, decode.
    tx = c.new_state()
    rx = c.new_state()
    out = array("h", bytes(2 * len(pcm)))
    ks = []
    hdr = bytearray(c.STATE_LEN)
    pay = bytearray(c.payload_len(n))
    for f in range(len(pcm) // n):
        x = memoryview(pcm)[f * n:(f + 1) * n]
        if hasattr(c, "choose"):
            ks.append(c.choose(x, n, tx))
        c.pack_state(tx, hdr, 0)
        c.encode(x, n, pay, tx)
        if f in lose:
            continue
        assert c.unpack_state(hdr, 0, rx)
        c.decode(pay, n, memoryview(out)[f * n:], rx)
    return out, ks


def _hf_error(x, y, a, b):
    # Energy of the coding error's first difference: its part above ~2 kHz, where a low voice
    # has nothing to hide it.
    s = 0
    for i in range(a + 1, b):
        d = (y[i] - x[i]) - (y[i - 1] - x[i - 1])
        s += d * d
    return s


def test_the_noise_moves_under_a_low_voice():
    # The coding error above ~2 kHz, where a low voice leaves the noise bare, halves (measured on the
    # alsa voice: -2.6 dB at 2-3 kHz, -3.7 dB at 3-4 kHz, for +4-6 dB under 1 kHz beneath the voice).
    pcm = _vowel(6 * N)
    plain, _ = _code(codecs.get(codecs.PT_ADPCM), pcm, N)
    emph, ks = _code(codecs.get(codecs.PT_ADPCME), pcm, N)
    assert min(ks[1:]) == emph_pure.Q
    assert _hf_error(pcm, emph, N, 6 * N) * 3 < _hf_error(pcm, plain, N, 6 * N) * 2


def test_a_bright_frame_is_coded_like_plain_adpcm():
    # k = 0 throughout: the same codes and output as DVI4 (the filters are the identity).
    pcm = _tone(4 * N, 3, 3000, noise=5000)
    plain, _ = _code(codecs.get(codecs.PT_ADPCM), pcm, N)
    emph, ks = _code(codecs.get(codecs.PT_ADPCME), pcm, N)
    assert ks == [0, 0, 0, 0]
    assert bytes(plain) == bytes(emph)


def test_a_lost_frame_costs_its_own_samples_and_a_short_tail():
    c = codecs.get(codecs.PT_ADPCME)
    pcm = _speechlike(8 * N)
    clean, ks = _code(c, pcm, N)
    lossy, _ = _code(c, pcm, N, lose=(2,))
    assert ks[2] > 0 or ks[3] > 0
    assert bytes(clean[:2 * N]) == bytes(lossy[:2 * N])
    # The frame after the gap starts from the decoder's stale filter sample; the difference dies
    # away as a**n, and the ADPCM state came with the frame: exact again within the frame.
    assert bytes(clean[3 * N + 100:]) == bytes(lossy[3 * N + 100:])


def test_state_round_trips_with_the_flag_in_the_index_bytes_top_bit():
    c = codecs.get(codecs.PT_ADPCME)
    q = emph_pure.Q
    for pred, index, k in ((0, 0, 0), (-1, 88, q), (32767, 1, q), (-32768, 45, 0)):
        buf = bytearray(5)
        c.pack_state(array("h", (pred, index, 999, k)), buf, 2)
        assert bytes(buf[2:5]) == bytes(((pred & 0xFFFF) >> 8, pred & 0xFF, index | (0x80 if k else 0)))
        st = array("h", (0, 0, 77, 0))
        assert c.unpack_state(buf, 2, st)
        assert list(st) == [pred, index, 77, k]       # the filter's own sample stays the decoder's
    st = array("h", (100, 10, 5, q))
    assert not c.unpack_state(b"\x00\x00\x59", 0, st)     # step index 89
    assert not c.unpack_state(b"\x00\x00\xd9", 0, st)     # ... with the flag
    assert list(st) == [100, 10, 5, q]
    # DVI4 refuses what has the flag set: a frame of one type is never taken for the other's state
    assert not codecs.get(codecs.PT_ADPCM).unpack_state(b"\x00\x00\x90", 0, array("h", (0, 0)))
    c.reset(st)
    assert list(st) == [0, 0, 0, 0]


def test_short_buffers_and_long_frames_are_a_clear_error():
    c = codecs.get(codecs.PT_ADPCME)
    pcm = array("h", bytes(2 * 481))
    for args in ((pcm, 160, bytearray(10), c.new_state()), (pcm, 481, bytearray(241), c.new_state())):
        try:
            c.encode(*args)
            assert False, "no error"
        except ValueError:
            pass
    try:
        c.decode(b"\x00" * 10, 160, pcm, c.new_state())
        assert False, "no error"
    except ValueError:
        pass
    try:
        c.choose(array("h", bytes(20)), 160, c.new_state())
        assert False, "no error"
    except ValueError:
        pass


def test_transmitter_and_receiver_carry_the_coefficient_per_frame():
    pcm = _speechlike(6 * N)
    tx = voice.Transmitter(3, 42, codecs.PT_ADPCME, 20)
    rx = voice.Receiver(frame_ms=20)
    f = frame.Frame()
    ks = []
    buf = array("h", bytes(2 * N))
    for i in range(6):
        for j in range(N):
            buf[j] = pcm[i * N + j]
        pkt = bytes(tx.encode(buf, i == 5))
        assert frame.parse(pkt, f) == frame.OK and f.pt == codecs.PT_ADPCME
        ks.append(pkt[f.state_off + 2] >> 7)
        rx.push(pkt, i * 20)
    assert ks[0] == 1 and ks[-1] == 0           # the low vowel emphasised, the hiss not
    out = array("h", bytes(2 * N))
    got = array("h")
    now = 0
    while now < 400:
        if rx.pull(now, out) == voice.VOICE:
            got.extend(out)
        now += 20
    assert len(got) >= 5 * N
    assert max(got) > 4000                     # the vowel came through at its level
