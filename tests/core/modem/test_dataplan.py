# Portable: data-plan states across dates and byte counts; counters survive a reboot; a corrupt
# file starts from zero with a reason instead of crashing.
from ht.modem import dataplan as D

MB = 1048576


def test_states_across_dates_and_bytes():
    exp = (2026, 12, 31)
    assert D.plan_state(0, 6144, exp, (2026, 12, 1))[0] == D.OK
    assert D.plan_state(5800 * MB, 6144, exp, (2026, 12, 1))[0] == D.LOW
    assert D.plan_state(6144 * MB, 6144, exp, (2026, 12, 1))[0] == D.EXHAUSTED
    st, warn, days, left = D.plan_state(0, 6144, exp, (2026, 12, 26))
    assert st == D.EXPIRING_SOON and days == 5 and left == 6144
    assert D.plan_state(0, 6144, exp, (2026, 12, 31))[:3] == (D.EXPIRING_SOON, [D.EXPIRING_SOON], 0)
    assert D.plan_state(0, 6144, exp, (2027, 1, 1))[0] == D.EXPIRED
    # expired beats everything; both low and expiring are reported as warnings
    assert D.plan_state(9999 * MB, 6144, exp, (2027, 3, 1))[1] == [D.EXPIRED, D.EXHAUSTED]
    st, warn, _, _ = D.plan_state(5900 * MB, 6144, exp, (2026, 12, 28))
    assert st == D.LOW and warn == [D.LOW, D.EXPIRING_SOON]


def test_no_plan_configured_is_ok():
    assert D.plan_state(10 * MB, 0, None, (2026, 1, 1)) == (D.OK, [], None, None)
    assert D.DataPlan(expiry="").status((2026, 1, 1))["state"] == D.OK


def test_days_cross_leap_year_and_months():
    assert D.days_between((2028, 2, 28), (2028, 3, 1)) == 2
    assert D.days_between((2026, 12, 31), (2027, 1, 1)) == 1


def test_status_text_in_both_languages():
    p = D.DataPlan("2026-12-31", 6144, 55000, "Dinas Kominfo")
    p.count(5900 * MB, 0)
    s = p.status((2026, 12, 1))
    assert s["state"] == D.LOW and s["reason"] == "Data quota low: 244 MB left"
    assert s["reason_id"] == "Kuota data menipis: sisa 244 MB" and s["opd"] == "Dinas Kominfo"


def test_persistence_across_simulated_reboot():
    store = {}

    def save(t):
        store["f"] = t
    p = D.DataPlan("2026-12-31", 6144, save=save, load=lambda: store.get("f"), save_every_ms=60000)
    p.count(1000, 2000)
    assert p.maybe_save(0) is True
    p.count(500, 0)
    assert p.maybe_save(30000) is False            # not yet: flash is not worn per packet
    assert p.maybe_save(60000) is True
    p.count(7, 7)                                   # lost by the "reboot" below (not saved)
    q = D.DataPlan("2026-12-31", 6144, save=save, load=lambda: store.get("f"))
    assert (q.tx, q.rx) == (1500, 2000) and q.note is None


def test_corrupt_or_foreign_file_starts_from_zero_with_reason():
    for text in ("{not json", '{"tx": -5, "rx": 1, "period": "2026-12-31"}', "[]", "\x00\xff"):
        p = D.DataPlan("2026-12-31", 6144, load=lambda: text)
        assert p.tx == 0 and p.rx == 0 and "starting from zero" in p.note

    def boom():
        raise OSError("flash")
    assert D.DataPlan("2026-12-31", 6144, load=boom).used == 0
    old = '{"v": 1, "period": "2026-11-30", "tx": 5, "rx": 5, "modem": 0}'
    p = D.DataPlan("2026-12-31", 6144, load=lambda: old)
    assert p.used == 0 and p.note == "new plan period: counters reset"


def test_save_failure_never_raises():
    def bad(t):
        raise OSError(28, "no space")
    p = D.DataPlan("2026-12-31", 6144, save=bad)
    p.count(1, 1)
    assert p.save() is False and p.maybe_save(0) is False


def test_modem_counters_survive_modem_reset_and_win_when_larger():
    p = D.DataPlan("2026-12-31", 6144)
    p.count(100, 100)
    p.modem_counters(1000, 2000)
    p.modem_counters(1500, 2500)        # +1000
    p.modem_counters(10, 20)            # modem rebooted: counting restarted
    assert p.modem_total == 4030 and p.used == 4030


def test_from_config_dict():
    cfg = {"dataplan": {"expiry": "2027-01-31", "quota_mb": 6144, "price_rp": 55000, "opd": "BPBD"}}
    p = D.DataPlan.from_config(cfg)
    assert p.expiry == (2027, 1, 31) and p.quota_mb == 6144 and p.opd == "BPBD"
