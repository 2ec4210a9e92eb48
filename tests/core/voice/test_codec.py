# Portable: runs under CPython (pytest) and MicroPython (tests/mpy_runner.py).
# What a user hears depends on these: the codec must decode exactly like every other IMA
# ADPCM / G.711 implementation, and a lost packet must not garble the rest of the burst.
import binascii
import hashlib
from array import array

from ht.compat import kernel, is_viper
from ht.voice import adpcm_pure as adpcm, adpcmt_pure as adpcmt, codecs, ulaw_pure as ulaw

# Reference vectors produced by CPython's audioop (C) from _signal(320); they pin the
# wire format (RFC 3551 nibble order) and the exact IMA arithmetic.
_ADPCM_REF = (
    "ff7680908bfb34380a80afa24308b80ae924319c809d814319c888c92532bc900c80631ac908a08632bca0"
    "0980633cc980080442cab08280371aca80a2a773aeb81380350adb81588140abe004800389c9811080188b"
    "aa43008288ec934000808dc833280a00ec942389980cd83420aa00cd03348aa08ae83430bc00ab84531cc0"
    "80a82530cb808a01748ab908080720bc880180548bc982008548bc98210844")
_ADPCM_DEC_SHA = "ae9e395ebebc98d2a937df30b81a8b2597c189faa64464df05a0aa48c12e9f8c"
_ULAW_SHA = "1c61b5f6a57bce79d4e002f0d2de02185bcc5cc3da56f8d9b1f64dc8e2d7319e"
_ULAW_DEC_SHA = "10f743140443a6de0659993f64a6913a162b3b2f619803ec148e76d92f93cac5"


def _signal(n, seed=12345):
    # Integer-only (identical on both interpreters): two triangle "formants", LCG noise
    # and a clipped loud stretch that drives the ADPCM step index to its top.
    x = seed
    out = array("h", bytes(2 * n))
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        a = (i * 37) % 400
        a = a if a < 200 else 400 - a
        b = (i * 151) % 128
        b = b if b < 64 else 128 - b
        v = (a - 100) * 90 + (b - 32) * 150 + ((x >> 16) & 1023) - 512
        if 120 <= i < 160:
            v *= 4
        out[i] = max(-32768, min(32767, v))
    return out


def _sha(buf):
    return binascii.hexlify(hashlib.sha256(bytes(buf)).digest()).decode()


def _kernels(mod_pure, name):
    # Both branches of the feature detection get exercised: the pure twin always, the
    # viper kernel wherever this interpreter can compile it.
    ks = [mod_pure]
    k = kernel("ht.voice." + name[:-len("_viper")])
    if is_viper(k):
        ks.append(k)
    return ks


def test_payload_types_follow_rtp_avp():
    assert codecs.PT_ULAW == 0 and codecs.PT_ADPCM == 5
    a = codecs.get(codecs.PT_ADPCM)
    u = codecs.get(codecs.PT_ULAW)
    assert (a.pt, a.name, a.STATE_LEN) == (5, "DVI4", 3)
    assert (u.pt, u.name, u.STATE_LEN) == (0, "PCMU", 0)
    assert codecs.get(99) is None
    assert a.payload_len(160) == 80 and a.payload_len(321) == 161
    assert u.payload_len(160) == 160


def test_adpcm_encoder_matches_reference_bytes():
    pcm = _signal(320)
    for k in _kernels(adpcm, "adpcm_viper"):
        out = bytearray(160)
        st = array("h", (-1234, 40))
        k.encode(pcm, 320, out, st)
        assert binascii.hexlify(out).decode() == _ADPCM_REF, k
        assert list(st) == [9650, 71]


def test_adpcm_decoder_matches_reference_samples():
    payload = binascii.unhexlify(_ADPCM_REF)
    for k in _kernels(adpcm, "adpcm_viper"):
        pcm = array("h", bytes(640))
        st = array("h", (-1234, 40))
        k.decode(payload, 320, pcm, st)
        assert _sha(pcm) == _ADPCM_DEC_SHA, k
        assert list(st) == [9650, 71]


def test_ulaw_matches_reference_both_ways():
    pcm = _signal(320)
    for k in _kernels(ulaw, "ulaw_viper"):
        out = bytearray(320)
        k.encode(pcm, 320, out)
        assert _sha(out) == _ULAW_SHA, k
        back = array("h", bytes(640))
        k.decode(out, 320, back)
        assert _sha(back) == _ULAW_DEC_SHA, k


def test_ulaw_every_code_survives_a_round_trip():
    # Decoding then re-encoding any of the 256 code words gives it back, except the
    # two zeros (0x7F and 0xFF both mean 0; the encoder picks 0xFF).
    c = codecs.get(codecs.PT_ULAW)
    codes = bytes(range(256))
    pcm = array("h", bytes(512))
    again = bytearray(256)
    c.decode(codes, 256, pcm, c.new_state())
    c.encode(pcm, 256, again, c.new_state())
    for u in range(256):
        assert again[u] == (0xFF if u == 0x7F else u), u


def test_viper_and_pure_twins_agree_on_odd_lengths_and_wild_states():
    pcm = _signal(321, seed=7)
    for mod, vname in ((adpcm, "adpcm_viper"), (adpcmt, "adpcmt_viper"), (ulaw, "ulaw_viper")):
        results = []
        for k in _kernels(mod, vname):
            for n in (0, 1, 2, 159, 321):
                for start in ((0, 0), (32767, 88), (-32768, 0), (5, 200), (-5, -3)):
                    out = bytearray(321)
                    st = array("h", start)
                    k.encode(pcm, n, out, st)
                    back = array("h", bytes(642))
                    st2 = array("h", start)
                    k.decode(out, n, back, st2)
                    results.append((bytes(out), list(st), bytes(back), list(st2)))
        half = len(results) // len(_kernels(mod, vname))
        for r in range(half, len(results)):
            assert results[r] == results[r - half], (vname, r)


def test_adpcm_decoded_speech_tracks_the_input():
    # 4-bit ADPCM of a smooth signal must stay close (SNR well above 15 dB), or speech
    # would come out as noise.
    c = codecs.get(codecs.PT_ADPCM)
    pcm = array("h", bytes(3200))
    for i in range(1600):
        t = (i * 37) % 400  # triangle wave, about 740 Hz
        pcm[i] = (t if t < 200 else 400 - t) * 100 - 10000
    out = bytearray(800)
    back = array("h", bytes(3200))
    c.encode(pcm, 1600, out, c.new_state())
    c.decode(out, 1600, back, c.new_state())
    sig = noise = 0
    for i in range(1600):
        sig += pcm[i] * pcm[i]
        noise += (pcm[i] - back[i]) * (pcm[i] - back[i])
    assert noise * 100 < sig  # > 20 dB


def _frames(c, pcm, n):
    # What a transmitter does: state snapshot into the header, then encode.
    st = c.new_state()
    frames = []
    for f in range(len(pcm) // n):
        hdr = bytearray(c.STATE_LEN)
        c.pack_state(st, hdr, 0)
        out = bytearray(c.payload_len(n))
        c.encode(memoryview(pcm)[f * n:(f + 1) * n], n, out, st)
        frames.append((hdr, out))
    return frames


def test_lost_packet_does_not_desynchronise_the_decoder():
    c = codecs.get(codecs.PT_ADPCM)
    n = 160
    pcm = _signal(n * 6, seed=99)
    frames = _frames(c, pcm, n)
    clean = array("h", bytes(2 * n * 6))
    lossy = array("h", bytes(2 * n * 6))
    st_clean = c.new_state()
    st_lossy = c.new_state()
    for f, (hdr, out) in enumerate(frames):
        c.decode(out, n, memoryview(clean)[f * n:], st_clean)
        if f == 2:
            continue  # lost on the air: the decoder state is now stale
        assert c.unpack_state(hdr, 0, st_lossy)
        c.decode(out, n, memoryview(lossy)[f * n:], st_lossy)
    assert bytes(clean[3 * n:]) == bytes(lossy[3 * n:])
    assert bytes(clean[:2 * n]) == bytes(lossy[:2 * n])


def test_state_packs_big_endian_and_round_trips():
    c = codecs.get(codecs.PT_ADPCM)
    for pred, index in ((0, 0), (-1, 88), (32767, 1), (-32768, 45), (258, 3)):
        buf = bytearray(5)
        c.pack_state(array("h", (pred, index)), buf, 2)
        assert buf[2] == (pred & 0xFFFF) >> 8 and buf[3] == pred & 0xFF and buf[4] == index
        st = c.new_state()
        assert c.unpack_state(buf, 2, st)
        assert list(st) == [pred, index]


def test_corrupt_state_is_refused_and_leaves_decoder_alone():
    c = codecs.get(codecs.PT_ADPCM)
    st = array("h", (100, 10))
    assert not c.unpack_state(b"\x12\x34\x59", 0, st)
    assert list(st) == [100, 10]
    c.reset(st)
    assert list(st) == [0, 0]


def test_short_buffers_are_a_clear_error_not_memory_corruption():
    for pt in (codecs.PT_ADPCM, codecs.PT_ULAW):
        c = codecs.get(pt)
        pcm = array("h", bytes(320))
        for args in ((pcm, 160, bytearray(10), c.new_state()), (pcm, 200, bytearray(400), c.new_state())):
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


def test_registry_accepts_new_codecs_and_kernel_switch_reports_itself():
    class Dummy:
        pt = 96
        name = "TEST"
    codecs.register(Dummy())
    assert codecs.get(96).name == "TEST"
    try:
        assert codecs.use_viper(False) is False
        assert codecs.USING_VIPER is False
        assert codecs.get(codecs.PT_ADPCM).kernel is adpcm
        on = codecs.use_viper(True)
        assert on == codecs.USING_VIPER
        assert on == (len(_kernels(adpcm, "adpcm_viper")) == 2)
    finally:
        codecs.use_viper(True)
        codecs._registry.pop(96, None)


# ---- G.726-32 (opt-in payload type 2) ----------------------------------------------------------

# ITU-conformant reference (spandsp's G.726, linear 14-bit mode) on _signal(320), codes packed
# RFC 3551 style (first sample in the low nibble). The decoded hash is spandsp's output with its
# four overload samples (128, 135, 147, 150: 32136, -30728, -31344, 31636, i.e. sr << 2 wrapped
# to 16 bits — a loud click) replaced by what we output there: -32768, 32764, 32764, -32768.
_G726_REF = (
    "88787777f788fe2212219fd941332ee3c81e33e2128fdd32231df2d81e43d1118fed3113fdd1c93b56ef1eacca"
    "63e6dfceac3c27fffdfcea63e5cfbde85b17c2eb1ae9743fccbd841116d1fa4b1973213d2e1f4f24b3ade42c54"
    "42ab4bed3132a3cce31ef314bc3c2e3e4fa1db11f22345c8e1211f51afeae1f61ee7bee141c242ddda4f242df5"
    "b9dd46df24cdd97bf1ffd2ddeb45ff1efdbb7ef1fffeddeb56")
_G726_DEC_SHA = "4d828467921c024814b996cf91188bdc9e41dc5c3018c57e81e4c2407872fe87"


def _with_g726(fn):
    # G.726 is opt-in (codecs.enable_g726); never leave it registered for other tests.
    had = codecs.get(codecs.PT_G726)
    try:
        return fn(codecs.enable_g726())
    finally:
        if had is None:
            codecs.unregister(codecs.PT_G726)


def test_g726_is_opt_in():
    assert codecs.PT_G726 == 2
    if codecs.get(2) is None:
        def check(c):
            from ht.voice import g726_pure as g726
            assert codecs.get(2) is c and (c.name, c.STATE_LEN, c.payload_len(160)) == ("G726-32", 37, 80)
            assert 2 in codecs.registered()
            try:
                codecs.use_viper(False)
                assert c.kernel is g726
                viper = codecs.use_viper(True)
                assert (c.kernel is not g726) == viper
            finally:
                codecs.use_viper(True)
        _with_g726(check)
        assert codecs.get(2) is None


def test_g726_matches_reference_both_ways():
    from ht.voice import g726_pure as g726
    pcm = _signal(320)
    for k in _kernels(g726, "g726_viper"):
        out = bytearray(160)
        k.encode(pcm, 320, out, g726.new_state())
        assert binascii.hexlify(out).decode() == _G726_REF, k
        back = array("h", bytes(640))
        k.decode(out, 320, back, g726.new_state())
        assert _sha(back) == _G726_DEC_SHA, k


def test_g726_viper_and_pure_twins_agree():
    from ht.voice import g726_pure as g726
    pcm = _signal(401, seed=3)
    noise = bytes(pcm)[:201]
    res = []
    ks = _kernels(g726, "g726_viper")
    for k in ks:
        for n in (0, 1, 160, 401):
            st = g726.new_state()
            out = bytearray(201)
            k.encode(pcm, n, out, st)
            st2 = g726.new_state()
            back = array("h", bytes(802))
            k.decode(noise, n, back, st2)   # arbitrary codes: overload and saturation
            res.append((bytes(out), list(st), bytes(back), list(st2)))
    half = len(res) // len(ks)
    for r in range(half, len(res)):
        assert res[r] == res[r - half], r


def test_g726_new_burst_resynchronises_a_stale_decoder():
    def check(c):
        n = 160
        pcm = _signal(n * 4, seed=11)
        tx = c.new_state()
        rx = c.new_state()
        hdr = bytearray(c.STATE_LEN)
        out = bytearray(80)
        junk = array("h", bytes(2 * n))
        for f in range(2):  # burst 1: both sides run, then the decoder misses its end
            c.pack_state(tx, hdr, 0)
            c.encode(memoryview(pcm)[f * n:], n, out, tx)
            c.unpack_state(hdr, 0, rx)
            c.decode(out, n, junk, rx)
        c.reset(tx)  # PTT pressed again: burst 2
        fresh = c.new_state()
        a = array("h", bytes(2 * n))
        b = array("h", bytes(2 * n))
        for f in range(2, 4):
            c.pack_state(tx, hdr, 0)
            assert (hdr[0] == 0) == (f == 2)
            c.encode(memoryview(pcm)[f * n:], n, out, tx)
            assert c.unpack_state(hdr, 0, rx)
            c.unpack_state(hdr, 0, fresh)
            c.decode(out, n, a, rx)
            c.decode(out, n, b, fresh)
            assert bytes(a) == bytes(b)
    _with_g726(check)


def test_g726_sync_byte_counts_frames_and_skips_zero():
    def check(c):
        st = c.new_state()
        hdr = bytearray(c.STATE_LEN)
        seen = []
        pcm = array("h", bytes(4))
        out = bytearray(1)
        for f in range(600):
            c.pack_state(st, hdr, 0)
            seen.append(hdr[0])
            c.encode(pcm, 2, out, st)
        assert seen[0] == 0 and seen[1] == 1 and seen[255] == 255 and seen[256] == 1
        assert 0 not in seen[1:]
    _with_g726(check)


def test_g726_frame_after_a_loss_decodes_exactly_and_bad_snapshots_are_refused():
    # The snapshot in each header puts a decoder that lost frames back in step on the first
    # sample; one that lost nothing ignores it (its own state is the same, bit for bit).
    def check(c):
        n = 160
        pcm = _signal(n * 6, seed=5)
        tx, a_st, b_st = c.new_state(), c.new_state(), c.new_state()
        hdr = bytearray(c.STATE_LEN)
        out = bytearray(80)
        a = array("h", bytes(2 * n))
        b = array("h", bytes(2 * n))
        for f in range(6):
            c.pack_state(tx, hdr, 0)
            c.encode(memoryview(pcm)[f * n:], n, out, tx)
            assert c.unpack_state(hdr, 0, a_st)
            c.decode(out, n, a, a_st)
            if f in (1, 2):
                continue              # b loses frames 1 and 2
            assert c.unpack_state(hdr, 0, b_st)
            c.decode(out, n, b, b_st)
            assert bytes(a) == bytes(b), f
            assert list(a_st) == list(b_st)
        # A snapshot no encoder makes (fast scale factor out of range): refused, state kept.
        bad = bytearray(hdr)
        bad[3] = 0xFF
        bad[4] = 0xFF
        keep = list(b_st)
        b_st[25] += 1                 # out of step, so the snapshot would be loaded
        keep[25] = b_st[25]
        assert c.unpack_state(bad, 0, b_st) is False and list(b_st) == keep
    _with_g726(check)
