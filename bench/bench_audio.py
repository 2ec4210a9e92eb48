"""Voice path quality and cost: PESQ-NB of real speech through the whole path, jitter-buffer delay,
bytes per talk-minute on the wire, heap under MicroPython.

PESQ runs the alsa speech (8 bursts, one per clip) through Transmitter -> link -> Receiver with
IMA ADPCM at 20 ms frames and an 8-byte tag, over the LTE-like delay model (htsim.linksim) plus
random or bursty loss. Each figure is the mean over SEEDS fixed seeds, so one unlucky LTE stall
does not decide the number; the per-seed spread is printed.
"""
import pathlib
import statistics
import sys
from htsim import audiopath

ROOT = pathlib.Path(__file__).resolve().parents[1]

SEEDS = (1, 2, 3, 4, 5)
LINKS = {
    "pesq_clean": "clean",
    "pesq_loss1": "loss1",
    "pesq_loss5": "loss5",
    "pesq_loss10": "loss10",
    "pesq_burst5": "burst5",
}

UNITS = {
    "pesq_clean": "MOS-LQO", "pesq_loss1": "MOS-LQO", "pesq_loss5": "MOS-LQO",
    "pesq_loss10": "MOS-LQO", "pesq_burst5": "MOS-LQO", "pesq_clean_nojitter": "MOS-LQO",
    "pesq_loss5_nojitter": "MOS-LQO", "pesq_clean_ulaw": "MOS-LQO", "pesq_clean_g726": "MOS-LQO",
    "pesq_loss5_g726": "MOS-LQO", "pesq_clean_g726_lte": "MOS-LQO", "pesq_burst5_g726": "MOS-LQO",
    "pesq_loss5_g726_40ms": "MOS-LQO",
    "bytes_per_talk_minute_20ms_g726": "bytes", "bytes_per_talk_minute_40ms_g726": "bytes",
    "txrx_us_per_frame": "us", "plc_us_per_lost_frame": "us",
    "adpcm_trellis_us_per_frame": "us", "adpcm_ref_us_per_frame": "us",
    "jb_delay_p95_ms": "ms", "late_pct": "%", "voice_kbps": "kbit/s",
    "jb_delay_p95_ms_learn_stalls": "ms", "late_pct_learn_stalls": "%", "pesq_clean_learn_stalls": "MOS-LQO",
    "pesq_loss5_learn_stalls": "MOS-LQO", "burst_start_ms_p95": "ms", "burst_start_ms_p95_learn_stalls": "ms",
    "bytes_per_talk_minute_20ms": "bytes", "bytes_per_talk_minute_40ms": "bytes",
    "bytes_per_talk_minute_60ms": "bytes",
    "heap_bytes_txrx": "bytes", "alloc_bytes_per_frame": "bytes",
    "alloc_bytes_per_frame_loss5": "bytes", "alloc_bytes_per_frame_tagged": "bytes",
}
GOALS = {
    "pesq_clean": ">= 3.9 at <= 32 kbit/s (floor 3.58)",
    "pesq_loss1": "higher is better",
    "pesq_loss5": ">= 3.2 (floor 2.76)",
    "pesq_loss10": "higher is better",
    "pesq_burst5": "higher is better",
    "pesq_clean_nojitter": "codec alone over a perfect link",
    "pesq_loss5_nojitter": "5 % loss, no LTE delay/stalls",
    "pesq_clean_ulaw": "G.711 at 64 kbit/s, perfect link (reference)",
    "pesq_clean_g726": "G.726-32 (opt-in codec), perfect link",
    "pesq_loss5_g726": "G.726-32, 5 % loss + LTE (36-byte state snapshot per frame)",
    "pesq_clean_g726_lte": "G.726-32 over the LTE model, no loss",
    "pesq_burst5_g726": "G.726-32, bursty 5 % loss + LTE",
    "pesq_loss5_g726_40ms": "G.726-32 in 40 ms frames (fewer bytes than ADPCM at 20 ms), 5 % loss + LTE",
    "bytes_per_talk_minute_20ms_g726": "G.726-32: 37 state bytes a frame (ADPCM 3)",
    "bytes_per_talk_minute_40ms_g726": "G.726-32 at 40 ms frames",
    "txrx_us_per_frame": "MicroPython unix on this PC; the ESP32 is ~30-50x slower",
    "plc_us_per_lost_frame": "<= 400 on the PC (a 20 ms frame / ~50 for the ESP32)",
    "adpcm_trellis_us_per_frame": "viper, MicroPython unix on this PC; ESP32 ~30-50x (a few % of a core)",
    "adpcm_ref_us_per_frame": "the IMA reference encoder, same run",
    "jb_delay_p95_ms": "<= 200 (playout delay bound)",
    "late_pct": "small; LTE stalls > 200 ms cause it",
    "pesq_clean_learn_stalls": "before: the policy learned stalls (compare pesq_clean)",
    "pesq_loss5_learn_stalls": "before: the policy learned stalls (compare pesq_loss5)",
    "late_pct_learn_stalls": "before (compare late_pct)",
    "jb_delay_p95_ms_learn_stalls": "before (compare jb_delay_p95_ms)",
    "burst_start_ms_p95": "first frame sent -> first sound, clean+loss5 bursts (link + jitter buffer)",
    "burst_start_ms_p95_learn_stalls": "before (compare burst_start_ms_p95)",
    "bytes_per_talk_minute_20ms": "<= 300000",
    "bytes_per_talk_minute_40ms": "<= 300000",
    "bytes_per_talk_minute_60ms": "<= 300000 (60 ms frames: +40 ms latency)",
    "heap_bytes_txrx": "small (ESP32 has ~100 KB free)",
    "alloc_bytes_per_frame": "0",
    "alloc_bytes_per_frame_loss5": "0",
    "alloc_bytes_per_frame_tagged": "hashlib objects per frame (MicroPython has no hash copy())",
}


def _pesq(link, **kw):
    runs = [audiopath.run(link, seed=s, **kw) for s in SEEDS]
    scores = [r["pesq"] for r in runs]
    print("   %-16s PESQ %s" % (link, " ".join("%.2f" % x for x in scores)), flush=True)
    return statistics.mean(scores), runs


def _p95(xs):
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))], 1) if xs else None


def _loss5_figures(out, runs, tag=""):
    out["jb_delay_p95_ms" + tag] = statistics.mean(r["rx"]["delay_p95_ms"] for r in runs)
    late = sum(r["rx"]["late"] for r in runs)
    sent = sum(r["frames"] for r in runs)
    out["late_pct" + tag] = 100.0 * late / sent


def run():
    out = {}
    starts = []
    for metric, link in LINKS.items():
        out[metric], runs = _pesq(link)
        if link in ("clean", "loss5"):
            starts += [x for r in runs for x in r["burst_start_ms"]]
        if link == "loss5":
            _loss5_figures(out, runs)
            out["voice_kbps"] = runs[0]["bitrate_kbps"]
    # The playout-delay policy before (a stall's clump learned, ht.voice.jitter learn_stalls=True) and now,
    # side by side: same speech, links and seeds.
    out["burst_start_ms_p95"] = _p95(starts)
    old = []
    for link in ("clean", "loss5"):
        out["pesq_%s_learn_stalls" % link], runs = _pesq(link, rx_options={"learn_stalls": True})
        old += [x for r in runs for x in r["burst_start_ms"]]
        if link == "loss5":
            _loss5_figures(out, runs, "_learn_stalls")
    out["burst_start_ms_p95_learn_stalls"] = _p95(old)
    out["pesq_clean_nojitter"] = _pesq("clean-nojitter")[0]
    out["pesq_loss5_nojitter"] = _pesq("loss5-nojitter")[0]
    out["pesq_clean_ulaw"] = _pesq("clean-nojitter", pt=0)[0]
    g726 = getattr(audiopath.codecs, "enable_g726", None)
    if g726 is not None:
        pt = g726().pt
        out["pesq_clean_g726"] = _pesq("clean-nojitter", pt=pt)[0]
        out["pesq_clean_g726_lte"] = _pesq("clean", pt=pt)[0]
        out["pesq_loss5_g726"] = _pesq("loss5", pt=pt)[0]
        out["pesq_burst5_g726"] = _pesq("burst5", pt=pt)[0]
        out["pesq_loss5_g726_40ms"] = _pesq("loss5", pt=pt, frame_ms=40)[0]
        out["bytes_per_talk_minute_20ms_g726"] = audiopath.wire_bytes_per_minute(pt=pt, frame_ms=20)
        out["bytes_per_talk_minute_40ms_g726"] = audiopath.wire_bytes_per_minute(pt=pt, frame_ms=40)
        audiopath.codecs.unregister(pt)   # opt-in: leave the registry as other benches expect
    out["bytes_per_talk_minute_20ms"] = audiopath.wire_bytes_per_minute(frame_ms=20)
    out["bytes_per_talk_minute_40ms"] = audiopath.wire_bytes_per_minute(frame_ms=40)
    out["bytes_per_talk_minute_60ms"] = audiopath.wire_bytes_per_minute(frame_ms=60)
    mpy = pathlib.Path(sys.executable).parent / "micropython"
    heap = audiopath.mpy_heap_figures(mpy)
    for k in ("heap_bytes_txrx", "alloc_bytes_per_frame", "alloc_bytes_per_frame_loss5",
              "alloc_bytes_per_frame_tagged", "txrx_us_per_frame", "plc_us_per_lost_frame",
              "adpcm_trellis_us_per_frame", "adpcm_ref_us_per_frame"):
        out[k] = heap[k]
    return out


if __name__ == "__main__":
    for k, v in run().items():
        print(k, v)
