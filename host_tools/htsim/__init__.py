"""Simulators: the modem emulator, the fleet simulation, link models, speech, the virtual device."""
