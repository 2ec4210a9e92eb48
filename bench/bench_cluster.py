"""The old floor rule on a clustered broker (issue 9, docs/SCALE.md): 3 stand-in radios press PTT at the same
instant, ROUNDS times, each subscriber takes the first claim it receives as the winner (docs/FLOOR.md §3), and
a round counts as a disagreement when two subscribers name different winners (htsim.floorpress).

- floor_fold_disagreements_cluster: a 3-node RabbitMQ cluster on loopback, radio i on node i.
- floor_fold_disagreements_rabbitmq_1node: the same cluster, every radio on node 1.
- floor_fold_disagreements_mosquitto: one Mosquitto.
Rounds in which a subscriber missed a claim are counted in floor_fold_incomplete_* (expected 0).

The arbiter (docs/FLOOR.md) on the same cluster (htsim.floorarb): primary on node 1, standby on node 2, radio i on
node i applying the grants topic's records with the radio's rule ((epoch, seq) newer than the last).
- floor_disagreements_cluster: rounds ending with two radios naming different holders (goal 0);
  floor_incomplete_cluster: rounds where a radio did not apply the GRANT or the IDLE within 10 s;
  floor_records_out_of_order_cluster: radios whose applied records are not gapless and in (epoch, seq) order.
- arbiter_failover_s_cluster: the primary is stopped while u0 holds the floor -> every radio has applied a record
  of the standby's new epoch (the logic model's figure is bench_floor's arbiter_failover_s); the holder's
  longest wait between two of its GRANTs through that is arbiter_failover_lease_gap_s (must stay < the 4 s lease).
"""
from htctl.mosquitto import Mosquitto
from htsim.floorarb import ArbiterThread, arbiter_rounds, failover, follow_rig, gapless, in_order
from htsim.floorpress import simultaneous_presses
from htsim.rabbitmq import RabbitCluster, installed

ROUNDS = 300

UNITS = {"floor_fold_rounds": "presses", "floor_fold_disagreements_cluster": "presses",
         "floor_fold_disagreements_rabbitmq_1node": "presses", "floor_fold_disagreements_mosquitto": "presses",
         "floor_fold_incomplete_cluster": "presses", "floor_fold_incomplete_mosquitto": "presses",
         "floor_disagreements_cluster": "presses", "floor_incomplete_cluster": "presses",
         "floor_records_out_of_order_cluster": "radios", "arbiter_failover_s_cluster": "s",
         "arbiter_failover_lease_gap_s": "s"}
GOALS = {"floor_fold_disagreements_cluster": "> 0 (why the arbiter exists)",
         "floor_fold_disagreements_mosquitto": "0", "floor_disagreements_cluster": "0",
         "floor_records_out_of_order_cluster": "0", "arbiter_failover_s_cluster": "<= 3",
         "arbiter_failover_lease_gap_s": "< 4 (the lease)"}


def arbiter_figures(c: RabbitCluster, rounds: int = ROUNDS) -> dict:
    ports = c.mqtt_ports
    arbs = ArbiterThread("benchar", user=c.user, password=c.password).start(
        [("arb-a", ports[0], False), ("arb-b", ports[1], True)])
    rig, fol = follow_rig(ports, fleet="benchar", user=c.user, password=c.password)
    try:
        rig.start()
        r = arbiter_rounds(rig, fol, rounds)
        f = failover(arbs, rig, fol)
    finally:
        rig.stop()
        arbs.stop()
    return {"floor_disagreements_cluster": r["disagreements"], "floor_incomplete_cluster": r["incomplete"],
            "floor_records_out_of_order_cluster": sum(1 for x in fol.values()
                                                      if not (in_order(x.records()) and gapless(x.records()))),
            "arbiter_failover_s_cluster": round(f["failover_s"], 2) if f["failover_s"] is not None else None,
            "arbiter_failover_lease_gap_s": round(f["lease_gap_s"], 2),
            "arbiter_failover_new_epoch_grants": f["new_grants"]}


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
        out.update(arbiter_figures(c))
    return out
