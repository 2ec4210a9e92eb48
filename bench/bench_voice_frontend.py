"""The voice as people hear it: realistic microphone material (htsim.micsim: speech at -45 dBFS with DC,
50 Hz hum, a 217 Hz TDMA buzz while the modem sends (each burst at its own TDMA phase and power), street
noise at 15 dB SNR; fixed seed) through the whole
path under MicroPython (front end (buzz canceller, level kernel, noise suppressor) -> the radio's codec (ADPCME) -> LTE link model -> jitter buffer -> leveller -> speaker), PESQ-NB
against the clean speech, with and without the front end; loudness at the listener for a quiet and a loud
talker; the front end's cost and allocation under MicroPython. Then the same path on other material, so
the figure is not one sample's: the alsa voice and espeak-ng sentences in Bahasa Indonesia and English, each in
street, motorbike and market-babble noise (15 dB SNR, with the hum and the buzz), mean and worst PESQ with the
front end and without. Where the quality goes (seed 1, side by side): the same speech with one impairment
at a time (DC and hum, the buzz, the street noise, all of them), each with and without the front end,
through the whole path and at the mic side (the front end's output, before codec and link); the whole
path on a link without jitter; and the human (alsa) voice heard clearly (-45 dBFS alone, and -30 and
-20 dBFS with room noise), so a change for the noisy material is checked against a talker heard clearly.
"""
import shutil

import numpy as np

from htsim import micsim
from ht.radio import volume
from ht.voice import codecs

UNITS = {
    "pesq_realistic_mic": "MOS-LQO", "pesq_realistic_mic_no_denoise": "MOS-LQO", "denoise_us_per_frame": "us",
    "pesq_realistic_mic_raw": "MOS-LQO", "loudness_spread_db": "dB", "pesq_realistic_mic_no_buzz": "MOS-LQO",
    "pesq_realistic_mic_seeds_mean": "MOS-LQO", "pesq_realistic_mic_seeds_worst": "MOS-LQO",
    "pesq_realistic_mic_seeds_no_buzz_mean": "MOS-LQO", "buzz_us_per_frame": "us", "buzz_locked_us_per_frame": "us",
    "gate_idle_level_dbfs": "dBFS", "gate_idle_level_raw_dbfs": "dBFS", "speaker_level_dbfs": "dBFS",
    "tone_level_dbfs": "dBFS", "frontend_viper_vs_pure": "x", "frontend_us_per_frame": "us",
    "frontend_alloc_bytes_per_frame": "bytes", "pesq_materials_mean": "MOS-LQO",
    "pesq_materials_worst": "MOS-LQO", "pesq_materials_raw_mean": "MOS-LQO", "pesq_materials_raw_worst": "MOS-LQO",
    "pesq_materials_count": "", "pesq_realistic_mic_adpcm": "MOS-LQO", "pesq_materials_adpcm_mean": "MOS-LQO",
    "pesq_materials_adpcm_worst": "MOS-LQO",
}
GOALS = {
    "pesq_realistic_mic": ">= 3.2",
    "pesq_realistic_mic_raw": "the same material without the front end",
    "pesq_realistic_mic_no_denoise": "the front end without its noise suppressor (gate instead)",
    "denoise_us_per_frame": "the suppressor's share of frontend_us_per_frame",
    "pesq_realistic_mic_no_buzz": "the front end without its buzz canceller (mic.buzz off)",
    "pesq_realistic_mic_seeds_mean": "the same material, seeds 1-4: mean",
    "pesq_realistic_mic_seeds_worst": "... and the worst",
    "pesq_realistic_mic_seeds_no_buzz_mean": "seeds 1-4 without the buzz canceller: mean",
    "buzz_us_per_frame": "the buzz canceller's share (the material's frames in order)",
    "buzz_locked_us_per_frame": "... its locked frames (a burst being cancelled)",
    "loudness_spread_db": "<= 3 (talkers at -50 and -38 dBFS)",
    "gate_idle_level_dbfs": "low: between words, past the hangover (mic side)",
    "gate_idle_level_raw_dbfs": "the same without the front end",
    "speaker_level_dbfs": "speech at the default volume step",
    "tone_level_dbfs": "a cue tone at the same step (within a few dB of speech)",
    "frontend_viper_vs_pure": "pure / viper time, MicroPython unix",
    "frontend_us_per_frame": "viper, 20 ms frame, MicroPython unix on this PC; ESP32 ~30-50x",
    "frontend_alloc_bytes_per_frame": "0",
    "pesq_materials_mean": "voices x noises (seed 2), with the front end: mean",
    "pesq_materials_worst": "... and the worst of them",
    "pesq_materials_raw_mean": "the same without the front end",
    "pesq_materials_raw_worst": "",
    "pesq_materials_count": "materials (3 voices x 3 noises; 3 noises if espeak-ng is missing)",
    "pesq_realistic_mic_adpcm": "the same path with codec adpcm (PT 5, plain DVI4: the default before adpcme)",
    "pesq_materials_adpcm_mean": "pesq_materials_mean with codec adpcm",
    "pesq_materials_adpcm_worst": "",
}
OFF = -300.0          # an impairment's level that leaves it out
BREAKDOWN = {         # micsim.realistic() keywords: the seed-1 material with one impairment at a time
    "speech": dict(snr_db=-OFF, hum_dbfs=OFF, buzz_dbfs=OFF, dc=0),
    "hum": dict(snr_db=-OFF, buzz_dbfs=OFF),
    "buzz": dict(snr_db=-OFF, hum_dbfs=OFF, dc=0),
    "street": dict(hum_dbfs=OFF, buzz_dbfs=OFF, dc=0),
    "nobuzz": dict(buzz_dbfs=OFF),
}
for _k in BREAKDOWN:
    UNITS["pesq_breakdown_%s" % _k] = UNITS["pesq_breakdown_%s_raw" % _k] = "MOS-LQO"
    UNITS["pesq_breakdown_%s_mic" % _k] = "MOS-LQO"
GOALS.update({
    "pesq_breakdown_speech": "the human (alsa) voice alone at -45 dBFS (what codec and path leave)",
    "pesq_breakdown_hum": "+ DC 300 and 50/100/150 Hz hum at -50 dBFS",
    "pesq_breakdown_buzz": "+ the modem's TDMA buzz only (two 0.8 s bursts, -52 dBFS)",
    "pesq_breakdown_street": "+ street noise only (15 dB SNR)",
    "pesq_breakdown_nobuzz": "everything but the buzz",
    "pesq_breakdown_all_mic": "pesq_realistic_mic's material at the mic side (front end out, no codec)",
    "pesq_breakdown_all_nojitter": "pesq_realistic_mic on a link without LTE jitter",
    "pesq_human_loud": "alsa voice -20 dBFS, 40 dB SNR (radio at the mouth)",
    "pesq_human_mid": "alsa voice -30 dBFS, 40 dB SNR",
})
for _k in ("all_mic", "all_nojitter", "human_loud", "human_mid"):
    UNITS["pesq_%s" % _k if _k.startswith("human") else "pesq_breakdown_%s" % _k] = "MOS-LQO"
for _k in ("human_loud", "human_mid"):
    UNITS["pesq_%s_raw" % _k] = "MOS-LQO"


def materials(seed=2):
    """(name, micsim.realistic(...)) for every voice x noise; espeak voices only where espeak-ng is installed."""
    voices = [("alsa", None)]
    if shutil.which("espeak-ng"):
        voices += [(lang, micsim.espeak_speech(lang)) for lang in ("id", "en")]
    return [("%s/%s" % (v, nz), micsim.realistic(seed=seed, noise=nz, utterance=u))
            for v, u in voices for nz in micsim.NOISES]


def breakdown(m, vol, fe_all):
    """Where the quality goes: see the module's docstring. m: the seed-1 material, fe_all: its whole path."""
    out = {"pesq_breakdown_all_mic": micsim.pesq_at_speaker(m["clean"], fe_all["sent"])}
    r = micsim.through_path(m["mic"], volume_dbfs=vol, link="clean-nojitter")
    out["pesq_breakdown_all_nojitter"] = micsim.pesq_at_speaker(m["clean"], r["speaker"])
    for name, kw in BREAKDOWN.items():
        b = micsim.realistic(seed=1, **kw)
        for fe, suffix in ((True, ""), (False, "_raw")):
            r = micsim.through_path(b["mic"], frontend=fe, volume_dbfs=vol)
            out["pesq_breakdown_%s%s" % (name, suffix)] = micsim.pesq_at_speaker(b["clean"], r["speaker"])
            if fe:
                out["pesq_breakdown_%s_mic" % name] = micsim.pesq_at_speaker(b["clean"], r["sent"])
    clean = m["clean"]
    for name, lvl, snr in (("mid", -30, 40), ("loud", -20, 40)):
        mic = micsim.scaled(clean, lvl, snr_db=snr)
        for fe, suffix in ((True, ""), (False, "_raw")):
            r = micsim.through_path(mic, frontend=fe, volume_dbfs=vol)
            out["pesq_human_%s%s" % (name, suffix)] = micsim.pesq_at_speaker(clean, r["speaker"])
    return out


def run():
    m = micsim.realistic(seed=1)
    vol = volume.speech_dbfs(7)
    fe = micsim.through_path(m["mic"], frontend=True, volume_dbfs=vol)
    raw = micsim.through_path(m["mic"], frontend=False, volume_dbfs=vol)
    nod = micsim.through_path(m["mic"], denoise=False, volume_dbfs=vol)
    plain = micsim.through_path(m["mic"], frontend=True, volume_dbfs=vol, pt=codecs.PT_ADPCM)
    nob = micsim.through_path(m["mic"], buzz=False, volume_dbfs=vol)
    out = {
        "pesq_realistic_mic_adpcm": micsim.pesq_at_speaker(m["clean"], plain["speaker"]),
        "pesq_realistic_mic": micsim.pesq_at_speaker(m["clean"], fe["speaker"]),
        "pesq_realistic_mic_raw": micsim.pesq_at_speaker(m["clean"], raw["speaker"]),
        "pesq_realistic_mic_no_denoise": micsim.pesq_at_speaker(m["clean"], nod["speaker"]),
        "pesq_realistic_mic_no_buzz": micsim.pesq_at_speaker(m["clean"], nob["speaker"]),
        "gate_idle_level_dbfs": micsim.idle_level(fe["sent"], m["words"]),
        "gate_idle_level_raw_dbfs": micsim.idle_level(raw["sent"], m["words"]),
        "speaker_level_dbfs": micsim.active_level(fe["speaker"]),
        "tone_level_dbfs": micsim.dbfs([volume.tone_amp(7)] * 8),
        "frontend_us_per_frame": fe["frontend_us_per_frame"],
        "denoise_us_per_frame": fe["denoise_us_per_frame"],
        "buzz_us_per_frame": fe["buzz_us_per_frame"],
        "buzz_locked_us_per_frame": fe.get("buzz_locked_us_per_frame", 0.0),
        "frontend_viper_vs_pure": fe["frontend_pure_us_per_frame"] / fe["frontend_us_per_frame"],
        "frontend_alloc_bytes_per_frame": fe["frontend_alloc_bytes_per_frame"],
    }
    fe_all = fe
    seeds, seeds_nob = [out["pesq_realistic_mic"]], [out["pesq_realistic_mic_no_buzz"]]
    for seed in (2, 3, 4):
        ms = micsim.realistic(seed=seed)
        for acc, kw in ((seeds, {}), (seeds_nob, {"buzz": False})):
            r = micsim.through_path(ms["mic"], volume_dbfs=vol, **kw)
            acc.append(micsim.pesq_at_speaker(ms["clean"], r["speaker"]) or 1.0)
    out["pesq_realistic_mic_seeds_mean"] = float(np.mean(seeds))
    out["pesq_realistic_mic_seeds_worst"] = float(np.min(seeds))
    out["pesq_realistic_mic_seeds_no_buzz_mean"] = float(np.mean(seeds_nob))
    heard = []
    for lvl in (-50, -38):
        r = micsim.through_path(micsim.scaled(m["clean"], lvl), frontend=True, volume_dbfs=vol)
        heard.append(micsim.active_level(r["speaker"]))
    out["loudness_spread_db"] = abs(heard[0] - heard[1])
    out.update(breakdown(m, vol, fe_all))
    fe_q, raw_q, pl_q = [], [], []
    for name, mat in materials():
        for fe, acc, pt in ((True, fe_q, None), (False, raw_q, None), (True, pl_q, codecs.PT_ADPCM)):
            r = micsim.through_path(mat["mic"], frontend=fe, volume_dbfs=vol, pt=pt)
            acc.append(micsim.pesq_at_speaker(mat["clean"], r["speaker"]) or 1.0)
        print("   %-16s PESQ %.2f (raw %.2f, adpcm %.2f)" % (name, fe_q[-1], raw_q[-1], pl_q[-1]), flush=True)
    out["pesq_materials_adpcm_mean"] = float(np.mean(pl_q))
    out["pesq_materials_adpcm_worst"] = float(np.min(pl_q))
    out["pesq_materials_mean"] = float(np.mean(fe_q))
    out["pesq_materials_worst"] = float(np.min(fe_q))
    out["pesq_materials_raw_mean"] = float(np.mean(raw_q))
    out["pesq_materials_raw_worst"] = float(np.min(raw_q))
    out["pesq_materials_count"] = len(fe_q)
    return out
