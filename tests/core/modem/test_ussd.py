# Portable: lenient parsing of Telkomsel *888# replies; garbage gives None fields, never an error.
from ht.modem import ussd


def test_multiline_indonesian_reply():
    urc = ('+CUSD: 0,"Sisa pulsa Rp.12.500\nAktif sd 31/12/2026\n'
           'Kuota Internet 1,5GB + Lokal 500MB\n1.Info",15')
    m, text, dcs = ussd.parse_cusd(urc)
    assert m == 0 and dcs == 15 and text.startswith("Sisa pulsa")
    b = ussd.parse_balance(text)
    assert b["balance_rp"] == 12500
    assert b["quotas_mb"] == [1536.0, 500.0] and b["quota_mb"] == 2036.0
    assert b["active_until"] == (2026, 12, 31)


def test_number_formats():
    assert ussd.parse_balance("Pulsa Rp 55.000,00")["balance_rp"] == 55000
    assert ussd.parse_balance("pulsa anda Rp55,000")["balance_rp"] == 55000
    assert ussd.parse_balance("kuota 1.500MB")["quota_mb"] == 1500.0
    assert ussd.parse_balance("kuota 2.5GB")["quota_mb"] == 2560.0
    assert ussd.parse_balance("berlaku hingga 05-01-27")["active_until"] == (2027, 1, 5)


def test_garbage_gives_none_fields():
    for t in ("", "\x00\xff", "Rp", "GB GB 99/99/9999 aktif sd", None, 12, "rp...,,, 1..2.,gb"):
        b = ussd.parse_balance(t)
        assert b["active_until"] is None
        assert b["balance_rp"] is None or isinstance(b["balance_rp"], int)
    for u in ("+CUSD:", "+CUSD: 4", '+CUSD: 0,"unterminated', "garbage", "+CUSD: x,\"\",zz"):
        r = ussd.parse_cusd(u)
        assert r is None or len(r) == 3


def test_ucs2_reply_decoded():
    m, text, dcs = ussd.parse_cusd('+CUSD: 0,"00530069007300610020005200700031",72')
    assert text == "Sisa Rp1" and ussd.parse_balance(text)["balance_rp"] == 1
