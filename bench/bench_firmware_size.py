"""Size of the firmware as the ESP32 loads it (.mpy for xtensawin)."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "scripts"))
import mpy_check  # noqa: E402

UNITS = {"firmware_mpy_bytes": "bytes", "firmware_files": "files"}


def run():
    failures, sizes = mpy_check.compile_all("xtensawin")
    if failures:
        raise RuntimeError("mpy-cross failed: %s" % failures)
    return {"firmware_mpy_bytes": sum(sizes.values()), "firmware_files": len(sizes)}
