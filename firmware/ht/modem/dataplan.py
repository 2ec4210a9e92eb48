# Data plan: how much of the SIM's paid quota the radio has used, and whether the plan still runs.
# Telkomsel packages are prepaid with an expiry date and a quota of which only part is usable by
# a radio (InternetMax Rp55,000: 10 GB listed, ~6 GB usable); both come from config, not guesses.
# Counting is done by the firmware (payload bytes through AT sockets) and, where the modem can
# (Quectel AT+QGDCNT), by the modem; the larger of the two is what we believe was billed.
# Dates are passed in as (y, m, d) so the pure state function needs no RTC.
import json
from ht.modem.parse import _days

OK = "OK"
LOW = "LOW"
EXHAUSTED = "EXHAUSTED"
EXPIRING_SOON = "EXPIRING_SOON"
EXPIRED = "EXPIRED"
_MB = 1048576

TEXT = {
    OK: ("Data plan OK", "Paket data aman"),
    LOW: ("Data quota low: %d MB left", "Kuota data menipis: sisa %d MB"),
    EXHAUSTED: ("Data quota used up: top up", "Kuota data habis: isi ulang"),
    EXPIRING_SOON: ("Data plan expires in %d days", "Paket data berakhir %d hari lagi"),
    EXPIRED: ("Data plan expired: renew", "Paket data kedaluwarsa: perpanjang"),
}


def parse_date(s):
    # "YYYY-MM-DD" -> (y, m, d) or None
    try:
        y, m, d = [int(x) for x in s.split("-")]
        if 1 <= m <= 12 and 1 <= d <= 31:
            return (y, m, d)
    except Exception:
        pass
    return None


def days_between(a, b):
    return _days(b[0], b[1], b[2]) - _days(a[0], a[1], a[2])


def plan_state(used_bytes, quota_mb, expiry, today, low_pct=10, soon_days=7):
    """-> (state, warnings, days_left or None, left_mb or None). Precedence: EXPIRED, EXHAUSTED,
    LOW, EXPIRING_SOON, OK; warnings lists every condition that holds (LOW and EXPIRING_SOON can)."""
    warn = []
    days = days_between(today, expiry) if (expiry and today) else None
    left = None
    if quota_mb:
        left = quota_mb - used_bytes / _MB
    if days is not None and days < 0:
        warn.append(EXPIRED)
    if left is not None and left <= 0:
        warn.append(EXHAUSTED)
    elif left is not None and left < quota_mb * low_pct / 100:
        warn.append(LOW)
    if days is not None and 0 <= days <= soon_days:
        warn.append(EXPIRING_SOON)
    return (warn[0] if warn else OK), warn, days, left


class DataPlan:
    def __init__(self, expiry=None, quota_mb=0, price_rp=0, opd="", load=None, save=None,
                 save_every_ms=300000, low_pct=10, soon_days=7):
        self.expiry = parse_date(expiry) if isinstance(expiry, str) else expiry
        self.quota_mb = quota_mb
        self.price_rp = price_rp
        self.opd = opd                  # paying department (OPD)
        self.low_pct = low_pct
        self.soon_days = soon_days
        self._save = save               # save(text) / load() -> text or None; injected storage
        self.save_every_ms = save_every_ms
        self.tx = self.rx = 0           # firmware-counted bytes this plan period
        self.modem_total = 0            # bytes the modem counted, accumulated across modem resets
        self._modem_last = None
        self._dirty = False
        self._saved_at = None
        self.note = None                # why counters started from zero, if they did
        if load is not None:
            self._load(load)

    @classmethod
    def from_config(cls, config, **kw):
        from ht.modem.lifecycle import cfg_get
        return cls(cfg_get(config, "dataplan.expiry"), cfg_get(config, "dataplan.quota_mb", 0),
                   cfg_get(config, "dataplan.price_rp", 0), cfg_get(config, "dataplan.opd", ""), **kw)

    def _period(self):
        return "%04d-%02d-%02d" % self.expiry if self.expiry else ""

    def _load(self, load):
        try:
            text = load()
            if not text:
                self.note = "no saved counters"
                return
            d = json.loads(text)
            tx, rx, mt = int(d["tx"]), int(d["rx"]), int(d.get("modem", 0))
            if min(tx, rx, mt) < 0:
                raise ValueError("negative")
        except Exception as e:
            # corrupt file (power cut mid-write): count from zero, say so, keep running
            self.note = "saved counters unreadable (%s): starting from zero" % (type(e).__name__,)
            return
        if d.get("period", "") != self._period():
            self.note = "new plan period: counters reset"
            self._dirty = True
            return
        self.tx, self.rx, self.modem_total = tx, rx, mt

    def count(self, tx, rx):
        # the AT socket layer calls this per send/recv (atsock counter hook)
        self.tx += tx
        self.rx += rx
        self._dirty = True

    def modem_counters(self, sent, recv):
        # cumulative modem counters; they restart from 0 when the modem reboots
        t = sent + recv
        last = self._modem_last
        self.modem_total += t if (last is None or t < last) else t - last
        self._modem_last = t
        self._dirty = True

    @property
    def used(self):
        return max(self.tx + self.rx, self.modem_total)

    def state(self, today):
        return plan_state(self.used, self.quota_mb, self.expiry, today, self.low_pct, self.soon_days)

    def status(self, today):
        st, warn, days, left = self.state(today)
        en, idn = TEXT[st]
        arg = days if st == EXPIRING_SOON else int(left or 0)
        if "%d" in en:
            en, idn = en % arg, idn % arg
        return {"state": st, "warnings": warn, "days_left": days,
                "left_mb": None if left is None else round(left, 1), "used_mb": round(self.used / _MB, 2),
                "quota_mb": self.quota_mb, "price_rp": self.price_rp, "opd": self.opd,
                "reason": en, "reason_id": idn}

    def dump(self):
        return json.dumps({"v": 1, "period": self._period(), "tx": self.tx, "rx": self.rx,
                           "modem": self.modem_total})

    def save(self):
        if self._save is None:
            return False
        try:
            self._save(self.dump())
        except Exception:
            return False        # flash full or busy: try again next period, never crash the radio
        self._dirty = False
        return True

    def maybe_save(self, now_ms):
        # periodic, so a reboot loses at most save_every_ms of counting and flash is not worn
        from ht.compat import ticks_diff
        if not self._dirty:
            return False
        if self._saved_at is not None and ticks_diff(now_ms, self._saved_at) < self.save_every_ms:
            return False
        self._saved_at = now_ms
        return self.save()
