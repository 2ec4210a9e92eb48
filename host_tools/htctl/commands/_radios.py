"""The radios a command works on: a --batch file of ports, the env for their self-tests. Shared by bench and
provision (the leading underscore keeps discover() from taking this module for a command)."""
from ..errors import NotFoundError, UserError


def add_port_option(parser, multiple=False):
    """-p/--port on every command that talks to a radio: a path, or `auto` (the one radio on USB)."""
    parser.add_argument("-p", "--port", action="append" if multiple else "store", default=None,
                        help="serial port (/dev/ttyUSB0), a vdev pty (/dev/pts/N) or `auto` (the one radio on "
                             "USB; `htctl ports` lists them). Default $HTCTL_PORT, else `port` in the config "
                             "file, else auto" + ("; repeat for several radios" if multiple else ""))


def resolve_port(ctx, port):
    """The port to open: the flag, $HTCTL_PORT, the config file's `port`, else auto-detection."""
    from .. import ports
    value = ctx.setting("port", port, "auto").value
    if value == "auto":
        return ports.auto_port(ctx.get("ports"))
    return value


def check_workers(args):
    if getattr(args, "workers", 1) is not None and args.workers < 1:
        raise UserError("--workers %s: must be 1 or more" % args.workers, hint="e.g. --workers 2")


def device_env(args, ctx):
    """The env dict for the device self-tests: the injected one, plus ``--time-scale`` for a virtual device."""
    env = dict(ctx.get("env", {}) or {})
    if args.time_scale:
        env["scale"] = args.time_scale
    return env


def read_batch(path, unit_required):
    """A --batch file: one radio per line, ``port,unit`` (``port`` alone when not ``unit_required``).

    Blank lines and ``#`` comments are skipped; ``;`` works as the separator too. Returns ``[(port, unit)]``
    with unit None where a line gives none.
    """
    want = "`port,unit`" if unit_required else "`port` or `port,unit`"
    try:
        lines = open(path, encoding="utf-8-sig").read().splitlines()
    except FileNotFoundError:
        raise NotFoundError("--batch %s: no such file" % path,
                            hint="give a file of %s lines" % ("`port,unit`" if unit_required else "`port[,unit]`"))
    except UnicodeDecodeError:
        raise UserError("--batch %s is not a text file" % path, hint="one radio per line, e.g. /dev/ttyUSB0,dishub-07")
    except OSError as e:
        raise UserError("cannot read %s: %s" % (path, e.strerror or e),
                        hint="give a file of %s lines" % ("`port,unit`" if unit_required else "`port[,unit]`"))
    jobs = []
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.replace(";", ",").split(",")]
        bad = (len(parts) != 2 or not all(parts)) if unit_required else (len(parts) > 2 or not parts[0])
        if bad:
            raise UserError("%s line %d: expected %s, got %r" % (path, n, want, line),
                            hint="one radio per line, e.g. /dev/ttyUSB0,dishub-07")
        jobs.append((parts[0], parts[1] if len(parts) > 1 and parts[1] else None))
    return jobs
