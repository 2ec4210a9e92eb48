"""`python -m htsim.voicedemo` (what `make demo` runs): real speech through the whole voice path.

The alsa sample speech is sent as eight talk bursts through the radio's own Transmitter, a
simulated cellular link (5 % random loss plus LTE-like delay, jitter and stalls), and the radio's
Receiver (jitter buffer, concealment, decoder). Writes out/demo_spoken.wav (what went in) and
out/demo_heard.wav (what the listener hears, time-aligned) and prints a short summary.
"""
import argparse
import pathlib
import sys

from htsim import audiopath


def summary(res, link, frame_ms):
    rx = res["rx"]
    lines = [
        "Voice path demo: %d frames of %d ms speech over link '%s'" % (res["frames"], frame_ms, link),
        "  link dropped %d of %d packets (%.1f %%)" % (
            res["link"]["dropped"], res["link"]["sent"], 100.0 * res["link"]["dropped"] / max(1, res["link"]["sent"])),
        "  receiver: %d played, %d lost, %d arrived too late, %d duplicates, %d out of order" % (
            rx["played"], rx["lost"], rx["late"], rx["duplicate"], rx["reordered"]),
        "  concealed %.2f s of audio (%d samples) with pitch repetition" % (
            rx["concealed_samples"] / 8000.0, rx["concealed_samples"]),
        "  playout delay %d ms (chosen per talk burst from recent jitter, 40-200 ms)" % rx["playout_delay_ms"],
        "  buffering delay mean %.0f ms, p95 %.0f ms; network jitter %.1f ms (RFC 3550)" % (
            rx["delay_mean_ms"], rx["delay_p95_ms"], rx["jitter_ms"]),
        "  voice frames %.1f kbit/s (%d bytes each); on the wire ~%d KB per talk-minute" % (
            res["bitrate_kbps"], res["packet_bytes"], res["wire_bytes_per_minute"] // 1000),
    ]
    if res["pesq"] is not None:
        lines.append("  speech quality PESQ-NB %.2f (1 = bad, 4.5 = perfect)" % res["pesq"])
    else:
        lines.append("  speech quality: PESQ not available (pip install pesq)")
    return "\n".join(lines)


def main(argv=None, out=None):
    p = argparse.ArgumentParser(prog="python -m htsim.voicedemo", description=__doc__.splitlines()[0])
    p.add_argument("--link", default="loss5", help="clean, loss1, loss5, loss10, burst5 (+ -nojitter)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--frame-ms", type=int, default=20, choices=(20, 40, 60))
    p.add_argument("--out", default="out", help="folder for the WAV files")
    a = p.parse_args(argv)
    out = out or sys.stdout
    d = pathlib.Path(a.out)
    d.mkdir(parents=True, exist_ok=True)
    res = audiopath.run(a.link, seed=a.seed, frame_ms=a.frame_ms, wav=d / "demo_heard.wav",
                        ref_wav=d / "demo_spoken.wav")
    print(summary(res, a.link, a.frame_ms), file=out)
    print("  wrote %s and %s" % (d / "demo_spoken.wav", d / "demo_heard.wav"), file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
