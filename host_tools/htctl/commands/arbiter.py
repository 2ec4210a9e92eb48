"""htctl arbiter — run the floor arbiter for a fleet's talkgroups (docs/FLOOR.md), primary or standby.

    htctl arbiter --broker mqtt://127.0.0.1:1883 --fleet kota --talkgroups 1,2 [--standby] [--name arb-b]

The broker password comes from $HTCTL_BROKER_PASSWORD (never the command line). Runs until Ctrl-C/SIGTERM.
This module is only the CLI skin: the service is htcc.arbiter.service.
"""
import asyncio
import os
import signal

from ..errors import UserError

NAME = "arbiter"
HELP = "run the floor arbiter (one per talkgroup set; start a second one with --standby)"


def configure(parser):
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="broker URL (default mqtt://127.0.0.1:1883)")
    parser.add_argument("--fleet", default="kota", help="fleet id in the topics (default kota)")
    parser.add_argument("--talkgroups", default="1", help="comma-separated talkgroups to serve (all-call always)")
    parser.add_argument("--standby", action="store_true", help="follow the primary and take over when it stops")
    parser.add_argument("--name", default=None, help="arbiter name and broker account (default arb-a, arb-b standby)")


def parse_broker(url):
    rest = url.split("://", 1)[-1]
    host, _, port = rest.partition(":")
    try:
        return host or "127.0.0.1", int(port or 1883)
    except ValueError:
        raise UserError("bad broker URL %r" % url, hint="use mqtt://HOST:PORT")


def _keys(ctx):
    # The fleet voice key from the registry (and the previous one during a rotation's overlap): floor messages
    # and records are tagged with it (ht.radio.msgtag). Without a registry the arbiter runs untagged and says so.
    import binascii
    from .. import registry
    from ..errors import NotFoundError
    try:
        conn = ctx.open_registry(create=False)
    except NotFoundError:
        ctx.out.warn("tidak ada registri: pesan lantai tanpa tag / no registry: floor messages are not tagged, "
                     "radios with the fleet key will refuse this arbiter")
        return None, ()
    try:
        cfg = registry.fleet_config(conn)
    finally:
        conn.close()
    old = cfg.get("audio.key_old")
    return binascii.unhexlify(cfg["audio.key"]), ((binascii.unhexlify(old),) if old else ())


def run(args, ctx):
    from htcc.arbiter.service import ArbiterService

    host, port = parse_broker(args.broker)
    name = args.name or ("arb-b" if args.standby else "arb-a")
    tgs = tuple(t for t in args.talkgroups.split(",") if t)
    key, accept = _keys(ctx)
    svc = ArbiterService(args.fleet, host, port, name=name, standby=args.standby, talkgroups=tgs, user=name,
                         password=os.environ.get("HTCTL_BROKER_PASSWORD") or None, key=key, accept=accept,
                         on_event=lambda k, d: ctx.out.line("%s %s" % (k, d)) if k != "record" else None)

    async def main():
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(svc.stop()))
        await svc.run()

    asyncio.run(main())
    return 0
