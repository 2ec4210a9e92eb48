"""Size of the firmware as the ESP32 loads it (.mpy for xtensawin): every file, and each build's manifest."""
from htctl import mpycheck

UNITS = {"firmware_mpy_bytes": "bytes", "firmware_files": "files",
         "firmware_mpy_bytes_radio": "bytes", "firmware_mpy_bytes_vdev": "bytes"}


def run():
    failures, sizes = mpycheck.compile_all("xtensawin")
    if failures:
        raise RuntimeError("mpy-cross failed: %s" % failures)
    out = {"firmware_mpy_bytes": sum(sizes.values()), "firmware_files": len(sizes)}
    for build, n in mpycheck.build_bytes(sizes).items():
        out["firmware_mpy_bytes_" + build] = n
    return out
