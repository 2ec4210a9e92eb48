# The voice path the radio and the simulators use:
#   Transmitter: PCM frames in -> voice packets out (one buffer, reused every frame)
#   Receiver:    packets + arrival time in -> PCM out on the playout clock
# Both allocate their buffers once; per frame they only index into them, so a talk
# burst does not feed MicroPython's garbage collector (a GC pause is an audible gap).
from array import array
from ht.voice import codecs, frame
from ht.voice.frame import F_START, F_END, F_EMERG, F_TAG, HDR_LEN
from ht.voice.jitter import JitterBuffer, MISSING
from ht.voice.plc import Concealer, DELAY
from ht.compat import kernel
_copy = kernel("ht.voice.pcmcopy")

_AHEAD = 4    # look this many frames past a gap for the frame that ends it
_STATE_MAX = 40   # codec state bytes a slot holds (G.726: 37, ADPCM: 3)

SILENCE = 0   # pull() results: what this period holds
VOICE = 1
CONCEALED = 2


class Transmitter:
    def __init__(self, talkgroup, unit_id, pt, frame_ms, key=None, seq=0, burst=0, epoch=0):
        # epoch: the sender's boot epoch (24 bits, docs/FRAME.md): raised by the radio at every boot and
        # here whenever the sequence wraps, so (epoch, seq) never repeats for a radio that keeps its epoch.
        codec = codecs.get(pt)
        if codec is None:
            raise ValueError("unknown payload type %r" % (pt,))
        if frame_ms not in frame.DURATIONS:
            raise ValueError("frame_ms must be 20, 40 or 60")
        if not 0 <= talkgroup <= 0xFFFF:
            raise ValueError("talkgroup must fit 16 bits")
        if not 0 <= unit_id <= 0xFFFFFF:
            raise ValueError("unit id must fit 24 bits")
        self.codec = codec
        self.pt = pt
        self.frame_ms = frame_ms
        self.talkgroup = talkgroup
        self.unit = unit_id
        self.key = frame.as_key(key)
        self.nsamples = frame_ms * 8
        self.body = HDR_LEN + codec.STATE_LEN + codec.payload_len(self.nsamples)
        self.length = frame.packet_len(codec, frame_ms, self.key is not None)
        self.buf = bytearray(self.length)
        mv = memoryview(self.buf)
        self.packet = mv
        self.payload = mv[HDR_LEN + codec.STATE_LEN:self.body]
        self.state = codec.new_state()
        # A codec that decides something per frame and sends it in the frame's state (ADPCME's
        # emphasis) looks at the frame before its state is packed. Bound once: no allocation per frame.
        self.choose = getattr(codec, "choose", None)
        self.seq = seq & 0xFFFF
        self.burst = burst & 0xFF
        self.epoch = epoch & 0xFFFFFF
        self.wraps = 0             # epochs used up by sequence wraps since construction (the radio persists them)
        self.talking = False
        self.first = False
        self.emergency = False

    def begin(self, emergency=False):
        # PTT pressed: a new burst id, a fresh encoder state.
        self.burst = (self.burst + 1) & 0xFF
        self.codec.reset(self.state)
        self.talking = True
        self.first = True
        self.emergency = emergency

    def encode(self, pcm, last=False):
        # One frame of PCM (array('h'), frame_ms * 8 samples) -> the packet, as a
        # memoryview of the transmitter's buffer: send it before the next call.
        if not self.talking:
            self.begin()
        flags = 0
        if self.first:
            flags = F_START
            self.first = False
        if last:
            flags |= F_END
            self.talking = False
        if self.emergency:
            flags |= F_EMERG
        if self.key is not None:
            flags |= F_TAG
        buf = self.buf
        frame.pack_header(buf, flags, self.pt, self.frame_ms, self.talkgroup, self.unit,
                          self.burst, self.seq, self.epoch)
        # The state *before* this frame rides with it: a decoder that lost the previous
        # packet restarts exactly here.
        if self.choose is not None:
            self.choose(pcm, self.nsamples, self.state)
        self.codec.pack_state(self.state, buf, HDR_LEN)
        self.codec.encode(pcm, self.nsamples, self.payload, self.state)
        if self.key is not None:
            self.key.sign(buf, self.body)
        self.seq = (self.seq + 1) & 0xFFFF
        if self.seq == 0:
            self.epoch = (self.epoch + 1) & 0xFFFFFF
            self.wraps += 1
        return self.packet


class Receiver:
    def __init__(self, key=None, frame_ms=20, talkgroup=None, nslots=16, max_payload=320,
                 min_delay_ms=40, max_delay_ms=200, start_delay_ms=80, quantile=950,
                 margin_ms=10, hold=False, stall_ms=60, learn_stalls=False):
        if frame_ms not in frame.DURATIONS:
            raise ValueError("frame_ms must be 20, 40 or 60")
        self.key = frame.as_key(key)
        self.talkgroup = talkgroup
        self.period = frame_ms * 8
        self.jb = JitterBuffer(nslots, max_payload, _STATE_MAX, min_delay_ms, max_delay_ms,
                               start_delay_ms, quantile, margin_ms, hold, stall_ms, learn_stalls)
        self.plc = Concealer()
        self.frame = frame.Frame()
        self.pcm = array("h", bytes(2 * 480))   # one decoded frame (up to 60 ms)
        self.ahead = array("h", bytes(2 * 480))  # the frame after a gap, decoded early
        self.ahead_seq = -1
        self.ready = 0
        self.rpos = 0
        self.kind = SILENCE
        # One decoder state per registered payload type, made now rather than on first
        # use (a codec registered later gets its state at its first frame).
        self.states = {}
        self.scratch = {}
        for pt in codecs.registered():
            self.states[pt] = codecs.get(pt).new_state()
            self.scratch[pt] = codecs.get(pt).new_state()
        self.rejected = array("i", [0] * len(frame.REASONS))
        self.wrong_tg = 0
        self.out_samples = 0     # samples produced so far (the playout clock)
        self.burst_at = -1       # output sample where the latest burst's audio begins
        self.burst_seq = -1      # ... and the sequence number of its first frame

    def push(self, data, arrival_ms):
        # Returns a frame reason (frame.OK ...) for bad packets, else OK; never raises
        # for bad input. Counters: rejected[reason], wrong_tg, and the jitter buffer's.
        f = self.frame
        r = frame.parse(data, f, self.key)
        if r:
            self.rejected[r] += 1
            return r
        return self.push_frame(f, data, arrival_ms)

    def push_frame(self, f, data, arrival_ms):
        # `data` already parsed into `f` (a frame.Frame) by someone who checked it, e.g. the
        # radio's VoiceGuard: parsing again would hash the tag twice per frame for nothing.
        if self.talkgroup is not None and f.talkgroup != self.talkgroup:
            self.wrong_tg += 1
            return frame.OK
        self.jb.push(f, data, arrival_ms)
        return frame.OK

    def pull(self, now_ms, pcm_out):
        # Fill pcm_out[0:frame_ms * 8] with the next period of audio. Returns VOICE,
        # CONCEALED or SILENCE (the kind of the last frame that contributed).
        n = self.period
        o = 0
        src = self.pcm
        while o < n:
            if self.rpos >= self.ready:
                self._fetch(now_ms, o)
            k = self.ready - self.rpos
            if k > n - o:
                k = n - o
            r = self.rpos
            _copy.copy16(pcm_out, o, src, r, k)
            self.rpos = r + k
            o += k
        self.out_samples += n
        return self.kind

    def _fetch(self, now_ms, o):
        jb = self.jb
        bursts = jb.bursts
        i = jb.next(now_ms)
        pcm = self.pcm
        if jb.bursts != bursts:
            self.burst_at = self.out_samples + o + DELAY
            self.burst_seq = (jb.next_seq - 1) & 0xFFFF
        if i >= 0:
            c = codecs.get(jb.pt[i])
            ns = jb.ms[i] * 8
            st = self._state(c)
            c.unpack_state(jb.state[i], 0, st)
            c.decode(jb.payload[i], ns, pcm, st)
            self.plc.good(pcm, ns)
            self.kind = VOICE
        elif i == MISSING:
            ns = jb.frame_ms * 8
            j = jb.peek(_AHEAD)
            if j >= 0 and jb.ms[j] * 8 == ns:
                # A frame after the gap is already here: decode it ahead (it decodes
                # again, identically, from its own header state when its turn comes).
                if jb.seq[j] != self.ahead_seq:
                    # On a copy of the decoder state: a codec whose state is not all in
                    # the header (G.726) must not see this frame twice.
                    c = codecs.get(jb.pt[j])
                    st = self._state(c)
                    sc = self.scratch.get(c.pt)
                    if sc is None:
                        sc = self.scratch[c.pt] = c.new_state()
                    for k in range(len(st)):
                        sc[k] = st[k]
                    c.unpack_state(jb.state[j], 0, sc)
                    c.decode(jb.payload[j], ns, self.ahead, sc)
                    self.ahead_seq = jb.seq[j]
                self.plc.bad(pcm, ns, self.ahead, jb.peek_dist * ns)
            else:
                self.plc.bad(pcm, ns)
            self.kind = CONCEALED
        else:
            ns = self.period
            self.plc.silence(pcm, ns)
            self.kind = SILENCE
        self.ready = ns
        self.rpos = 0

    def _state(self, c):
        st = self.states.get(c.pt)
        if st is None:
            st = self.states[c.pt] = c.new_state()
        return st

    def stats(self):
        s = self.jb.stats()
        s["concealed_samples"] = self.plc.concealed
        s["rejected"] = sum(self.rejected)
        for r in range(1, len(frame.REASONS)):
            if self.rejected[r]:
                s["rejected " + frame.REASONS[r]] = self.rejected[r]
        s["wrong_talkgroup"] = self.wrong_tg
        return s
