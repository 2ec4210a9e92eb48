"""htctl ports — the serial ports a radio may be on (like `mpremote devs`); `--port auto` picks the one radio.

Injected names (tests): ``ports`` (the list htctl.ports.list_ports would return).
"""
from ..output import add_json_option

NAME = "ports"
HELP = "list USB serial ports (radios first); --port auto uses the one radio found"


def configure(parser):
    add_json_option(parser)


def run(args, ctx):
    from .. import ports
    found = ctx.get("ports")
    found = ports.list_ports() if found is None else found

    def render(out, rows):
        if not rows:
            out.line("no USB serial port found: plug the radio in with a data cable (not a charge-only one)")
            return
        out.table(["port", "VID:PID", "serial", "what", "radio?"],
                  [[r["port"], "%s:%s" % (r["vid"], r["pid"]), r["serial"] or "", r["what"],
                    "likely" if r["likely"] else ""] for r in rows])
    ctx.out.emit(found, render)
    return 0
