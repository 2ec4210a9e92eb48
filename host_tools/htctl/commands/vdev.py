"""htctl vdev start — run a virtual radio (the firmware under MicroPython unix) with its REPL on a pty.

Injected names (tests): ``vdev_factory`` (callable returning a VirtualDevice), ``wait`` (callable that
blocks until the user stops the device; default waits for Ctrl-C/SIGTERM).
"""
import re
import signal
import threading

from . import add_actions
from ..errors import NotFoundError, UserError
from ..output import add_json_option

NAME = "vdev"
HELP = "run a virtual radio whose REPL is a pty (for mpremote, htctl deploy/provision/bench, CI)"


def configure(parser):
    acts = add_actions(parser, [
        ("start", "start a virtual device and serve it until Ctrl-C", _configure_start, run_start),
    ])
    add_json_option(acts["start"])


def _configure_start(p):
    p.add_argument("--board", default="LILYGO_T_A7670", help="simulated board (default LILYGO_T_A7670)")
    p.add_argument("--flash", metavar="DIR", default=None,
                   help="folder that plays the device's flash (kept between runs); default a temporary one")
    p.add_argument("--blank", action="store_true",
                   help="do not install the firmware into an empty flash (a fresh radio for `htctl deploy`)")
    p.add_argument("--heap", default="4M",
                   help="MicroPython heap (default 4M ~ ESP32-WROVER with PSRAM; 110K ~ a bare ESP32)")
    p.add_argument("--modem", choices=("auto", "none"), default="auto",
                   help="auto (default): start a modem emulator for the board's AT dialect, wired to the UART "
                        "and the modem control pins; none: no modem (the radio reports it)")
    p.add_argument("--time-scale", type=float, default=None, metavar="S",
                   help="modem emulator pace: 0.05 = twenty times faster than a real modem (default 1); the "
                        "firmware's modem timeouts scale with it")
    p.add_argument("--iccid", default=None,
                   help="the SIM's ICCID (19-20 digits, 89...), e.g. to reproduce a field radio; default a "
                        "valid Telkomsel test number")
    p.add_argument("--imei", default=None, help="the modem's IMEI (15 digits); default a valid test number")


def run(args, ctx):
    return args._run(args, ctx)


def _wait_for_signal():
    """Block until SIGINT/SIGTERM; returns the signal number."""
    stop = threading.Event()
    got = []
    old = {s: signal.signal(s, lambda n, _f: (got.append(n), stop.set())) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    return got[0] if got else None


def _digits(iccid):
    return iccid[:-1] if iccid and iccid.upper().endswith("F") else iccid


def modem_options(args):
    """Keyword arguments for the vdev's own modem emulator from --time-scale/--iccid/--imei (checked)."""
    from ..registry import norm_iccid, norm_imei
    given = [o for o, v in (("--time-scale", args.time_scale), ("--iccid", args.iccid), ("--imei", args.imei))
             if v is not None]
    if given and args.modem == "none":
        raise UserError("%s: needs the modem emulator, not --modem none" % ", ".join(given),
                        hint="leave out --modem (or use --modem auto)")
    opts = {}
    if args.time_scale is not None:
        if not args.time_scale > 0:
            raise UserError("--time-scale %s: must be more than 0" % args.time_scale,
                            hint="1 = a real modem's timing, 0.05 = twenty times faster")
        opts["time_scale"] = args.time_scale
    try:
        if args.iccid is not None:
            from htsim.emu import SimCard
            iccid = norm_iccid(args.iccid)
            # 19-digit card numbers come out of the modem with the F filler, as real modules print them
            opts["sim"] = SimCard(iccid=iccid + "F" if len(iccid) == 19 else iccid)
        if args.imei is not None:
            opts["imei"] = norm_imei(args.imei)
    except ValueError as e:
        raise UserError(str(e), hint="copy it from the SIM card or the modem label (`htctl fleet unit ID` "
                                     "shows the registered ones)") from None
    return opts


def run_start(args, ctx):
    from htsim.vdev import VirtualDevice

    factory = ctx.get("vdev_factory", VirtualDevice)
    if not (ctx.boards_dir / args.board / "board.json").exists():
        raise NotFoundError("unknown board %s (no %s)" % (args.board, ctx.boards_dir / args.board / "board.json"),
                            hint="see `htctl boards list`")
    if not re.match(r"^\d+[KM]?$", args.heap):
        raise UserError("--heap %s: use a number of bytes with K or M, like 110K or 4M" % args.heap,
                        hint="see `htctl vdev start --help`")
    options = modem_options(args)
    dev = factory(board=args.board, flash_dir=args.flash, preload=not args.blank, heap=args.heap,
                  modem=None if args.modem == "none" else "auto", boards_dir=ctx.boards_dir,
                  modem_options=options)
    port = dev.start()
    try:
        emu = dev.modem
        info = {"port": port, "board": args.board, "flash": str(dev.flash_dir), "sim_dir": str(dev.sim_dir),
                "modem_uart_port": getattr(emu, "uart_port", None),
                "modem_ctl_port": getattr(emu, "ctl_port", None),
                "time_scale": getattr(emu, "time_scale", None),
                "iccid": _digits(getattr(getattr(emu, "sim", None), "iccid", None)),
                "imei": getattr(emu, "imei", None)}
        if ctx.json:
            ctx.out.emit(info)
        else:
            ctx.out.line("virtual device %s on %s" % (args.board, port))
            ctx.out.line("  flash folder: %s" % dev.flash_dir)
            if dev.modem is not None:
                ctx.out.line("  modem emulator: UART tcp 127.0.0.1:%s, control tcp 127.0.0.1:%s"
                             % (info["modem_uart_port"], info["modem_ctl_port"]))
                ctx.out.line("  SIM ICCID %s, modem IMEI %s, time scale %s"
                             % (info["iccid"], info["imei"], info["time_scale"]))
            ctx.out.line("  try: mpremote connect %s repl    |    htctl deploy --port %s" % (port, port))
            ctx.out.line("  Ctrl-C stops it")
        ctx.out.stdout.flush()
        sig = ctx.get("wait", _wait_for_signal)()
    finally:
        dev.stop()
    if sig == signal.SIGINT:
        raise KeyboardInterrupt   # exit 130 like every Ctrl-C (docs/CLI.md); SIGTERM is an orderly stop: 0
    return 0
