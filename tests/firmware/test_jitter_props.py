"""Jitter buffer as a state machine under random links (hypothesis): lost, reordered, duplicated and
stalled frames (including the stall replay) never make it play a frame twice, out of order, or one
that never arrived, and a clean link plays everything."""
from array import array

from hypothesis import given, settings, strategies as st

from ht.voice import codecs, frame, transceiver as voice
from ht.voice.jitter import seq_diff

PROPS = settings(max_examples=150, deadline=None)


def _packets(n, seq0):
    tx = voice.Transmitter(3, 9, codecs.PT_ADPCM, 20, seq=seq0)
    pcm = array("h", [((i * 53) % 400 - 200) * 40 for i in range(160)])
    return [bytes(tx.encode(pcm, last=(i == n - 1))) for i in range(n)]


@st.composite
def links(draw):
    n = draw(st.integers(1, 60))
    seq0 = draw(st.integers(0, 65535))
    events = []
    stall_at = draw(st.integers(0, 80))
    stall_len = draw(st.integers(0, 500))
    fifo = draw(st.booleans())
    last = 0
    for k in range(n):
        send = 20 * k
        if draw(st.integers(0, 99)) < draw(st.sampled_from([0, 5, 30])):
            continue                                   # lost
        t = send + 40 + draw(st.integers(0, 60))
        if stall_at * 20 <= send < stall_at * 20 + stall_len:
            t = max(t, stall_at * 20 + stall_len + 40)  # held by the link, released together
        if fifo:
            t = max(t, last)
            last = t
        events.append((t, k))
        if draw(st.integers(0, 99)) < 3:
            events.append((t + draw(st.integers(0, 100)), k))   # duplicate
    return n, seq0, sorted(events, key=lambda e: e[0])


def _run(n, seq0, events, stall_ms=60):
    pk = _packets(n, seq0)
    rx = voice.Receiver(start_delay_ms=60, stall_ms=stall_ms)
    jb = rx.jb
    f = frame.Frame()
    played = []
    j = 0
    t = 0
    end = (events[-1][0] if events else 0) + 1500
    while t < end:
        while j < len(events) and events[j][0] <= t:
            assert frame.parse(pk[events[j][1]], f) == frame.OK
            jb.push(f, pk[events[j][1]], events[j][0])
            j += 1
        if jb.next(t) >= 0:
            played.append(seq_diff((jb.next_seq - 1) & 0xFFFF, seq0))
        t += 20
    return played, jb


@PROPS
@given(links())
def test_never_plays_a_frame_twice_out_of_order_or_unsent(link):
    n, seq0, events = link
    played, jb = _run(n, seq0, events)
    arrived = {k for _, k in events}
    assert all(k in arrived for k in played), (played, arrived)
    assert all(a < b for a, b in zip(played, played[1:])), played
    s = jb.stats()
    assert s["played"] == len(played)
    assert s["lost"] >= 0 and s["late"] >= 0


@PROPS
@given(st.integers(1, 60), st.integers(0, 65535), st.integers(0, 40))
def test_a_clean_link_plays_every_frame_with_or_without_a_stall(n, seq0, jitter):
    events = [(20 * k + 40 + (k * 7919) % (jitter + 1), k) for k in range(n)]
    events.sort(key=lambda e: e[0])
    played, jb = _run(n, seq0, events)
    assert played == list(range(n))
    assert jb.stats()["stalls"] == 0


@PROPS
@given(st.integers(10, 60), st.integers(0, 65535), st.integers(2, 8), st.integers(100, 320))
def test_a_stall_loses_at_most_what_is_cheaper_to_cut(n, seq0, at, stall):
    # Frames held `stall` ms then released in order: at most the two that came back less than
    # stall_ms late are dropped; everything else plays, in order.
    events = []
    for k in range(n):
        t = 20 * k + 40
        if 20 * at <= 20 * k < 20 * at + stall:
            t = max(t, 20 * at + stall + 40)
        events.append((t, k))
    played, jb = _run(n, seq0, events)
    assert len(played) >= n - 2, (played, jb.stats())
    assert all(a < b for a, b in zip(played, played[1:]))


def _two_bursts(n1, seq0, jitter, stall_at, stall, learn_stalls=False):
    # Burst one (n1 frames, in order as over TCP) with one stall of `stall` ms from frame stall_at, then a
    # pause, then burst two's first frame: -> the playout delay burst two starts with, and burst one's stats.
    tx = voice.Transmitter(3, 9, codecs.PT_ADPCM, 20, seq=seq0)
    pcm = array("h", [((i * 53) % 400 - 200) * 40 for i in range(160)])
    one = [bytes(tx.encode(pcm, last=(i == n1 - 1))) for i in range(n1)]
    tx.begin()
    two = bytes(tx.encode(pcm))
    rx = voice.Receiver(start_delay_ms=80, stall_ms=60, learn_stalls=learn_stalls)
    jb = rx.jb
    f = frame.Frame()
    events, last = [], 0
    for k in range(n1):
        t = 20 * k + 40 + jitter[k % len(jitter)]
        if stall and 20 * stall_at <= 20 * k < 20 * stall_at + stall:
            t = max(t, 20 * stall_at + stall + 40)
        last = max(t, last)
        events.append((last, one[k]))
    t2 = 20 * n1 + 2000
    events.append((t2, two))
    t = j = 0
    while t <= t2:
        while j < len(events) and events[j][0] <= t:
            assert frame.parse(events[j][1], f) == frame.OK
            jb.push(f, events[j][1], events[j][0])
            j += 1
        jb.next(t)
        t += 20
    return jb.delay, jb.stats()


@PROPS
@given(st.integers(40, 120), st.integers(0, 65535), st.lists(st.integers(0, 30), min_size=1, max_size=16),
       st.integers(2, 30), st.integers(200, 500))
def test_a_stall_does_not_deepen_the_next_burst(n1, seq0, jitter, at, stall):
    # A stall long enough to be replayed (held 200-500 ms, more than the 80 ms start depth plus stall_ms)
    # is played as a pause in its own burst; the next burst starts at the depth the jitter alone asks for
    # (the stall-free run's, within one 10 ms bin: the clump's frames are left out of the quantile; or the
    # 80 ms start depth when the clump was most of a short burst and too few frames are left to learn
    # from), where learning from the stall starts it at up to the 200 ms bound.
    at = min(at, n1 - 5)
    clean, _ = _two_bursts(n1, seq0, jitter, at, 0)
    after, s = _two_bursts(n1, seq0, jitter, at, stall)
    assert s["lost"] >= 0, s       # (a stall of 400 ms or more can end the burst instead of being replayed)
    assert after <= max(clean + 10, 80), (after, clean, s)
