# The voice as people hear it, composed from settings: the microphone front end from the board's
# microphone data and the config (ht/voice/frontend.py), the speaker's leveller and its volume
# (ht/radio/volume.py). ht.radio.app calls these and hands the objects to AudioPath and Indicator.
import ht.board as B
from ht.voice import frontend
from ht.radio.volume import Volume

VOLUME_FILE = "volume.txt"


def _opt(config, key, default):
    try:
        return config.get(key)
    except (KeyError, ValueError):
        return default


def mic_frontend(config, board):
    # None when the config turns the front end off (a line-level input that needs none of it).
    if not _opt(config, "mic.frontend", True):
        return None
    sens = B.mic_sensitivity(board) if board else -26
    return frontend.mic_frontend(sens, _opt(config, "mic.trim_db", 0), _opt(config, "mic.agc", True),
                                 _opt(config, "mic.agc_target_dbfs", -20),
                                 _opt(config, "mic.agc_max_gain_db", 40), _opt(config, "mic.gate", True),
                                 hang_ms=_opt(config, "mic.gate_hang_ms", 400),
                                 floor_db=_opt(config, "mic.gate_floor_db", -12),
                                 denoise=_opt(config, "mic.denoise", True),
                                 buzz=_opt(config, "mic.buzz", True))


def _button(hal, board, name):
    # The volume buttons are optional on a board: None where it has none.
    if not board or B.pin(board, "buttons." + name) is None:
        return None
    return hal.button(name)


def speaker(hal, config, board, store=None):
    # -> (leveller, volume). store: (load, save) for the kept level, or None (tests, the fleet sim).
    load, save = store if store else (None, None)
    vol = Volume(_button(hal, board, "vol_up"), _button(hal, board, "vol_down"), hal.tone,
                 _opt(config, "speaker.volume", 7), load, save)
    if not _opt(config, "speaker.level", True):
        return None, vol
    lev = frontend.rx_leveller(vol.speech_dbfs())
    vol.on_change = lev.set_target
    return lev, vol
