"""Modem emulator: SIMCom A7670 / SIM7600 and Quectel EC200U / EG91 AT dialects over a TCP port or a pty,
with SIM, registration, PDP, real loopback TCP sockets, SMS/USSD and injectable faults. See docs/EMULATOR.md.
"""
from .core import ModemEmulator
from .dialects import DIALECTS
from .sim import SimCard
from .sockets import LinkModel

__all__ = ["ModemEmulator", "SimCard", "LinkModel", "DIALECTS"]
