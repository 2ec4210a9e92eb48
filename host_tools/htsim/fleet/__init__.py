"""Fleet simulation (`htctl sim`, `make demo`): N real radios, a broker, LTE links, a scenario, a summary.
docs/FLEET.md."""
