# Portable: runs under CPython (pytest) and MicroPython (tests/mpy_runner.py).
from array import array
from ht.voice import plc


def _voiced(n, period=57, start=0):
    # A pulse-train-like periodic wave: a crude voiced vowel at 8000/57 = 140 Hz.
    out = array("h", [0] * n)
    for i in range(n):
        ph = (start + i) % period
        out[i] = (9000 - ph * 300) if ph < 30 else -2000
    return out


def _energy(x, a, b):
    e = 0
    for i in range(a, b):
        e += (x[i] >> 4) * (x[i] >> 4)
    return e


def test_pitch_found_for_periodic_signal():
    x = _voiced(390, period=57)
    assert plc.find_pitch(x, 390) == 57
    x = _voiced(390, period=100)
    assert plc.find_pitch(x, 390) == 100


def test_concealment_continues_the_waveform_then_fades_to_silence_by_60ms():
    c = plc.Concealer()
    out = array("h", [0] * 160)
    heard = array("h")
    for k in range(5):
        f = _voiced(160, start=k * 160)
        c.good(f, 160)
        heard.extend(f)
    for k in range(5):                    # 100 ms of loss
        c.bad(out, 160)
        heard.extend(out)
    loss_at = 800 + plc.DELAY             # where the loss shows in the (delayed) output
    # First 10 ms of the loss: close to the true continuation, not silence.
    ref = _voiced(80, start=800)
    err = 0
    for i in range(80):
        d = heard[loss_at + i] - ref[i]
        err += (d >> 4) * (d >> 4)
    assert err < _energy(ref, 0, 80) // 10
    # Fading: second half of the fade quieter than the first 10 ms, silent from 60 ms on.
    assert _energy(heard, loss_at + 320, loss_at + 400) < _energy(heard, loss_at, loss_at + 80) // 2
    for i in range(loss_at + 480, len(heard)):
        assert heard[i] == 0, i
    assert c.concealed == 800


def test_good_frame_after_loss_is_merged_then_exact():
    c = plc.Concealer()
    out = array("h", [0] * 160)
    for k in range(4):
        c.good(_voiced(160, start=k * 160), 160)
    c.bad(out, 160)
    f = _voiced(160, start=800)
    c.good(f, 160)
    g = _voiced(160, start=960)
    c.good(g, 160)
    # After the 4 ms overlap-add the output is the good signal again, sample for sample.
    ref = _voiced(160, start=960 - plc.DELAY)
    for i in range(160):
        assert g[i] == ref[i], i


def test_idle_drains_delay_line_to_silence():
    c = plc.Concealer()
    f = _voiced(160)
    c.good(f, 160)
    out = array("h", [0] * 160)
    c.silence(out, 160)
    assert out[0] != 0 or out[plc.DELAY - 1] != 0    # the held-back tail comes out first
    c.silence(out, 160)
    assert max(out) == 0 and min(out) == 0


def test_gap_with_the_next_frame_known_leads_into_it():
    c = plc.Concealer()
    for k in range(4):
        c.good(_voiced(160, start=k * 160), 160)
    nxt = _voiced(160, start=800)          # frame after the gap (already in the jitter buffer)
    out = array("h", [0] * 160)
    c.bad(out, 160, nxt, 160)              # frame 5 (samples 640..799) is lost
    heard = array("h", out)
    g = array("h", nxt)
    c.good(g, 160)                         # no merge needed: the gap ended in this frame
    heard.extend(g)
    # Around the seam between the gap and the next frame the output is the true waveform.
    ref = _voiced(320, start=640 - plc.DELAY)
    for i in range(160 + plc.DELAY - 20, 320):
        assert abs(heard[i] - ref[i]) < 200, i
    assert c.concealed == 160


def test_two_frame_gap_fades_across_into_the_frame_after():
    c = plc.Concealer()
    for k in range(4):
        c.good(_voiced(160, start=k * 160), 160)
    nxt = _voiced(160, start=960)          # frames 4 and 5 lost, frame 6 buffered
    out = array("h", [0] * 160)
    c.bad(out, 160, nxt, 320)
    assert c.erased                        # still inside the gap
    c.bad(out, 160, nxt, 160)
    assert not c.erased                    # ended in frame 6: no merge pending
    g = array("h", nxt)
    c.good(g, 160)
    ref = _voiced(160, start=960 - plc.DELAY)
    for i in range(plc.DELAY, 160):
        assert g[i] == ref[i], i


def _kernels():
    from ht.compat import kernel, is_viper
    ks = [kernel("ht.voice.pcmcopy", False)]
    k = kernel("ht.voice.pcmcopy")
    if is_viper(k):
        ks.append(k)   # CPython: only the pure twin exists (and is what runs)
    return ks


def test_copy_kernels_match_plain_python_and_each_other():
    import sys
    ks = _kernels()
    if sys.implementation.name == "micropython":
        assert len(ks) == 2 and plc._copy is ks[1]     # the viper kernels are in use
    src = array("h", [((i * 7919) % 65536) - 32768 for i in range(400)])
    raw = bytes([(i * 31) & 0xFF for i in range(300)])
    results = []
    for k in ks:
        ring = array("h", [0] * 512)
        for i in range(512):
            ring[i] = (i * 13) - 3000
        pcm = array("h", src[:160])
        k.ring_io(ring, 500, pcm, 160, plc.DELAY)    # crosses the ring's wrap
        d16 = array("h", [1] * 200)
        k.copy16(d16, 17, src, 33, 150)
        k.zero16(d16, 3)
        d8 = bytearray(100)
        k.copy8(d8, raw, 201, 99)
        k.copy8(d8, memoryview(raw), 0, 0)
        results.append((list(ring), list(pcm), list(d16), bytes(d8)))
    ring, pcm, d16, d8 = results[0]
    for i in range(160):
        assert ring[(500 + i) & 511] == src[i]
        assert pcm[i] == ((((500 - plc.DELAY + i) & 511) * 13) - 3000 if i < plc.DELAY else src[i - plc.DELAY])
    assert d16[17:167] == list(src[33:183]) and d16[16] == 1 and d16[167] == 1
    assert d16[:3] == [0, 0, 0] and d16[3] == 1
    assert d8[:99] == raw[201:300] and d8[99] == 0
    for r in results[1:]:
        assert r == results[0]


def _scenario():
    # Loud and quiet voiced speech-like frames with losses of 1-4 frames, with and
    # without the frame after the gap: exercises every synthesis branch.
    c = plc.Concealer()
    heard = array("h")
    out = array("h", [0] * 160)
    x = 12345
    t = 0
    for gap, with_ahead, amp in ((1, False, 8), (1, True, 1), (2, True, 4), (3, False, 8),
                                 (4, True, 8), (6, False, 2)):
        for k in range(3):
            f = _voiced(160, period=47 + 9 * gap, start=t)
            for i in range(160):
                x = (x * 1103515245 + 12345) & 0x7FFFFFFF
                f[i] = max(-32768, min(32767, (f[i] * amp) // 4 + ((x >> 16) % 2001) - 1000))
            t += 160
            c.good(f, 160)
            heard.extend(f)
        nxt = _voiced(160, start=t + 160 * gap)
        for g in range(gap):
            if with_ahead:
                c.bad(out, 160, nxt, 160 * (gap - g))
            else:
                c.bad(out, 160)
            heard.extend(out)
        t += 160 * gap
    return heard


def test_viper_concealment_is_bit_identical_to_the_pure_twin():
    from ht.compat import kernel, is_viper
    plc_pure = kernel("ht.voice.plc", False)
    pure = _scenario() if plc._k is plc_pure else None
    saved = plc._k
    try:
        plc._k = plc_pure
        ref = _scenario()
        plc_viper = kernel("ht.voice.plc")
        if not is_viper(plc_viper):
            assert pure is not None and pure == ref   # CPython: the twin is what runs
            return
        assert saved is plc_viper                       # MicroPython: viper is in use
        plc._k = plc_viper
        got = _scenario()
    finally:
        plc._k = saved
    assert len(got) == len(ref)
    for i in range(len(ref)):
        assert got[i] == ref[i], i
    # and the pitch search on its own, across signal levels (different pre-shifts)
    for amp in (1, 3, 40, 300):
        x = array("h", [((i * 37) % 61 - 30) * amp for i in range(390)])
        plc._k = plc_pure
        a = plc.find_pitch(x, 390)
        plc._k = plc_viper
        b = plc.find_pitch(x, 390)
        plc._k = saved
        assert a == b, amp
