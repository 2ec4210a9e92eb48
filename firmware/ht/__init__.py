# Pure radio core: no machine/network access and no I/O at import time.
VERSION = "0.1.0"
