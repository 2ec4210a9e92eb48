# The one cellular link state the rest of the radio sees (presence, LEDs, field prompts, MQTT).
# Written only by the modem supervisor; everyone else reads it or subscribes to changes.

BOOTING = "BOOTING"        # modem powering up or not answering (before any SIM verdict)
NO_SIM = "NO_SIM"
SIM_PIN = "SIM_PIN"
SIM_PUK = "SIM_PUK"
SIM_LOCKED = "SIM_LOCKED"  # a personalisation lock (+CPIN: PH-NET PIN ...): needs the locker's code
SIM_READY = "SIM_READY"
SEARCHING = "SEARCHING"
DENIED = "DENIED"
REGISTERED = "REGISTERED"
DATA_UP = "DATA_UP"
STATES = (BOOTING, NO_SIM, SIM_PIN, SIM_PUK, SIM_LOCKED, SIM_READY, SEARCHING, DENIED, REGISTERED, DATA_UP)

# Readiness stage = the last milestone reached (presence shows it; "online" is set by the MQTT
# layer once the broker answers on top of DATA_UP).
_STAGE = {BOOTING: "booting", NO_SIM: "booting", SIM_PIN: "booting", SIM_PUK: "booting",
          SIM_LOCKED: "booting",
          SIM_READY: "sim", SEARCHING: "sim", DENIED: "sim", REGISTERED: "registered",
          DATA_UP: "data"}

# Default field text per state: (English, Bahasa Indonesia). Short: it fits a status line.
TEXT = {
    BOOTING: ("Modem starting", "Modem sedang menyala"),
    NO_SIM: ("No SIM card: insert the SIM", "Tidak ada kartu SIM: pasang kartu SIM"),
    SIM_PIN: ("SIM locked: set the PIN in config", "SIM terkunci: isi PIN di konfigurasi"),
    SIM_PUK: ("SIM blocked (PUK): contact SIM admin", "SIM terblokir (PUK): hubungi admin SIM"),
    SIM_LOCKED: ("Modem or SIM locked: needs unlock code", "Modem atau SIM terkunci: perlu kode buka"),
    SIM_READY: ("SIM ready", "SIM siap"),
    SEARCHING: ("Searching for network", "Mencari jaringan"),
    DENIED: ("Network refused the SIM: check it is active",
             "Jaringan menolak SIM: periksa SIM aktif"),
    REGISTERED: ("On network, data starting", "Terhubung jaringan, data dimulai"),
    DATA_UP: ("Data connected", "Data tersambung"),
}

# Reasons the supervisor reports beyond the defaults
R_HANG = ("Modem not answering: restarting it", "Modem tidak merespons: memulai ulang")
R_PIN_WRONG = ("SIM PIN wrong: not retried (%d tries left)", "PIN SIM salah: tidak dicoba lagi (sisa %d)")
R_PIN_LAST = ("SIM PIN: only %d try left, not used", "PIN SIM: sisa %d kali, tidak dipakai")
R_PIN_UNKNOWN = ("SIM PIN: retry count unreadable, not entered",
                 "PIN SIM: sisa percobaan tak terbaca, tidak diisi")
R_PDP = ("Data connection failed: retrying", "Koneksi data gagal: mencoba lagi")
R_DATA_DEAD = ("Data link silent: reconnecting", "Koneksi data macet: menyambung ulang")


class Link:
    def __init__(self):
        self.state = BOOTING
        self.roaming = False
        self.bars = 0
        self.reason, self.reason_id = TEXT[BOOTING]
        self.online = False       # set by the MQTT layer
        self.generation = 0       # bumps every time data comes up: sockets of older ones are dead
        self.signal = {}          # rsrp/rsrq/sinr/rssi in dBm/dB when known
        self.info = {}            # iccid, imsi, imei, operator, ip, apn, time
        self.changes = 0
        self._subs = []

    def subscribe(self, fn):
        # fn(link) is called synchronously after every change; keep it short (set a flag)
        if fn not in self._subs:
            self._subs.append(fn)
        return fn

    def unsubscribe(self, fn):
        if fn in self._subs:
            self._subs.remove(fn)

    @property
    def stage(self):
        if self.state == DATA_UP and self.online:
            return "online"
        return _STAGE[self.state]

    @property
    def data_up(self):
        return self.state == DATA_UP

    def set(self, state, reason=None, roaming=None):
        if state not in _STAGE:
            raise ValueError("bad link state %r" % state)
        before = (self.state, self.reason, self.roaming, self.bars, self.online)
        if state != DATA_UP:
            self.online = False
        if state == DATA_UP and self.state != DATA_UP:
            self.generation += 1
        if roaming is not None:
            self.roaming = roaming
        if state not in (REGISTERED, DATA_UP):
            self.roaming = False
            self.bars = 0 if state in (BOOTING, NO_SIM, SIM_PIN, SIM_PUK, SIM_LOCKED) else self.bars
        en, idn = reason if reason is not None else TEXT[state]
        if self.roaming and reason is None and state in (REGISTERED, DATA_UP):
            en, idn = en + " (roaming)", idn + " (roaming)"
        self.state = state
        self.reason, self.reason_id = en, idn
        if before != (self.state, self.reason, self.roaming, self.bars, self.online):
            self._notify()

    def set_bars(self, bars, signal=None):
        if signal is not None:
            self.signal = signal
        if bars != self.bars:
            self.bars = bars
            self._notify()

    def set_online(self, up):
        if up and self.state != DATA_UP:
            return
        if up != self.online:
            self.online = up
            self._notify()

    def snapshot(self):
        return {"state": self.state, "stage": self.stage, "roaming": self.roaming, "bars": self.bars,
                "reason": self.reason, "reason_id": self.reason_id}

    def _notify(self):
        self.changes += 1
        for fn in list(self._subs):
            try:
                fn(self)
            except Exception:
                pass  # a broken listener must not stop the modem supervisor
