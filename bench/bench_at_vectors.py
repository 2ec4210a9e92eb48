"""`make bench` module: our AT parsers against ModemManager's published test vectors
(tests/core/modem/vectors_modemmanager.py, scored by tests/core/modem/vectors_score.py): how many were tried and how
many came out wrong, in all and per family (reg, cpin, iccid, apn, cclk, cesq, cops, cusd)."""
import vectors_score   # tests/core/modem, on the path bench/run.py sets

UNITS = {"at_peer_vectors": "vectors", "at_peer_wrong": "vectors"}
GOALS = {"at_peer_wrong": "0"}


def run():
    return vectors_score.metrics(vectors_score.score())


if __name__ == "__main__":
    print(run())
