"""Fleet simulation (`htctl sim`, `make demo`): N real radios, a broker, LTE links, a scenario, a report.
docs/FLEET.md. The firmware folder goes on the import path here (the report maps unit names to frame ids
with the firmware's own ht.radio_guard, the broker ACL comes from ht.topics)."""
from htctl import fwshared  # noqa: F401  (puts firmware/ on sys.path)
