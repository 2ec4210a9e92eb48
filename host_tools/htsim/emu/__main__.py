"""python -m htsim.emu --dialect A7670 [--pty] [--time-scale 0.1] [--scenario f.json] ...: run the emulator
until Ctrl-C, printing where its UART and control port are."""
import argparse
import json
import signal
import sys
import threading

from . import DIALECTS, LinkModel, ModemEmulator, SimCard
from .core import DEFAULT_IMEI
from .sim import DEFAULT_ICCID


def build_parser(p=None, json_option=True):
    p = p or argparse.ArgumentParser(prog="python -m htsim.emu", description=__doc__)
    p.add_argument("--dialect", default="A7670", help="one of %s" % ", ".join(sorted(DIALECTS)))
    p.add_argument("--pty", action="store_true", help="also expose the UART on a pseudo-terminal")
    p.add_argument("--time-scale", type=float, default=1.0, help="0.1 = emulated delays 10x shorter")
    p.add_argument("--baud", type=int, default=115200, help="UART line rate emulated (0 = unthrottled)")
    p.add_argument("--powered", action="store_true", help="boot at once instead of waiting for a PWRKEY pulse")
    p.add_argument("--pin", default=None, help="SIM PIN (SIM starts locked)")
    p.add_argument("--no-sim", action="store_true", help="start without a SIM card")
    p.add_argument("--iccid", default=DEFAULT_ICCID)
    p.add_argument("--imsi", default="510101234567890")
    p.add_argument("--imei", default=DEFAULT_IMEI)
    p.add_argument("--delay-ms", type=float, default=0.0, help="one-way delay on socket data")
    p.add_argument("--jitter-ms", type=float, default=0.0)
    p.add_argument("--loss", type=float, default=0.0, help="segment loss probability (costs an RTO)")
    p.add_argument("--urc-interleave", action="store_true", help="sometimes put URCs before a final result")
    p.add_argument("--scenario", default=None, help="JSON list of timed faults")
    p.add_argument("--seed", type=int, default=1)
    if json_option:
        p.add_argument("--json", action="store_true", help="print the ports as one JSON line")
    return p


def make_emulator(args):
    link = None
    if args.delay_ms or args.jitter_ms or args.loss:
        link = LinkModel(delay_ms=args.delay_ms, jitter_ms=args.jitter_ms, loss=args.loss, seed=args.seed)
    sim = SimCard(iccid=args.iccid, imsi=args.imsi, pin=args.pin, present=not args.no_sim)
    return ModemEmulator(dialect=args.dialect, sim=sim, imei=args.imei, time_scale=args.time_scale,
                         baud=args.baud or None, powered=args.powered, link=link, seed=args.seed,
                         urc_interleave=args.urc_interleave)


def serve(args, out=sys.stdout, stop_event=None):
    """Start, report, block until stop_event (returns 0) or Ctrl-C (KeyboardInterrupt, after stopping)."""
    emu = make_emulator(args)
    if args.scenario:
        from .scenario import load
        load(args.scenario)          # validate before starting anything
    emu.start()
    try:
        info = {"dialect": emu.dialect.name, "uart_port": emu.uart_port, "ctl_port": emu.ctl_port,
                "pty": emu.open_pty() if args.pty else None, "time_scale": emu.time_scale}
        if args.scenario:
            info["scenario_steps"] = emu.run_scenario(args.scenario)
        if getattr(args, "json", False):
            print(json.dumps(info), file=out, flush=True)
        else:
            print("modem emulator %s (time scale %g)" % (info["dialect"], info["time_scale"]), file=out)
            print("  UART     tcp 127.0.0.1:%d" % info["uart_port"], file=out)
            if info["pty"]:
                print("  UART     pty %s" % info["pty"], file=out)
            print("  control  tcp 127.0.0.1:%d  (pin PWRKEY 1 | fault <name> | status)" % info["ctl_port"],
                  file=out)
            if not args.powered:
                print("  modem is off: pulse PWRKEY (pin PWRKEY 1, then 0) to boot it", file=out)
            print("Ctrl-C to stop.", file=out, flush=True)
        stop_event = stop_event or threading.Event()
        while not stop_event.wait(0.5):   # Ctrl-C: KeyboardInterrupt after the emulator stopped (exit 130)
            pass
    finally:
        emu.stop()
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(SystemExit(0)))
    except ValueError:
        pass
    try:
        return serve(args)
    except KeyboardInterrupt:
        return 130
    except ValueError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
