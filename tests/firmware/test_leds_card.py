# The field card's status-light table (docs/QUICKREF.md) says what the firmware shows: one row per
# ht.radio.feedback.STATE_LED state, in both languages, and each rhythm it describes is the table's rhythm.
import pathlib
from ht.radio import feedback

CARD = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "QUICKREF.md").read_text()

# What the card says about each rhythm, and the rhythm (ms on/off) it must describe.
WORDS = {
    "menyala terus": (1000, 0),
    "nyala panjang, padam sebentar (1,5 dtk / 0,5 dtk)": (1500, 500),
    "kedip rata, setengah detik nyala": (500, 500),
    "tiga kedip cepat, lalu jeda": (100, 100, 100, 100, 100, 1500),
    "satu kedip singkat tiap 5 detik": (100, 4900),
    "satu kedip singkat tiap detik": (100, 900),
    "dua kedip singkat tiap 3 detik": (100, 200, 100, 2600),
    "kedip sangat cepat": (100, 100),
    "kedip ganda berulang": (150, 150, 150, 1050),
    "dua kedip sedang, lalu jeda": (300, 300, 300, 1100),
}


def rows():
    section = CARD.split("## Lampu status")[1].split("## ")[0]
    return [ln for ln in section.splitlines() if ln.startswith("|") and not ln.startswith("|---")][1:]


def test_card_lists_every_led_state_with_its_meaning_and_rhythm():
    rs = rows()
    assert len(rs) == len(feedback.STATE_LED), "QUICKREF status-light table and STATE_LED are out of step"
    for st in feedback.STATE_LED:
        row = [r for r in rs if feedback.state_meaning(st, "en") in r]
        assert len(row) == 1, "no card row for %s" % st
        assert feedback.state_meaning(st, "id") in row[0]
        said = [w for w in WORDS if row[0].split("|")[1].strip().startswith(w)]
        assert len(said) == 1 and WORDS[said[0]] == feedback.rhythm(st), "card describes %s wrongly" % st


def test_card_promises_no_colour_a_single_led_cannot_show():
    # colours appear only in the coloured-LED note, never as the meaning of a status-light row
    for r in rows():
        cell = r.split("|")[1].lower()
        for c in ("hijau", "kuning", "merah", "green", "amber", "red"):
            assert c not in cell
