# Portable: runs under CPython (pytest) and MicroPython (tests/mpy_runner.py).
from array import array
from ht.voice import codecs, transceiver as voice, frame, plc


def _speechlike(n, seed=1):
    # Deterministic noisy periodic signal (no `random` module dependency).
    out = array("h", [0] * n)
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        ph = i % 61
        out[i] = (6000 - ph * 200 if ph < 30 else -1500) + ((x >> 16) % 1000) - 500
    return out


def _send(pcm, ms=20, key=None, pt=codecs.PT_ADPCM):
    tx = voice.Transmitter(101, 4242, pt, ms, key=key, seq=40000)
    n = ms * 8
    nfr = len(pcm) // n
    return [bytes(tx.encode(pcm[i * n:(i + 1) * n], last=(i == nfr - 1))) for i in range(nfr)]


def _receive(pkts, ms=20, drop=(), key=None, extra=30, max_payload=320):
    rx = voice.Receiver(key=key, start_delay_ms=60, max_payload=max_payload)
    out = array("h", [0] * 160)
    heard = array("h")
    t = 0
    per = ms // 20
    for i, p in enumerate(pkts):
        if i not in drop:
            rx.push(p, t + 45)
        for _ in range(per):
            rx.pull(t, out)
            heard.extend(out)
            t += 20
    for _ in range(extra):
        rx.pull(t, out)
        heard.extend(out)
        t += 20
    return rx, heard


def _reference(pkts):
    # What a decoder with every packet produces: one decoder, given each frame's header
    # state (ADPCM carries all of it; G.726 only a restart flag).
    f = frame.Frame()
    pcm = array("h")
    buf = array("h", [0] * 480)
    st = None
    for p in pkts:
        assert frame.parse(p, f) == frame.OK
        if st is None:
            st = f.codec.new_state()
        f.codec.unpack_state(p, f.state_off, st)
        f.codec.decode(p[f.payload_off:f.payload_off + f.payload_len], f.nsamples, buf, st)
        pcm.extend(buf[:f.nsamples])
    return pcm


def test_lossless_path_is_the_codec_delayed():
    src = _speechlike(160 * 24)
    for ms in (20, 40, 60):
        for pt in (codecs.PT_ADPCM, codecs.PT_ULAW):
            pkts = _send(src, ms, pt=pt)
            rx, heard = _receive(pkts, ms, max_payload=480)   # 60 ms of µ-law is 480 bytes
            ref = _reference(pkts)
            a = rx.burst_at
            assert a >= plc.DELAY
            for i in range(len(ref)):
                assert heard[a + i] == ref[i], (ms, pt, i)
            s = rx.stats()
            assert s["played"] == len(pkts) and s["lost"] == 0 and s["concealed_samples"] == 0


def test_decoder_resynchronises_on_the_frame_after_a_loss():
    src = _speechlike(160 * 20)
    pkts = _send(src)
    rx, heard = _receive(pkts, drop=(7,))
    ref = _reference(pkts)
    a = rx.burst_at
    # Frame 8 was already buffered, so the gap was concealed into it: exact from its first sample.
    for i in range(160 * 8, len(ref)):
        assert heard[a + i] == ref[i], i
    assert rx.stats()["lost"] == 1 and rx.stats()["concealed_samples"] == 160


def test_pull_reports_voice_concealed_silence():
    pkts = _send(_speechlike(160 * 6))
    rx = voice.Receiver(start_delay_ms=40)
    out = array("h", [0] * 160)
    assert rx.pull(0, out) == voice.SILENCE and max(out) == 0
    rx.push(pkts[0], 0)
    rx.push(pkts[2], 0)
    kinds = [rx.pull(t, out) for t in range(20, 200, 20)]
    assert kinds[:4] == [voice.SILENCE, voice.VOICE, voice.CONCEALED, voice.VOICE]


def test_bad_packets_are_counted_never_raised():
    rx = voice.Receiver(key=b"k")
    good = _send(_speechlike(160 * 2), key=b"k")
    junk = [b"", b"\x00", bytes(200), b"\x10" * 101, good[0][:-1], good[0] + b"\x00",
            bytes([0x1B]) + good[0][1:]]
    for j in junk:
        assert rx.push(j, 0) != frame.OK
    assert rx.push(_send(_speechlike(160))[0], 0) == frame.BAD_TAG   # unsigned
    assert rx.push(good[0], 0) == frame.OK
    s = rx.stats()
    assert s["rejected"] == len(junk) + 1 and s["received"] == 1


def test_receiver_ignores_other_talkgroups():
    rx = voice.Receiver(talkgroup=7)
    assert rx.push(_send(_speechlike(160))[0], 0) == frame.OK
    assert rx.stats()["wrong_talkgroup"] == 1 and rx.stats()["received"] == 0


def test_two_lost_frames_conceal_into_the_buffered_third():
    src = _speechlike(160 * 20)
    pkts = _send(src)
    rx, heard = _receive(pkts, drop=(7, 8))
    ref = _reference(pkts)
    a = rx.burst_at
    for i in range(160 * 9, len(ref)):
        assert heard[a + i] == ref[i], i
    s = rx.stats()
    assert s["lost"] == 2 and s["concealed_samples"] == 320


def test_frames_larger_than_the_slots_are_refused_not_overrun():
    rx = voice.Receiver(max_payload=160)
    pkts = _send(_speechlike(320 * 2), ms=40, pt=codecs.PT_ULAW)     # 320-byte payloads
    assert rx.push(pkts[0], 0) == frame.OK
    s = rx.stats()
    assert s["oversize"] == 1 and s["received"] == 0


def test_every_registered_codec_plays_through_the_receiver():
    had = codecs.get(2) is not None
    extra = []
    if hasattr(codecs, "enable_g726") and not had:
        extra.append(codecs.enable_g726().pt)
    try:
        src = _speechlike(160 * 10)
        for pt in codecs.registered():
            pkts = _send(src, pt=pt)
            rx, heard = _receive(pkts)
            ref = _reference(pkts)
            a = rx.burst_at
            assert rx.stats()["played"] == len(pkts), pt
            for i in range(len(ref)):
                assert heard[a + i] == ref[i], (pt, i)
    finally:
        for pt in extra:
            codecs.unregister(pt)


def test_look_ahead_does_not_disturb_a_codec_with_running_state():
    # G.726 keeps most of its state in the decoder: after a loss the frames that follow
    # must decode exactly as a decoder that simply never saw the lost one.
    if not hasattr(codecs, "enable_g726"):
        return
    had = codecs.get(2) is not None
    pt = codecs.enable_g726().pt
    try:
        src = _speechlike(160 * 16)
        pkts = _send(src, pt=pt)
        rx, heard = _receive(pkts, drop=(7,))
        ref = _reference([p for i, p in enumerate(pkts) if i != 7])
        a = rx.burst_at
        for i in range(160 * 8, len(pkts) * 160):
            assert heard[a + i] == ref[i - 160], i
    finally:
        if not had:
            codecs.unregister(pt)
