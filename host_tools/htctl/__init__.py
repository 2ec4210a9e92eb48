"""htctl: host tools for the open PoC handy-talkie (library first, CLI as a thin skin)."""
__version__ = "0.1.0"
