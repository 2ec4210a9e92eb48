"""Real speech through the whole voice path (encoder -> link -> jitter buffer -> concealment -> decoder):
what a listener would notice, and the statistics a technician would read."""
import wave

import pytest

from htsim import audiopath, voicedemo as demo, linksim


def _interior_drops(log, frame_ms):
    # Drops the receiver can know about: inside a burst, between two packets that arrived.
    bursts, cur, prev = [], [], None
    for send, arr in log:
        if prev is not None and send - prev != frame_ms:
            bursts.append(cur)
            cur = []
        cur.append(arr)
        prev = send
    bursts.append(cur)
    n = 0
    for b in bursts:
        got = [i for i, a in enumerate(b) if a is not None]
        if got:
            n += sum(1 for a in b[got[0]:got[-1]] if a is None)
    return n


def test_clean_path_sounds_like_the_codec():
    res = audiopath.run("clean-nojitter", seed=1)
    assert res["pesq"] > 3.3
    assert res["rx"]["lost"] == 0 and res["rx"]["concealed_samples"] == 0
    assert len(res["out"]) == len(res["ref"])


def test_speech_over_5pct_loss_stays_intelligible(tmp_path):
    wav = tmp_path / "heard.wav"
    res = audiopath.run("loss5-nojitter", seed=1, wav=wav)
    assert res["pesq"] > 2.5
    with wave.open(str(wav)) as w:
        assert w.getframerate() == 8000 and w.getnframes() == len(res["ref"])
    # Over the LTE-like link (jitter and a stall on top of the loss) it degrades, not collapses.
    assert audiopath.run("loss5", seed=1)["pesq"] > 2.2


@pytest.mark.parametrize("name", ["loss5", "burst5", "loss10-nojitter"])
def test_reported_loss_matches_the_links_drops(name):
    link = linksim.named(name, seed=3, record=True)
    res = audiopath.run(link, seed=3)
    drops = _interior_drops(link.log, 20)
    assert drops > 0
    assert res["rx"]["lost"] == drops
    assert res["link"]["dropped"] >= drops
    rx = res["rx"]
    assert rx["played"] == rx["received"]          # every frame that came in time was heard
    assert rx["received"] + rx["late"] + link.dropped == link.sent


def test_playout_delay_stays_in_bounds_and_late_frames_are_rare():
    res = audiopath.run("clean", seed=2)
    rx = res["rx"]
    assert 40 <= rx["playout_delay_ms"] <= 200
    assert rx["late"] < 0.05 * res["frames"]


def test_wire_budget_counts_every_header():
    topic = audiopath.DEFAULT_TOPIC
    # 104-byte voice frame (20 ms ADPCM + epoch + tag), MQTT fixed header 2 + topic length 2 + topic, TCP+IP 40
    per = 104 + 2 + 2 + len(topic) + 40
    assert audiopath.wire_bytes_per_minute(frame_ms=20) == per * 3000
    assert audiopath.wire_bytes_per_minute(frame_ms=40) < audiopath.wire_bytes_per_minute(frame_ms=20)
    assert audiopath.mqtt_publish_overhead("t", 200) == 1 + 2 + 2 + 1


def test_demo_writes_both_wavs_and_a_plain_summary(tmp_path):
    import io

    buf = io.StringIO()
    assert demo.main(["--out", str(tmp_path)], out=buf) == 0
    text = buf.getvalue()
    assert (tmp_path / "demo_heard.wav").stat().st_size > 100000
    assert (tmp_path / "demo_spoken.wav").stat().st_size > 100000
    for word in ("frames", "lost", "concealed", "delay", "kbit/s", "PESQ"):
        assert word in text


@pytest.mark.mpy
def test_no_heap_allocation_per_frame_on_micropython():
    from fixtures.mpy import MPY_EXE

    figs = audiopath.mpy_heap_figures(MPY_EXE)
    assert figs["played"] > 200
    assert figs["alloc_bytes_per_frame"] == 0
    assert figs["alloc_bytes_per_frame_loss5"] == 0      # concealment allocates nothing either
    assert figs["alloc_bytes_per_frame_40ms"] == 0
    assert 0 < figs["heap_bytes_txrx"] < 32 * 1024


def test_link_models_deliver_what_they_promise():
    n = 40000
    b = linksim.Bernoulli(0.05, seed=7)
    drops = sum(b.sample(t * 20) is None for t in range(n))
    assert 0.04 < drops / n < 0.06 and b.dropped == drops and b.sent == n
    g = linksim.GilbertElliott(0.05, 3.0, seed=7)
    lost = [g.sample(t * 20) is None for t in range(n)]
    runs, cur = [], 0
    for x in lost + [False]:
        if x:
            cur += 1
        elif cur:
            runs.append(cur)
            cur = 0
    assert 0.04 < sum(lost) / n < 0.06
    assert 2.5 < sum(runs) / len(runs) < 3.5          # mean burst length 3
    lte = linksim.Link(None, linksim.LTEDelay(seed=7), record=True)
    for t in range(3000):
        lte.sample(t * 20)
    d = sorted(a - s for s, a in lte.log)
    assert 40 <= d[len(d) // 2] <= 90                  # median one-way delay
    assert d[-1] >= 200                                # long stalls happen (1/min over 60 s)
    arrivals = [a for _, a in lte.log]
    assert arrivals == sorted(arrivals)                # TCP: in order
    calm = linksim.LTEDelay(seed=7, stall_per_min=0, handover_per_min=0)
    assert max(calm.sample(t * 20) - t * 20 for t in range(3000)) < 150


def test_same_seed_same_link():
    a = linksim.named("burst5", seed=11, record=True)
    b = linksim.named("burst5", seed=11, record=True)
    for t in range(500):
        a.sample(t * 20)
        b.sample(t * 20)
    assert a.log == b.log
