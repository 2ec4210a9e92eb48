# The radio's voice path as people hear it, under MicroPython: microphone samples -> front end
# (ht.voice.frontend) -> Transmitter -> the link (arrival times computed on the host by htsim.linksim) ->
# Receiver (jitter buffer, decoder, concealment) -> receive leveller at a speaker volume -> speaker.
# Run by htsim.micsim.through_path (tests/sim/test_voice_frontend.py, bench/bench_voice_frontend.py).
# Usage: micropython voice_path.py IN OUT FE(0: none, 1: front end, 2: without its suppressor, 3: without
#        its buzz canceller) VOLUME_DBFS [FRAME_MS [PT (codec payload type, default 5: DVI4; micsim passes
#        the radio's default)]]
#   IN: <n:u32> n int16 mic samples, then one i32 arrival ms per frame (-1: lost)
#   OUT: the front end's output (the mic side, n samples), then the speaker's (frames x 20 ms + 1 s)
# Prints "name value" lines: frontend_us_per_frame, frontend_alloc_bytes_per_frame (front end alone), and the
# suppressor's and the buzz canceller's shares (denoise_us_per_frame, buzz_us_per_frame).
import sys
import gc
import struct
from array import array
from ht.compat import ticks_us, ticks_diff, kernel
from ht.voice import codecs, frontend, transceiver as voice


def main(src, dst, use_fe, vol_dbfs, frame_ms, denoise=True, buzz=True, pt=codecs.PT_ADPCM):
    f = open(src, "rb")
    n = struct.unpack("<I", f.read(4))[0]
    mic = array("h", f.read(2 * n))
    nfr = n // (frame_ms * 8)
    arr = array("i", f.read(4 * nfr))
    f.close()
    fn = frame_ms * 8
    fe = frontend.mic_frontend(denoise=denoise, buzz=buzz)
    lev = frontend.rx_leveller(vol_dbfs)
    tx = voice.Transmitter(101, 4242, pt, frame_ms, key=b"demo-key")
    rx = voice.Receiver(key=b"demo-key", frame_ms=20)
    pcm = array("h", bytes(2 * fn))
    sent = array("h", bytes(2 * n))
    pkts = []
    tx.begin()
    fe.begin()
    for i in range(nfr):
        for j in range(fn):
            pcm[j] = mic[i * fn + j]
        if use_fe:
            fe.process(pcm, fn)
        for j in range(fn):
            sent[i * fn + j] = pcm[j]
        p = bytes(tx.encode(pcm, i == nfr - 1))
        if arr[i] >= 0:
            pkts.append((arr[i], p))
    pkts.sort(key=lambda a: a[0])
    out = array("h", bytes(2 * 160))
    g = open(dst, "wb")
    g.write(sent)
    now = 0
    k = 0
    end = nfr * frame_ms + 1000
    while now < end:
        while k < len(pkts) and pkts[k][0] <= now:
            rx.push(pkts[k][1], pkts[k][0])
            k += 1
        if rx.pull(now, out) == voice.SILENCE:
            lev.reset()       # a new burst is a new talker: learn its level afresh
        else:
            lev.process(out, 160)
        g.write(out)
        now += 20
    g.close()
    # Cost of the front end per 20 ms frame (viper where the port has it) and against its pure twin.
    # The suppressor's and the buzz canceller's shares are printed on their own (denoise_us_per_frame,
    # buzz_us_per_frame: the frames in order, so the canceller locks and follows the material's bursts as
    # it does in the path; buzz_locked_us_per_frame: the locked frames' mean, the dearer case).
    cp = kernel("ht.voice.pcmcopy")
    tf = frontend.mic_frontend()
    tf.begin()
    for name, viper in (("frontend_us_per_frame", True), ("frontend_pure_us_per_frame", False)):
        lk = kernel("ht.voice.level", viper)
        dk = kernel("ht.voice.denoise", viper)
        bk = kernel("ht.voice.buzz", viper)
        tf.buzz.reset()
        reps = n // 160 if viper else 10
        td = tb = tl = nl = 0
        t0 = ticks_us()
        for r in range(reps):
            cp.copy16(pcm, 0, mic, (r * 160) % (n - 160), 160)
            t1 = ticks_us()
            bk.process(pcm, 160, tf.buzz.st)
            t2 = ticks_diff(ticks_us(), t1)
            tb += t2
            if tf.buzz.locked():
                tl += t2
                nl += 1
            lk.process(pcm, 160, tf.level.st)
            t1 = ticks_us()
            dk.process(pcm, 160, tf.denoise.st)
            td += ticks_diff(ticks_us(), t1)
        print(name, ticks_diff(ticks_us(), t0) / reps)
        print(name.replace("frontend", "denoise"), td / reps)
        print(name.replace("frontend", "buzz"), tb / reps)
        if viper and nl:
            print("buzz_locked_us_per_frame", tl / nl)
    # Allocation: the material's frames in order through a fresh front end, so the buzz canceller's
    # locked and learning frames are among them, not one frame over and over.
    fe = frontend.mic_frontend(denoise=denoise, buzz=buzz)
    fe.begin()
    reps = n // 160
    gc.collect()
    gc.disable()
    m0 = gc.mem_alloc()
    for r in range(reps):
        cp.copy16(pcm, 0, mic, r * 160, 160)
        fe.process(pcm, 160)
        lev.process(pcm, 160)
    m1 = gc.mem_alloc()
    gc.enable()
    print("frontend_alloc_bytes_per_frame", (m1 - m0) / reps)


if __name__ == "__main__":
    a = sys.argv
    main(a[1], a[2], a[3] != "0", int(a[4]), int(a[5]) if len(a) > 5 else 20, a[3] != "2", a[3] != "3",
         int(a[6]) if len(a) > 6 else codecs.PT_ADPCM)
