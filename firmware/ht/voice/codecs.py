# Payload type -> codec registry. Numbers follow the RTP/AVP static table (RFC 3551
# §6) so a capture reads naturally in Wireshark: PCMU = 0, DVI4/8000 = 5.
# Every codec object has the same small surface (see docs/CODEC.md); encode/decode
# write into caller-owned buffers and never allocate, so the audio path can run per
# frame on the ESP32 without feeding the garbage collector.
from array import array
from ht.compat import const, kernel, is_viper
from ht.voice import emph_pure as _emph_pure

PT_ULAW = 0
PT_ADPCME = 1  # IMA ADPCM with adaptive pre-emphasis (ours; 1 is reserved/unused in RFC 3551)
PT_G726 = 2   # RFC 1890's static number (RFC 3551 moved G726-32 to dynamic; we keep 2)
PT_ADPCM = 5

USING_VIPER = False
_registry = {}


def _short(pcm, npcm, data, ndata):
    # Called once per frame; the viper kernels would write past a short buffer.
    if len(pcm) < npcm or len(data) < ndata:
        raise ValueError("buffer too short for %d samples" % npcm)


class ADPCM:
    # IMA/DVI ADPCM, 4 bits/sample: 32 kbit/s at 8 kHz. The state at the start of each
    # frame (predictor, step index) rides in the frame header, so a lost packet costs
    # only its own samples: the next one resynchronises the decoder exactly.
    pt = PT_ADPCM
    name = "DVI4"
    STATE_LEN = 3
    rate = 8000
    bits = 4

    def __init__(self, kernel, encoder=None):
        self.kernel = kernel
        # The trellis encoder (ht/voice/adpcmt_pure.py): same decoder, better codes (PESQ 3.46 ->
        # 3.57). None = the reference encoder (use_trellis(False)).
        self.encoder = encoder

    def payload_len(self, nsamples):
        return (nsamples + 1) >> 1

    def new_state(self):
        return array("h", (0, 0))

    def reset(self, st):
        st[0] = 0
        st[1] = 0

    def encode(self, pcm, nsamples, out, st):
        _short(pcm, nsamples, out, (nsamples + 1) >> 1)
        e = self.encoder
        if e is not None and nsamples <= 480:
            e.encode(pcm, nsamples, out, st)
        else:
            self.kernel.encode(pcm, nsamples, out, st)

    def decode(self, payload, nsamples, pcm_out, st):
        _short(pcm_out, nsamples, payload, (nsamples + 1) >> 1)
        self.kernel.decode(payload, nsamples, pcm_out, st)

    def pack_state(self, st, buf, off):
        p = st[0] & 0xFFFF
        buf[off] = p >> 8
        buf[off + 1] = p & 0xFF
        buf[off + 2] = st[1]

    def unpack_state(self, buf, off, st):
        # Returns False (state untouched) for a step index outside 0..88: such a frame
        # did not come from our encoder, and decoding on the old state is the gentler
        # failure.
        index = buf[off + 2]
        if index > 88:
            return False
        p = (buf[off] << 8) | buf[off + 1]
        st[0] = p - 65536 if p & 0x8000 else p
        st[1] = index
        return True


_EMPH = array("h", bytes(2 * 480))   # the emphasised frame, shared by every ADPCME encoder (60 ms max)
_EMPH_Q = _emph_pure.Q               # the coefficient (eighths) a set top bit of the index byte means


class ADPCME(ADPCM):
    # IMA ADPCM around an adaptive first-order pre-emphasis (ht/voice/emph_pure.py): the encoder codes
    # e[n] = x[n] - a*x[n-1], the decoder plays y[n] = d[n] + a*y[n-1], with a = 0 or 3/4 chosen per
    # frame from the frame's spectrum (choose(), before pack_state): the codec's noise leaves the band
    # above 2 kHz for a low voice and stays where it is for a bright one (docs/CODEC.md). The ADPCM codes
    # and state are the reference's; the choice rides in the step index byte's free top bit (the index
    # needs 7 bits), under this payload type only: an old receiver sees an unknown payload type, never a
    # misread frame.
    # State: array('h') [predictor, step index, filter's last sample, q] with a = q/8. The filter's
    # sample is not sent: after a lost frame the decoder goes on from its own, and the difference dies
    # away as a**n (a few samples; the concealment's overlap-add covers them).
    pt = PT_ADPCME
    name = "DVI4E"

    def __init__(self, kernel, encoder, emph):
        ADPCM.__init__(self, kernel, encoder)
        self.emph = emph

    def new_state(self):
        return array("h", (0, 0, 0, 0))

    def reset(self, st):
        st[0] = 0
        st[1] = 0
        st[2] = 0
        st[3] = 0

    def choose(self, pcm, nsamples, st):
        # The transmitter's step before pack_state: pick this frame's coefficient (kept in st[3]).
        # Without it a frame keeps the previous one's (0 after reset): still decoded right, not adapted.
        if len(pcm) < nsamples:
            raise ValueError("buffer too short for %d samples" % nsamples)
        return self.emph.choose(pcm, nsamples, st)

    def encode(self, pcm, nsamples, out, st):
        # The emphasised frame (in _EMPH) is coded by DVI4's own encoder choice.
        _short(pcm, nsamples, out, (nsamples + 1) >> 1)
        if nsamples > 480:
            raise ValueError("ADPCME frames are at most 480 samples")
        self.emph.emphasis(pcm, nsamples, _EMPH, st)
        ADPCM.encode(self, _EMPH, nsamples, out, st)

    def decode(self, payload, nsamples, pcm_out, st):
        ADPCM.decode(self, payload, nsamples, pcm_out, st)
        self.emph.deemphasis(pcm_out, nsamples, st)

    def pack_state(self, st, buf, off):
        ADPCM.pack_state(self, st, buf, off)
        if st[3]:
            buf[off + 2] |= 0x80

    def unpack_state(self, buf, off, st):
        # False (state untouched) for a step index above 88, as for DVI4.
        b = buf[off + 2]
        index = b & 0x7F
        if index > 88:
            return False
        p = (buf[off] << 8) | buf[off + 1]
        st[0] = p - 65536 if p & 0x8000 else p
        st[1] = index
        st[3] = _EMPH_Q if b & 0x80 else 0
        return True


class ULAW:
    # G.711 µ-law, 8 bits/sample: 64 kbit/s, stateless (STATE_LEN 0).
    pt = PT_ULAW
    name = "PCMU"
    STATE_LEN = 0
    rate = 8000
    bits = 8

    def __init__(self, kernel):
        self.kernel = kernel

    def payload_len(self, nsamples):
        return nsamples

    def new_state(self):
        return array("h")

    def reset(self, st):
        pass

    def encode(self, pcm, nsamples, out, st):
        _short(pcm, nsamples, out, nsamples)
        self.kernel.encode(pcm, nsamples, out)

    def decode(self, payload, nsamples, pcm_out, st):
        _short(pcm_out, nsamples, payload, nsamples)
        self.kernel.decode(payload, nsamples, pcm_out)

    def pack_state(self, st, buf, off):
        pass

    def unpack_state(self, buf, off, st):
        return True


# G.726 registers 2..24 in the snapshot (see ht/voice/g726_pure.py): yu 13 bits, dms 12, dml 14,
# ap 10, the eight 16-bit predictor coefficients, the eight 11-bit floats of history,
# pk0, pk1, td; after yl's 19 bits: 287 bits in 36 bytes.
_G726_BITS = bytes((13, 12, 14, 10) + (16,) * 8 + (11,) * 8 + (1, 1, 1))
_SNAP = const(36)


def _wire(c):
    # The frame counter as one byte: 0 only right after a reset, then 1..255 cycling.
    return c if c < 256 else 1 + (c - 1) % 255


class G726:
    # ITU-T G.726 at 32 kbit/s: PESQ 4.19 on our speech vs 3.46 for IMA ADPCM at the
    # same rate (bench_codec). Each frame carries one sync byte (0 = first frame since
    # the encoder reset, then a frame count 1..255) and a snapshot of the encoder's 26
    # registers before the frame, packed exactly in 36 bytes. A decoder that decoded
    # every frame before is in step (same count) and ignores the snapshot: its output
    # stays bit-exact. One that lost a frame loads it and is exactly in step again on
    # the first sample, like ADPCM. Without it G.726 took 160-260 ms of loud error to
    # reconverge: 5 % loss over LTE scored 2.69 against 3.57 with it (docs/CODEC.md).
    # The price: 37 state bytes a frame instead of 3 (ADPCM).
    pt = PT_G726
    name = "G726-32"
    STATE_LEN = 1 + _SNAP
    rate = 8000
    bits = 4

    def __init__(self, pure, kernel=None):
        # pure: the twin, for state set-up (new_state/reset); kernel: what codes frames (ht.compat.kernel)
        self.pure = pure
        self.kernel = kernel or pure

    def payload_len(self, nsamples):
        return (nsamples + 1) >> 1

    def new_state(self):
        return self.pure.new_state()

    def reset(self, st):
        self.pure.reset(st)

    def encode(self, pcm, nsamples, out, st):
        _short(pcm, nsamples, out, (nsamples + 1) >> 1)
        self.kernel.encode(pcm, nsamples, out, st)

    def decode(self, payload, nsamples, pcm_out, st):
        _short(pcm_out, nsamples, payload, (nsamples + 1) >> 1)
        self.kernel.decode(payload, nsamples, pcm_out, st)

    def pack_state(self, st, buf, off):
        buf[off] = _wire(st[self.pure.SYNC])
        o = off + 1
        acc = ((st[1] & 7) << 16) | (st[0] & 0xFFFF)   # yl, 19 bits
        nb = 19
        bits = _G726_BITS
        for k in range(23):
            w = bits[k]
            acc = (acc << w) | (st[2 + k] & ((1 << w) - 1))
            nb += w
            while nb >= 8:
                nb -= 8
                buf[o] = (acc >> nb) & 0xFF
                o += 1
            acc &= (1 << nb) - 1
        buf[o] = (acc << (8 - nb)) & 0xFF

    def unpack_state(self, buf, off, st):
        # Returns False (state untouched) for a snapshot our encoder cannot have made
        # (scale factors out of their ranges).
        c = buf[off]
        if c == 0:
            self.pure.reset(st)
            return True
        if _wire(st[self.pure.SYNC]) == c:
            return True          # decoded every frame before this one: in step
        o = off + 1
        yl = (buf[o] << 11) | (buf[o + 1] << 3) | (buf[o + 2] >> 5)
        yu = ((buf[o + 2] & 31) << 8) | buf[o + 3]
        if not (34816 <= yl <= 327680 and 544 <= yu <= 5120):
            return False
        st[0] = ((yl & 0xFFFF) ^ 0x8000) - 0x8000
        st[1] = yl >> 16
        acc = buf[o + 2] & 31
        nb = 5
        o += 3
        bits = _G726_BITS
        for k in range(23):
            w = bits[k]
            while nb < w:
                acc = (acc << 8) | buf[o]
                o += 1
                nb += 8
            nb -= w
            v = acc >> nb
            acc &= (1 << nb) - 1
            if (w == 16 or w == 11) and v >> (w - 1):
                v -= 1 << w          # coefficients and floats are signed
            st[2 + k] = v
        st[self.pure.SYNC] = c
        return True


def register(codec):
    _registry[codec.pt] = codec


def unregister(pt):
    _registry.pop(pt, None)


def get(pt):
    return _registry.get(pt)


def registered():
    # Payload types with a codec, e.g. for a receiver that keeps one state per type.
    return sorted(_registry)


def enable_g726():
    # G.726-32 is opt-in until every receiver keeps a decoder state for it. Loaded
    # here, not at the top: its viper kernel is ~6 KB of native code the ESP32 would
    # otherwise load for nothing.
    c = G726(kernel("ht.voice.g726", False), kernel("ht.voice.g726", USING_VIPER))
    register(c)
    return c


def use_viper(on=True):
    # Pick the kernels for the built-in codecs (ht.compat.kernel). Tests and the bench call
    # use_viper(False) to run the pure twins on MicroPython too. Returns whether the
    # viper kernels are now active (False when this port cannot compile them).
    global USING_VIPER
    _ADPCM.kernel = kernel("ht.voice.adpcm", on)
    on = is_viper(_ADPCM.kernel)
    if _ADPCM.encoder is not None:
        _ADPCM.encoder = kernel("ht.voice.adpcmt", on)
    _ADPCME.kernel = _ADPCM.kernel
    _ADPCME.encoder = _ADPCM.encoder
    _ADPCME.emph = kernel("ht.voice.emph", on)
    _ULAW.kernel = kernel("ht.voice.ulaw", on)
    g = _registry.get(PT_G726)
    if isinstance(g, G726):
        g.kernel = kernel("ht.voice.g726", on)
    USING_VIPER = on
    return on


def use_trellis(on=True):
    # The ADPCM encoder: the trellis search (default) or the IMA reference encoder.
    # Both make frames any IMA decoder plays; the trellis costs ~20x the reference's
    # encoder time (35 us per 20 ms frame with viper on a PC, a few % of an ESP32
    # core). Without a native emitter the pure trellis is too slow for the ESP32
    # (~50 ms a frame): such a port turns it off. Returns whether it is on.
    if on:
        _ADPCM.encoder = kernel("ht.voice.adpcmt", USING_VIPER)
    else:
        _ADPCM.encoder = None
    _ADPCME.encoder = _ADPCM.encoder
    return _ADPCM.encoder is not None


_ADPCM = ADPCM(kernel("ht.voice.adpcm", False), kernel("ht.voice.adpcmt", False))
_ADPCME = ADPCME(_ADPCM.kernel, _ADPCM.encoder, kernel("ht.voice.emph", False))
_ULAW = ULAW(kernel("ht.voice.ulaw", False))
register(_ADPCM)
register(_ADPCME)
register(_ULAW)
use_viper(True)
