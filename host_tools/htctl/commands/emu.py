"""htctl emu --dialect A7670 [--pty] [--time-scale 0.1] [--scenario f.json] — run the modem emulator
(docs/EMULATOR.md) until Ctrl-C, printing its UART port/pty and control port.

Injected objects read (tests): ``stdout`` (stream for the port listing), ``stop_event`` (threading.Event that
ends the run instead of Ctrl-C).
"""
import sys

from ..errors import UserError
from ..output import add_json_option

NAME = "emu"
HELP = "run the LTE modem emulator (A7670, SIM7600, EC200U, EG91) on a TCP port or a pty"


def configure(parser):
    from htsim.emu.__main__ import build_parser
    build_parser(parser, json_option=False)
    add_json_option(parser)


def run(args, ctx):
    from htsim.emu.__main__ import serve
    args.json = ctx.json
    try:
        return serve(args, out=ctx.get("stdout", sys.stdout), stop_event=ctx.get("stop_event"))
    except ValueError as e:
        raise UserError(str(e), hint="see `htctl emu --help` and docs/EMULATOR.md") from None
