"""The voice as people hear it: realistic microphone material (htsim.micsim: speech at -45 dBFS with DC,
50 Hz hum, a 217 Hz TDMA buzz while the modem sends, street noise at 15 dB SNR; fixed seed) through the whole
path under MicroPython (front end (level kernel, noise suppressor) -> ADPCM -> LTE link model -> jitter buffer -> leveller -> speaker), PESQ-NB
against the clean speech, with and without the front end; loudness at the listener for a quiet and a loud
talker; the front end's cost and allocation under MicroPython.
"""
from htsim import micsim
from ht.radio import volume

UNITS = {
    "pesq_realistic_mic": "MOS-LQO", "pesq_realistic_mic_no_denoise": "MOS-LQO", "denoise_us_per_frame": "us",
    "pesq_realistic_mic_raw": "MOS-LQO", "loudness_spread_db": "dB",
    "gate_idle_level_dbfs": "dBFS", "gate_idle_level_raw_dbfs": "dBFS", "speaker_level_dbfs": "dBFS",
    "tone_level_dbfs": "dBFS", "frontend_viper_vs_pure": "x", "frontend_us_per_frame": "us",
    "frontend_alloc_bytes_per_frame": "bytes",
}
GOALS = {
    "pesq_realistic_mic": ">= 3.2",
    "pesq_realistic_mic_raw": "the same material without the front end",
    "pesq_realistic_mic_no_denoise": "the front end without its noise suppressor (gate instead)",
    "denoise_us_per_frame": "the suppressor's share of frontend_us_per_frame",
    "loudness_spread_db": "<= 3 (talkers at -50 and -38 dBFS)",
    "gate_idle_level_dbfs": "low: between words, past the hangover (mic side)",
    "gate_idle_level_raw_dbfs": "the same without the front end",
    "speaker_level_dbfs": "speech at the default volume step",
    "tone_level_dbfs": "a cue tone at the same step (within a few dB of speech)",
    "frontend_viper_vs_pure": "pure / viper time, MicroPython unix",
    "frontend_us_per_frame": "viper, 20 ms frame, MicroPython unix on this PC; ESP32 ~30-50x",
    "frontend_alloc_bytes_per_frame": "0",
}


def run():
    m = micsim.realistic(seed=1)
    vol = volume.speech_dbfs(7)
    fe = micsim.through_path(m["mic"], frontend=True, volume_dbfs=vol)
    raw = micsim.through_path(m["mic"], frontend=False, volume_dbfs=vol)
    nod = micsim.through_path(m["mic"], denoise=False, volume_dbfs=vol)
    out = {
        "pesq_realistic_mic": micsim.pesq_at_speaker(m["clean"], fe["speaker"]),
        "pesq_realistic_mic_raw": micsim.pesq_at_speaker(m["clean"], raw["speaker"]),
        "pesq_realistic_mic_no_denoise": micsim.pesq_at_speaker(m["clean"], nod["speaker"]),
        "gate_idle_level_dbfs": micsim.idle_level(fe["sent"], m["words"]),
        "gate_idle_level_raw_dbfs": micsim.idle_level(raw["sent"], m["words"]),
        "speaker_level_dbfs": micsim.active_level(fe["speaker"]),
        "tone_level_dbfs": micsim.dbfs([volume.tone_amp(7)] * 8),
        "frontend_us_per_frame": fe["frontend_us_per_frame"],
        "denoise_us_per_frame": fe["denoise_us_per_frame"],
        "frontend_viper_vs_pure": fe["frontend_pure_us_per_frame"] / fe["frontend_us_per_frame"],
        "frontend_alloc_bytes_per_frame": fe["frontend_alloc_bytes_per_frame"],
    }
    heard = []
    for lvl in (-50, -38):
        r = micsim.through_path(micsim.scaled(m["clean"], lvl), frontend=True, volume_dbfs=vol)
        heard.append(micsim.active_level(r["speaker"]))
    out["loudness_spread_db"] = abs(heard[0] - heard[1])
    return out
