"""The broker-order fold that floor control used before the arbiter (docs/FLOOR.md section 9), kept ONLY as a
reference model for bench/bench_floor.py: the firmware no longer contains it."""
