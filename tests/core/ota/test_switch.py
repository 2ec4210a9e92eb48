# The bootstrap (firmware/bootstrap.py) on a real folder: the switch to a staged release, the boot count
# of a release on trial, the rollback, and the agent and bootstrap agreeing on the files between them.
import os
import sys
import bootstrap as B
from ht.ota.agent import Updater
from ht.ota.release import Context
import otafake as F

_N = [0]


def fresh():
    _N[0] += 1
    root = "/tmp/ht_ota_test_%d_%d" % (os.getpid() if hasattr(os, "getpid") else 0, _N[0])
    B.rmtree(root)
    return root


def stage(root, files, v="0.2.0"):
    st = B.FileStore(root)
    blob, chunks = F.release(files, v=v)
    wire = F.Wire(chunks)
    u = Updater("kota", st, F.KEY, Context("0.1.0", None, 1, "x64", "b", None), wire.send, lambda k, d: None)
    u.start(0)
    u.offer({"rid": "r1", "v": v, "mb": wire.mb}, 0)
    t = 0
    while u.state != 3 and t < 20000:
        u.tick(t, False)
        wire.deliver(u, t)
        t += 10
    return u


def test_nothing_staged_boots_the_factory_code_and_writes_nothing():
    root = fresh()
    n = len(sys.path)
    st, a = B.boot(root)
    assert a == {} and len(sys.path) == n
    try:
        os.stat(root)
        assert False, "the bootstrap created its folder with nothing to do"
    except OSError:
        pass


def test_a_staged_release_is_switched_to_on_trial():
    root = fresh()
    u = stage(root, {"ht/x.mpy": b"123" * 50})
    assert u.status == "staged v0.2.0"
    st = B.FileStore(root)
    a = B.select(st)
    assert a["v"] == "0.2.0" and a["trial"] == 1 and st.get("next") is None and st.get("boots") == "1"
    with open(st.folder("0.2.0") + "/ht/x.mpy", "rb") as f:
        assert f.read() == b"123" * 50
    B.rmtree(root)


def test_crashing_boots_roll_back_to_the_previous_version():
    root = fresh()
    stage(root, {"ht/x.mpy": b"1"})
    st = B.FileStore(root)
    for _ in range(B.MAX_BOOTS):
        assert B.select(st).get("v") == "0.2.0"
    a = B.select(st)
    assert a == {"rb": "0.2.0"} and st.get("boots") is None
    assert not B._isdir(st.folder("0.2.0"))
    B.rmtree(root)


def test_online_confirms_and_later_boots_stay():
    root = fresh()
    stage(root, {"ht/x.mpy": b"1"})
    st = B.FileStore(root)
    B.select(st)
    u = Updater("kota", st, F.KEY, Context("0.1.0", None, 1, "x64", "b", None), lambda *a: None, lambda k, d: None)
    u.start(0)
    u.online(10)
    assert u.status == "running v0.2.0"
    for _ in range(B.MAX_BOOTS + 2):
        assert B.select(st) == {"v": "0.2.0", "floor": "0.2.0", "trial": 0}
    B.rmtree(root)


def test_giving_up_rolls_back_at_the_next_boot_and_a_second_update_keeps_one_previous():
    root = fresh()
    stage(root, {"ht/x.mpy": b"1"})
    st = B.FileStore(root)
    B.select(st)
    st.put("active", st.get("active").replace('"trial": 1', '"trial": 0'))
    stage(root, {"ht/x.mpy": b"2"}, v="0.3.0")
    a = B.select(st)
    assert a["v"] == "0.3.0" and a["prev"] == "0.2.0"
    st.put("giveup", "not online")
    a = B.select(st)
    assert a["v"] == "0.2.0" and a["rb"] == "0.3.0"
    assert sorted(os.listdir(root + "/v")) == ["0.2.0"]
    B.rmtree(root)
