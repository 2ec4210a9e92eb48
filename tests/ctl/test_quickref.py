"""The field card prints on ONE A4 page, in two columns (Bahasa Indonesia | English), and answers what a kepala
OPD asks first: power, charging, volume, a false emergency, whom to call."""
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CARD = (ROOT / "docs" / "QUICKREF.md").read_text()


def test_card_covers_the_first_questions_in_both_columns():
    id_col = CARD.split('<div class="col" lang="id"')[1].split("</div>")[0]
    en_col = CARD.split('<div class="col" lang="en"')[1].split("</div>")[0]
    for words in (("Menyalakan", "Mengisi daya", "Volume", "Salah tekan darurat", "Command Center Diskominfo"),):
        assert all(w in id_col for w in words)
    for w in ("Power on", "Charging", "Volume", "Pressed emergency by mistake", "Command Center Diskominfo"):
        assert w in en_col
    assert "firmware/" not in CARD and ".py" not in CARD          # no source-code paths on a field card


@pytest.mark.skipif(not shutil.which("pdfinfo"), reason="poppler-utils missing: run `make sysdeps`")
def test_make_quickref_prints_exactly_one_a4_page(tmp_path):
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.fail("chromium is not installed: run `make sysdeps`")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "quickref.py"), "--out", str(tmp_path)], check=True,
                   capture_output=True, timeout=180)
    info = subprocess.run(["pdfinfo", str(tmp_path / "quickref.pdf")], capture_output=True, text=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    assert "(A4)" in info
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "quickref.pdf"), "-"], capture_output=True,
                          text=True).stdout
    # two real columns: the Bahasa and English headings share a printed line
    assert any("Bahasa Indonesia" in ln and "English" in ln for ln in text.splitlines())
    assert "Lampu status" in text and "kedip ganda berulang" in text     # the last table made it onto the page
