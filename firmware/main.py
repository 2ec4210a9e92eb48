# Boot: board + config -> HAL -> radio app (docs/ARCHITECTURE.md). Kept tiny: everything testable lives in
# ht/ and hal/. The banner line is what `htctl deploy` waits for after a reset. No file can brick the radio
# (issue 11): ht.bootfiles reads config.json / board.json as untrusted bytes and falls back to the last
# known good copies, then to factory defaults in the "provision" stage (tone + presence). Only a radio with
# no usable board description, or a fresh one that never had a config, waits at the REPL for the
# technician (deploy and provision need it). When the app crashes it restarts itself after a pause
# instead of sitting dead in someone's pocket.
# The bootstrap comes first: it decides which release's ht/ and hal/ the imports below find (docs/OTA.md).
# Anything of the chosen release that raises before the app runs restarts a release on trial
# (bootstrap.failed: the boot is counted, the previous release follows), never the REPL.
import bootstrap


def reset():
    # The reset the bootstrap counts (hal.restart does the same once a HAL exists; this one is needed when
    # the release's own hal/ cannot be imported).
    try:
        from machine import reset as hard
    except ImportError:          # a desktop or the virtual device (the unix port's machine has no reset):
        raise SystemExit(0)      # leaving the interpreter is the reset
    hard()


STORE, ACTIVE = bootstrap.boot()
try:
    from ht import VERSION  # (after the bootstrap chose the release)
except Exception as e:
    bootstrap.failed(ACTIVE, e, reset)
    raise

_RESTART_PAUSE_MS = 5000


def status(msg):
    print("HT status: " + msg)


def prepare(read=None):
    # -> (board, cfg, provision) to run, or None (said why; the REPL is the technician's). Never raises.
    from ht import bootfiles as F
    read = read or F.read_file
    board, _src, note = F.choose_board(read)
    print("HT firmware %s board=%s" % (VERSION, board.get("name", "?") if board else "none"))
    if note:
        status(note)
    if board is None:
        status("no usable board.json; deploy with `htctl deploy --board B`; REPL ready")
        return None
    if read(F.CONFIG) is None and read(F.CONFIG_LKG) is None:
        status("not provisioned (no config.json); run `htctl provision`; REPL ready")
        return None
    cfg, src, notes = F.choose_config(read)
    for n in notes:
        status(n)
    return board, cfg, src == "defaults"


def main():
    try:
        plan = prepare()
        if plan is None:
            return
        board, cfg, provision = plan
        import hal
        radio_hal = hal.create(board)
        from ht.radio import boot as radio_boot
    except ImportError as e:
        bootstrap.failed(ACTIVE, e, reset)     # on trial: count the boot, roll back
        status("radio app not available (%s); REPL ready" % e)
        return
    except Exception as e:
        bootstrap.failed(ACTIVE, e, reset)
        raise
    if not provision:
        from ht import bootfiles
        bootfiles.keep_good()       # this config and board got us here: the next bad write falls back to them
    import asyncio
    try:
        from ht.bootfiles import save_config
        asyncio.run(radio_boot.run(radio_hal, board, cfg, provision=provision, ota_store=STORE,
                                   ota_version=VERSION, config_store=save_config))
    except KeyboardInterrupt:
        idle = getattr(radio_hal, "watchdog_idle", None)
        if idle is not None:
            idle()  # the watchdog started with the app: keep it fed while the technician has the REPL
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
