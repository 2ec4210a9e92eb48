"""One floor arbiter per talkgroup set (docs/FLOOR.md): the pure decision core and its MQTT service."""
from htcc.arbiter.core import Arbiter, Talkgroup

__all__ = ["Arbiter", "Talkgroup"]
