"""`make bench` module: our AT parsers against ModemManager's published test vectors
(tests/core/vectors_modemmanager.py, scored by tests/core/vectors_score.py): how many were tried and how
many came out wrong, in all and per family (reg, cpin, iccid, apn, cclk, cesq, cops, cusd)."""
import sys
import pathlib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests" / "core"))

import vectors_score  # noqa: E402

UNITS = {"at_peer_vectors": "vectors", "at_peer_wrong": "vectors"}
GOALS = {"at_peer_wrong": "0"}


def run():
    return vectors_score.metrics(vectors_score.score())


if __name__ == "__main__":
    print(run())
