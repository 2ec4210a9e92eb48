"""The ESP32 can load every firmware file: each compiles with mpy-cross -march=xtensawin."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "scripts"))
import mpy_check  # noqa: E402


def test_every_firmware_file_compiles_for_esp32():
    failures, sizes = mpy_check.compile_all("xtensawin")
    assert not failures, failures
    assert "ht/compat.py" in sizes
