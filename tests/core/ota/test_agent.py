# ht.ota.agent: offer -> signed manifest -> chunks while idle -> verified files -> staged; resume after a
# reboot; refusals that leave the running version alone. Driven by a fake clock, a memory store and a
# Wire that answers subscriptions like a broker holding the retained release.
from ht.ota.agent import Updater
from ht.ota.release import Context
import otafake as F

FILES = {"ht/__init__.mpy": b"V" * 100, "ht/radio/app.mpy": bytes(range(200)) * 2, "hal/esp32.mpy": b"e" * 64}


def make(store=None, files=FILES, retry_ms=1000, **kw):
    store = store or F.MemStore()
    blob, chunks = F.release(files, **kw)
    wire = F.Wire(chunks)
    events = []
    u = Updater("kota", store, F.KEY, Context("0.1.0", None, 1, "x64", "LILYGO_T_A7670", None), wire.send,
                lambda k, d: events.append((k, d)), retry_ms=retry_ms)
    u.start(0)
    return u, wire, store, events


def run(u, wire, t=0, steps=400, busy=lambda t: False):
    for _ in range(steps):
        u.tick(t, busy(t))
        wire.deliver(u, t)
        t += 10
    return t


def test_a_release_is_fetched_verified_and_staged():
    u, wire, store, _ = make()
    u.offer({"rid": "r1", "v": "0.2.0", "mb": wire.mb}, 0)
    run(u, wire)
    assert u.status == "staged v0.2.0" and u.want_reboot
    assert store.versions["0.2.0"] == FILES
    assert '"0.2.0"' in store.get("next") and store.get("dl") is None
    assert wire.status[0] == "downloading"


def test_a_lost_chunk_is_asked_for_again():
    u, wire, store, events = make()
    wire.drop = {"2/3", "m/0"}
    u.offer({"rid": "r1", "v": "0.2.0", "mb": wire.mb}, 0)
    run(u, wire)
    assert u.status == "staged v0.2.0"
    assert len([e for e in events if e[0] == "ota_retry"]) == 2


def _gaps(wire, suffix):
    times = [t for t, s in wire.asked if s == suffix]
    return [b - a for a, b in zip(times, times[1:])]


def test_a_lost_chunk_is_asked_again_after_the_wait_the_link_showed():
    # answers take 150 ms: once some were timed, a lost chunk is asked for again after 1 s (the floor), not
    # after the first guess of 4 s; 5 % loss on a 230-chunk release costs seconds, not most of a minute
    u, wire, store, events = make(retry_ms=4000)
    wire.lag = 150
    wire.drop = {"2/0"}
    u.offer({"rid": "r1", "v": "0.2.0", "mb": wire.mb}, 0)
    run(u, wire, steps=2000)
    assert u.status == "staged v0.2.0" and store.versions["0.2.0"] == FILES
    assert [1000 <= g <= 1100 for g in _gaps(wire, "2/0")] == [True]


def test_a_slow_link_is_not_asked_twice_for_every_chunk():
    # answers take 5 s, longer than the first guess: one repeat, then the wait follows the link
    u, wire, store, events = make(retry_ms=4000)
    wire.lag = 5000
    u.offer({"rid": "r1", "v": "0.2.0", "mb": wire.mb}, 0)
    run(u, wire, steps=20000)
    assert u.status == "staged v0.2.0" and store.versions["0.2.0"] == FILES
    retries = [e for e in events if e[0] == "ota_retry"]
    assert len(retries) == 1 and wire.requests == len(set(s for _, s in wire.asked)) + 1


def test_a_silent_link_is_asked_less_and_less_often():
    u, wire, store, events = make(retry_ms=1000)
    wire.drop = {"m/0"}
    u.offer({"rid": "r1", "v": "0.2.0", "mb": wire.mb}, 0)
    wire.lag = 10 ** 9                      # nothing answers any more
    run(u, wire, steps=4000)
    assert _gaps(wire, "m/0")[:5] == [1000, 2000, 4000, 8000, 16000]


def test_a_reboot_mid_download_resumes_at_the_saved_chunk():
    store = F.MemStore()
    u, wire, _, _ = make(store)
    u.offer({"rid": "r1", "v": "0.2.0", "mb": wire.mb}, 0)
    run(u, wire, steps=8)
    done = u.progress()
    assert 0 < done < sum(len(b) for b in FILES.values())
    u2, wire2, _, _ = make(store)           # a new boot: same store, fresh agent
    assert u2.status == "downloading"
    run(u2, wire2)
    assert u2.status == "staged v0.2.0" and store.versions["0.2.0"] == FILES
    assert wire2.requests < wire.requests + 20 and wire2.requests < 15    # not started over


def test_busy_pauses_requests_and_resumes_after():
    u, wire, store, events = make()
    u.offer({"rid": "r1", "v": "0.2.0", "mb": wire.mb}, 0)
    asked = []

    def send(op, topic, payload, inner=wire.send):
        if op == "sub":
            asked.append(t[0])
        inner(op, topic, payload)
    u.send = send
    t = [0]
    for _ in range(400):
        busy = 50 <= t[0] < 2000
        u.tick(t[0], busy)
        wire.deliver(u, t[0])
        t[0] += 10
    assert not [a for a in asked if 50 <= a < 2000]
    assert u.status == "staged v0.2.0"
    assert [e[0] for e in events if e[0] in ("ota_pause", "ota_resume")] == ["ota_pause", "ota_resume"]


def _refused(u):
    return u.status.startswith("refused: ")


def test_a_tampered_file_is_refused_and_nothing_is_staged():
    u, wire, store, _ = make()
    wire.chunks["2/3"] = b"X" + wire.chunks["2/3"][1:]
    u.offer({"rid": "r1", "v": "0.2.0", "mb": wire.mb}, 0)
    run(u, wire)
    assert u.status == "refused: tampered ht/radio/app.mpy"
    assert not store.versions and store.get("next") is None and not store.stage and not u.want_reboot


def test_a_wrong_signature_is_refused():
    u, wire, store, _ = make(d_hex="3" * 400)
    u.offer({"rid": "r1", "v": "0.2.0", "mb": wire.mb}, 0)
    run(u, wire, steps=5)
    assert u.status == "refused: bad signature" and wire.requests == 1


def test_another_target_or_board_is_refused():
    u, wire, _, _ = make(target="xtensawin")
    u.offer({"rid": "r1", "v": "0.2.0", "mb": wire.mb}, 0)
    run(u, wire, steps=5)
    assert u.status == "refused: other target xtensawin"
    u, wire, _, _ = make(boards=["DIY_DEVKITC_EC200U"])
    u.offer({"rid": "r1", "v": "0.2.0", "mb": wire.mb}, 0)
    run(u, wire, steps=5)
    assert u.status == "refused: other board"


def test_a_downgrade_below_the_floor_is_refused():
    store = F.MemStore()
    store.put("active", '{"v": "0.3.0", "floor": "0.3.0"}')
    store.versions["0.3.0"] = {}
    u, wire, _, _ = make(store, v="0.2.5")
    u.offer({"rid": "r1", "v": "0.2.5", "mb": wire.mb}, 0)
    run(u, wire, steps=5)
    assert u.status == "refused: downgrade v0.2.5 below v0.3.0"
    assert store.get("active") == '{"v": "0.3.0", "floor": "0.3.0"}'


def test_too_little_flash_and_an_old_bootstrap_are_refused():
    u, wire, _, _ = make(F.MemStore(free=500))
    u.offer({"rid": "r1", "v": "0.2.0", "mb": wire.mb}, 0)
    run(u, wire, steps=5)
    assert u.status.startswith("refused: no space")
    u, wire, _, _ = make(min_boot=2)
    u.offer({"rid": "r1", "v": "0.2.0", "mb": wire.mb}, 0)
    run(u, wire, steps=5)
    assert u.status == "refused: bootstrap 1 < 2"


def test_a_release_on_trial_is_kept_once_online_and_given_up_when_not():
    store = F.MemStore()
    store.put("active", '{"v": "0.2.0", "prev": null, "trial": 1}')
    u, wire, _, _ = make(store)
    u.online(100)
    assert u.status == "running v0.2.0" and '"trial": 0' in store.get("active")
    store.put("active", '{"v": "0.2.0", "prev": null, "trial": 1}')
    u, wire, _, _ = make(store)
    u.trial_ms = 1000
    run(u, wire, steps=150)
    assert store.get("giveup") and u.want_reboot


def test_a_release_that_was_rolled_back_is_not_taken_again():
    store = F.MemStore()
    store.put("active", '{"rb": "0.2.0"}')
    u, wire, _, _ = make(store)
    assert u.status == "rolled back from v0.2.0"
    u.offer({"rid": "r1", "v": "0.2.0", "mb": wire.mb}, 0)
    assert u.status == "refused: rolled back before" and wire.requests == 0
