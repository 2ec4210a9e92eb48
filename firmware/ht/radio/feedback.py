# What the user hears and sees. One table: cue name -> tone steps, LED pattern, meaning (English,
# Bahasa Indonesia). docs/QUICKREF.md is the field card generated from the same meanings; keep them in step.
# Tone steps are (freq_hz, ms); freq 0 is silence. LED steps are (colour, ms); colour "off" is dark.
# A cue's LED steps play once over the steady state pattern (ht.radio.leds), then the state pattern resumes.
# repeat=True marks a cue whose state goes on (no signal, quota low, emergency, roll call): its tone
# plays once, and the matching STATE_LED rhythm below keeps showing it for as long as the state lasts.
# Tones stay in 400-2000 Hz: the small speaker and the 8 kHz path carry that band well, and the
# permit/busy/denied shapes differ in rhythm, not only pitch, so they can be told apart in street noise.
# No two cues share a shape (number of tones, up/down melody, pitch band of the first tone): the card names
# each by that shape ("three falling tones" = quota low, "two long low falling tones" = denied), and
# tests/firmware/test_floor_stateful.py checks it. Quota low, online and emergency-by-SMS were changed for
# that (they sounded like preempted, permit and the talk-time pips).

CUES = {
    "permit": ([(1200, 60), (0, 30), (1600, 60)], [("green", 200)], False,
               "Talk permit: you have the channel, speak now.",
               "Izin bicara: saluran milik Anda, silakan bicara."),
    "busy": ([(480, 150), (0, 100), (480, 150), (0, 100), (480, 150)], [("amber", 150), ("off", 100)], False,
             "Busy: someone else is talking. Release PTT and wait.",
             "Sibuk: orang lain sedang bicara. Lepas PTT dan tunggu."),
    "denied": ([(400, 400), (0, 80), (300, 400)], [("red", 400), ("off", 100)], False,
               "Denied: a higher priority (Command Center or emergency) has the channel.",
               "Ditolak: prioritas lebih tinggi (Command Center atau darurat) sedang memakai saluran."),
    "preempted": ([(800, 100), (400, 300)], [("red", 300), ("off", 100)], False,
                  "Cut off: a higher priority took the channel. Stop talking and listen.",
                  "Terpotong: prioritas lebih tinggi mengambil saluran. Berhenti bicara dan dengarkan."),
    "roger": ([(1000, 80)], [("off", 50)], False,
              "End of transmission (roger): your talk ended and the channel is released.",
              "Selesai kirim (roger): bicara Anda selesai dan saluran dilepas."),
    "rx_end": ([(1400, 40)], [], False,
               "The other speaker finished; you may answer.",
               "Pembicara lain selesai; Anda boleh menjawab."),
    "no_signal": ([(600, 100), (0, 100), (600, 100), (0, 100), (600, 100), (0, 100), (600, 100)],
                  [("red", 100), ("off", 900)], True,
                  "No signal / no data link: talk is not possible, the radio keeps retrying.",
                  "Tidak ada sinyal / data: tidak bisa bicara, radio terus mencoba."),
    "no_service": ([(520, 200), (0, 100), (520, 200), (0, 100), (350, 500)], [("amber", 200), ("off", 100)] * 2,
                   True,
                   "No floor service: the channel controller does not answer, you cannot talk. Try again later.",
                   "Layanan saluran tidak ada: pengatur saluran tidak menjawab, tidak bisa bicara. Coba lagi nanti."),
    "quota_low": ([(1200, 120), (1000, 120), (800, 120)], [("amber", 100), ("off", 2900)], True,
                  "Data quota low: tell your coordinator to top up the SIM.",
                  "Kuota data hampir habis: minta koordinator mengisi ulang SIM."),
    "emergency": ([(1500, 250), (900, 250)] * 3, [("red", 250), ("off", 250)], True,
                  "Emergency sent: your microphone is open for 10 seconds, speak.",
                  "Darurat terkirim: mikrofon terbuka 10 detik, bicaralah."),
    "emergency_ack": ([(1200, 100), (1600, 100), (2000, 200)], [("green", 1000)], False,
                      "Command Center received your emergency.",
                      "Command Center sudah menerima tanda darurat Anda."),
    "emergency_sms": ([(1500, 100), (0, 80), (1500, 100), (0, 80), (1500, 100)], [("red", 100), ("amber", 100)],
                      False,
                      "No data link: emergency sent by SMS instead.",
                      "Data putus: tanda darurat dikirim lewat SMS."),
    "rollcall": ([(1000, 150), (1300, 150), (1000, 150), (1300, 150)], [("amber", 500), ("off", 500)], True,
                 "Roll call (absen): press PTT once now to answer.",
                 "Absen: tekan PTT sekali sekarang untuk menjawab."),
    "rollcall_ok": ([(1300, 80), (0, 40), (1300, 80)], [("green", 500)], False,
                    "Roll call answered.",
                    "Absen terjawab."),
    "rollcall_missed": ([(500, 500)], [("red", 1000)], False,
                        "Roll call missed: the deadline passed without your answer.",
                        "Absen terlewat: batas waktu habis tanpa jawaban Anda."),
    "timeout_warning": ([(1800, 50), (0, 50), (1800, 50)], [("amber", 100), ("green", 100)], False,
                        "Talk time almost over: finish within 10 seconds.",
                        "Waktu bicara hampir habis: selesaikan dalam 10 detik."),
    "timeout_cut": ([(1800, 50), (600, 400)], [("red", 400)], False,
                    "Talk time over: you were cut off. Release PTT, press again to continue.",
                    "Waktu bicara habis: Anda diputus. Lepas PTT, tekan lagi untuk lanjut."),
    "provision": ([(500, 150), (900, 150), (500, 150), (900, 150), (500, 150)], [("amber", 150), ("red", 150)],
                  True,
                  "Needs provisioning: the settings are damaged or lack the voice key; take the radio to a technician.",
                  "Perlu diprovisi: pengaturan rusak atau tanpa kunci suara; bawa radio ke teknisi."),
    "battery_low": ([(650, 200), (0, 60), (550, 200), (0, 60), (450, 300)], [("amber", 300), ("off", 300)] * 2, False,
                    "Battery low: about an hour left at a normal day's use; charge the radio soon.",
                    "Baterai lemah: sisa sekitar satu jam pemakaian biasa; segera isi daya radio."),
    "battery_critical": ([(1000, 150), (900, 150), (800, 150), (700, 150), (600, 400)], [("red", 150), ("off", 150)] * 3,
                         False,
                         "Battery almost empty: the radio will switch off soon. Charge it now.",
                         "Baterai hampir habis: radio akan segera mati. Isi daya sekarang."),
    "online": ([(800, 70), (1000, 70), (1200, 70), (1600, 70)], [("green", 500)], False,
               "Radio online and ready.",
               "Radio online dan siap."),
}

# Steady LED per radio state: state -> (colour, rhythm, meaning en, meaning id). The rhythm is
# alternating on/off durations in ms starting with "on", looped; an off time of 0 is steady on. Most of
# our boards have ONE single-colour "status" LED (boards/*/board.json), so every meaning needs its own
# RHYTHM; the colour is used only where a board has coloured LEDs. Rhythms are chosen to be told apart
# at a glance in daylight: steady, long, single short, double, triple, fast.
STATE_LED = {
    "idle": ("green", (100, 4900),
             "Idle, online and ready.", "Siaga, online dan siap."),
    "receiving": ("green", (1500, 500),
                  "Someone is talking, you are listening.", "Ada yang bicara, Anda mendengarkan."),
    "busy": ("amber", (500, 500),
             "Waiting for the talk permit, or the channel is busy.", "Menunggu izin bicara, atau saluran sibuk."),
    "transmitting": ("red", (1000, 0),
                     "You are transmitting (talking).", "Anda sedang mengirim (bicara)."),
    "denied": ("red", (100, 100, 100, 100, 100, 1500),
               "Denied: a higher priority has the channel.", "Ditolak: prioritas lebih tinggi memakai saluran."),
    "no_signal": ("red", (100, 900),
                  "No signal / no data link, the radio keeps retrying.", "Tidak ada sinyal / data, radio terus mencoba."),
    "no_service": ("amber", (300, 300, 300, 1100),
                   "No floor service: the channel controller does not answer.",
                   "Layanan saluran tidak ada: pengatur saluran tidak menjawab."),
    "quota_low": ("amber", (100, 200, 100, 2600),
                  "Data quota low, tell your coordinator.", "Kuota data hampir habis, lapor koordinator."),
    "emergency": ("red", (100, 100),
                  "Emergency active, waiting for the Command Center.", "Darurat aktif, menunggu Command Center."),
    "rollcall": ("amber", (150, 150, 150, 1050),
                 "Roll call: press PTT once to answer.", "Absen: tekan PTT sekali untuk menjawab."),
}


def rhythm(state):
    return STATE_LED[state][1]


def state_colour(state):
    return STATE_LED[state][0]


def state_meaning(state, lang="en"):
    s = STATE_LED[state]
    return s[3] if lang == "id" else s[2]


def tone(name):
    return CUES[name][0]


def led(name):
    return CUES[name][1]


def repeats(name):
    return CUES[name][2]


def meaning(name, lang="en"):
    c = CUES[name]
    return c[4] if lang == "id" else c[3]


def duration_ms(name):
    t = 0
    for _f, ms in CUES[name][0]:
        t += ms
    return t
