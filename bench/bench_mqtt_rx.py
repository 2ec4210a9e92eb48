"""The radio's MQTT receive side (ht/mqtt/rx.py Reader) under chunking: fuzzed broker byte streams (small
and oversized PUBLISHes at QoS 0/1, topics longer than the buffer, PINGRESP, an occasional oversized
non-PUBLISH) are fed whole and again cut at random points; a stream is divergent when any chunking gives a
different outcome (messages delivered, oversized drops counted, PUBACKs written, link state).
Before issue 11 about one stream in five diverged (43 of 200 with this generator)."""
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests" / "firmware"))
import test_mqtt_chunking as T  # noqa: E402

UNITS = {"mqtt_fuzz_chunking_divergent": "streams", "mqtt_fuzz_chunking_streams": "streams"}
GOALS = {"mqtt_fuzz_chunking_divergent": "0"}


def run():
    n, bad = T.divergent(1000, seed=2)
    return {"mqtt_fuzz_chunking_streams": n, "mqtt_fuzz_chunking_divergent": bad}


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
