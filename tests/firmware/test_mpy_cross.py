"""The ESP32 can load every firmware file: each compiles with mpy-cross -march=xtensawin."""
from htctl import mpycheck


def test_every_firmware_file_compiles_for_esp32():
    failures, sizes = mpycheck.compile_all("xtensawin")
    assert not failures, failures
    assert "ht/compat.py" in sizes
    builds = mpycheck.build_bytes(sizes)
    # The virtual device carries the radio build plus the desktop HAL: strictly more bytes.
    assert 0 < builds["radio"] < builds["vdev"] < sum(sizes.values()) + 1
