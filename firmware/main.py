# Boot: board + config -> HAL -> radio app (docs/ARCHITECTURE.md). Kept tiny: everything testable lives in
# ht/ and hal/. The banner line is what `htctl deploy` waits for after a reset. When a piece is missing the
# radio says so in one status line and leaves the REPL to the technician (provision and bench need it);
# when the app crashes it restarts itself after a pause instead of sitting dead in someone's pocket.
# The bootstrap comes first: it decides which release's ht/ and hal/ the imports below find (docs/OTA.md).
import bootstrap
STORE, ACTIVE = bootstrap.boot()
from ht import VERSION  # noqa: E402 (after the bootstrap chose the release)

_RESTART_PAUSE_MS = 5000


def status(msg):
    print("HT status: " + msg)


def load_board():
    from ht import board
    try:
        return board.load_path("board.json"), None
    except OSError:
        return None, "no board.json on the device; deploy with `htctl deploy --board B`"
    except ValueError as e:
        return None, str(e)


def load_config():
    # A radio without config.json has no unit id or credentials: it waits at the REPL for `htctl provision`.
    # A damaged one still boots on the settings that parse (ht.config falls back field by field).
    from ht import config
    try:
        with open("config.json") as f:
            cfg, errors = config.load(f.read())
    except OSError:
        return None
    for e in errors:
        status("config " + e)
    return cfg


def main():
    board, problem = load_board()
    print("HT firmware %s board=%s" % (VERSION, board.get("name", "?") if board else "none"))
    if board is None:
        status(problem)
        return
    cfg = load_config()
    if cfg is None:
        status("not provisioned (no config.json); run `htctl provision`; REPL ready")
        return
    import hal
    radio_hal = hal.create(board)
    try:
        from ht.radio import boot as radio_boot
    except ImportError as e:
        status("radio app not available (%s); REPL ready" % e)
        if ACTIVE.get("trial"):
            radio_hal.restart()     # a release on trial that cannot import: count the boot, roll back
        return
    import asyncio
    try:
        asyncio.run(radio_boot.run(radio_hal, board, cfg, ota_store=STORE, ota_version=VERSION))
    except KeyboardInterrupt:
        raise  # the technician pressed Ctrl-C: give them the REPL
    except Exception as e:
        import sys
        from ht.compat import sleep_ms
        if hasattr(sys, "print_exception"):
            sys.print_exception(e)
        else:
            print(repr(e))
        status("app stopped; restarting in %d s (Ctrl-C for the REPL)" % (_RESTART_PAUSE_MS // 1000))
        sleep_ms(_RESTART_PAUSE_MS)
        radio_hal.restart()


main()
