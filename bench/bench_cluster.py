"""The old floor rule on a clustered broker (issue 9, docs/SCALE.md): 3 stand-in radios press PTT at the same
instant, ROUNDS times, each subscriber takes the first claim it receives as the winner (docs/FLOOR.md §3), and
a round counts as a disagreement when two subscribers name different winners (htsim.floorpress).

- floor_fold_disagreements_cluster: a 3-node RabbitMQ cluster on loopback, radio i on node i.
- floor_fold_disagreements_rabbitmq_1node: the same cluster, every radio on node 1.
- floor_fold_disagreements_mosquitto: one Mosquitto.
Rounds in which a subscriber missed a claim are counted in floor_fold_incomplete_* (expected 0). The arbiter's
figure on the same rig will be floor_disagreements_cluster (goal 0).
"""
from htctl.mosquitto import Mosquitto
from htsim.floorpress import simultaneous_presses
from htsim.rabbitmq import RabbitCluster, installed

ROUNDS = 300

UNITS = {"floor_fold_rounds": "presses", "floor_fold_disagreements_cluster": "presses",
         "floor_fold_disagreements_rabbitmq_1node": "presses", "floor_fold_disagreements_mosquitto": "presses",
         "floor_fold_incomplete_cluster": "presses", "floor_fold_incomplete_mosquitto": "presses"}
GOALS = {"floor_fold_disagreements_cluster": "> 0 (why the arbiter exists)",
         "floor_fold_disagreements_mosquitto": "0"}


def run():
    out = {"floor_fold_rounds": ROUNDS}
    with Mosquitto() as m:
        r = simultaneous_presses([m.port], ROUNDS)
    out["floor_fold_disagreements_mosquitto"] = r["disagreements"]
    out["floor_fold_incomplete_mosquitto"] = r["incomplete"]
    if not installed():
        raise RuntimeError("rabbitmq-server is not installed: run `make sysdeps`")
    with RabbitCluster(nodes=3) as c:
        r = simultaneous_presses(c.mqtt_ports, ROUNDS, user=c.user, password=c.password)
        out["floor_fold_disagreements_cluster"] = r["disagreements"]
        out["floor_fold_incomplete_cluster"] = r["incomplete"]
        r = simultaneous_presses(c.mqtt_ports[:1], ROUNDS, user=c.user, password=c.password)
        out["floor_fold_disagreements_rabbitmq_1node"] = r["disagreements"]
    return out
