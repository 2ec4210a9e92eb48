"""`python -m htctl` is the same as the `htctl` command."""
import sys

from htctl.cli import main

sys.exit(main())
