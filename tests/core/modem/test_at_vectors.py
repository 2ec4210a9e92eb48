# Our 27.007 parsers against ModemManager's published test vectors (tests/core/modem/vectors_modemmanager.py):
# every family, every vector right. Runs on CPython and, through tests/test_mpy_tier.py, MicroPython.
import vectors_score as VS


def _family(name):
    res = VS.score()
    n, wrong = res[name]
    assert n > 0
    assert not wrong, "%s: %d of %d wrong:\n%s" % (name, len(wrong), n, "\n".join(wrong))


def test_registration_vectors():
    _family("reg")


def test_cpin_vectors():
    _family("cpin")


def test_iccid_vectors():
    _family("iccid")


def test_apn_vectors():
    _family("apn")


def test_cclk_vectors():
    _family("cclk")


def test_cesq_vectors():
    _family("cesq")


def test_cops_vectors():
    _family("cops")


def test_cusd_vectors():
    _family("cusd")


def test_summary_prints_counts():
    res = VS.score()
    line = VS.summary(res)
    print(line)
    m = VS.metrics(res)
    assert m["at_peer_vectors"] == sum(res[f][0] for f in res)
    assert "reg" in line and "cpin" in line
