"""Pages and APIs of the console's features beyond the board (roll call, emergencies, audit, operators)."""
from __future__ import annotations


def install(app) -> None:
    pass
