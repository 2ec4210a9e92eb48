"""htctl flash --port P --board B --firmware micropython.bin — write MicroPython with esptool.

Injected (tests): ``esp`` — an already-connected esptool loader (e.g. ``MagicMock(spec=ESPLoader)``), used
instead of opening ``--port``.
"""
from .. import boards, flash
from ..output import add_json_option
from ._radios import add_port_option, resolve_port

NAME = "flash"
HELP = "flash the MicroPython firmware image onto a radio's ESP32 (esptool: detect, erase, write, verify)"


def configure(parser):
    add_port_option(parser)
    parser.add_argument("--board", "-b", required=True, help="board name or board.json path (`htctl boards list`)")
    parser.add_argument("--firmware", "-f", required=True, metavar="BIN",
                        help="official MicroPython ESP32 .bin (https://micropython.org/download/ESP32_GENERIC/)")
    parser.add_argument("--baud", type=int, default=460800, help="flashing baud rate (default 460800)")
    parser.add_argument("--no-erase", action="store_true", help="skip the full-chip erase (keeps the filesystem)")
    add_json_option(parser)


def run(args, ctx):
    board = boards.load_board(args.board, ctx.boards_dir)
    data = flash.read_image(args.firmware, board)
    info = flash.check_image_for_board(data, board, args.firmware)  # refuse a bad file before touching the port
    if args.baud <= 0:
        from ..errors import UserError
        raise UserError("--baud %s: must be a positive baud rate" % args.baud, hint="e.g. --baud 460800")
    esp = ctx.get("esp")
    opened = esp is None
    port = args.port if esp is not None else resolve_port(ctx, args.port)
    if opened:
        ctx.out.line("Connecting to %s ..." % port)
        esp = flash.connect(port, args.baud)
    try:
        with ctx.out.progress("Writing %s" % info["chip"], total=None) as bar:
            result = flash.flash_firmware(esp, board, data, progress=bar, erase=not args.no_erase)
    finally:
        if opened:
            flash.close(esp)
    result["port"] = port
    result["firmware"] = str(args.firmware)
    ctx.out.emit(result, lambda out, r: out.line(
        "Flashed %s (%d bytes, sha256 %s…) to %s at 0x%x on %s, MAC %s: verified." % (
            r["firmware"], r["size"], r["sha256"][:12], r["chip"], r["offset"], r["port"], r["mac"] or "?")))
    return 0
