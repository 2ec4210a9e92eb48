"""One error family for every htctl library and command (esptool ``FatalError`` / mpremote ``CommandError``).

Library code raises these and never prints or calls ``sys.exit``; ``htctl.cli.main`` turns them into
``error: <message>`` (+ ``Hint: <hint>``) on stderr and the exit code below. The table is mirrored in
docs/CLI.md — keep both in step.
"""
from __future__ import annotations

# Exit codes (docs/CLI.md "Exit codes").
EXIT_OK = 0
EXIT_FAILED = 1       # the command ran and found problems: board check errors, bench FAIL, not ready
EXIT_USAGE = 2        # bad arguments or bad input data (argparse uses 2 as well)
EXIT_NOT_FOUND = 3    # a file, board, unit or device record that does not exist
EXIT_DEVICE = 4       # the device/port/chip/modem failed or is not the one expected
EXIT_CONFLICT = 5     # the registry and the world disagree (SIM swapped, duplicate ICCID): an alarm
EXIT_INTERNAL = 70    # a bug in htctl (sysexits EX_SOFTWARE); run with --debug for the traceback
EXIT_INTERRUPTED = 130


class HTError(Exception):
    """Base of every error htctl reports to a person. ``hint`` says what to do next."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UserError(HTError):
    """Bad arguments or bad input (a corrupt CSV, an invalid board file)."""

    exit_code = EXIT_USAGE


class NotFoundError(UserError):
    """Something named on the command line does not exist (file, board, unit)."""

    exit_code = EXIT_NOT_FOUND


class DeviceError(HTError):
    """The device did not answer, is the wrong chip, or its modem/SIM failed."""

    exit_code = EXIT_DEVICE


class ConflictError(HTError):
    """The registry and the device disagree (e.g. a swapped SIM): never silently 'fixed'."""

    exit_code = EXIT_CONFLICT


class CheckFailed(HTError):
    """The command completed but the thing it checked is not acceptable (results were already shown)."""

    exit_code = EXIT_FAILED
