"""The hardened profile's eFuse state (docs/PROVISION.md, issue 11): the exact espefuse steps the document gives
for a pre-encrypted (host key) ESP32 are run on a virtual chip (espefuse --virt: the real tool, its eFuse map
in a file) and the checker finds it hardened; a fresh chip and a Development-mode one are not. The device tier
reads a real radio's eFuses (skipped without --port)."""
import subprocess

import pytest

from htctl import efusecheck


def efuse(path, *args, chip="esp32"):
    r = subprocess.run(efusecheck._espefuse() + ["--chip", chip, "--virt", "--path-efuse-file", str(path),
                                                 "--do-not-confirm"] + list(args),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-800:] + r.stderr[-800:]


def test_a_fresh_chip_is_not_hardened(tmp_path):
    s = efusecheck.summary("esp32", virt_file=str(tmp_path / "efuse.bin"))
    p = efusecheck.problems(s)
    assert any("flash encryption is off" in x for x in p) and any("JTAG_DISABLE" in x for x in p)


def test_the_documented_release_steps_give_a_hardened_chip(tmp_path):
    key = tmp_path / "HT-0001-flash.key"
    key.write_bytes(bytes(range(32)))              # espsecure generate-flash-encryption-key in the real steps
    f = tmp_path / "efuse.bin"
    efuse(f, "burn-key", "flash_encryption", str(key))
    efuse(f, "burn-efuse", "FLASH_CRYPT_CONFIG", "0xF", "FLASH_CRYPT_CNT", "1")
    dev = efusecheck.problems(efusecheck.summary("esp32", virt_file=str(f)))
    assert dev and any("Development mode" in x for x in dev)           # encrypted, but still re-flashable
    efuse(f, "burn-efuse", "DISABLE_DL_ENCRYPT", "1", "DISABLE_DL_DECRYPT", "1", "DISABLE_DL_CACHE", "1",
          "JTAG_DISABLE", "1")
    efuse(f, "write-protect-efuse", "FLASH_CRYPT_CNT")
    assert efusecheck.problems(efusecheck.summary("esp32", virt_file=str(f))) == []


def test_the_documented_esp32s3_steps_give_a_hardened_chip(tmp_path):
    key = tmp_path / "k.bin"
    key.write_bytes(bytes(range(32)))
    f = tmp_path / "efuse-s3.bin"
    fresh = efusecheck.problems(efusecheck.summary("esp32s3", virt_file=str(f)), "esp32s3")
    assert any("flash encryption is off" in x for x in fresh)
    efuse(f, "burn-key", "BLOCK_KEY0", str(key), "XTS_AES_128_KEY", chip="esp32s3")
    efuse(f, "burn-efuse", "SPI_BOOT_CRYPT_CNT", "7", "DIS_DOWNLOAD_MANUAL_ENCRYPT", "1", "DIS_PAD_JTAG", "1",
          "DIS_USB_JTAG", "1", "DIS_DOWNLOAD_ICACHE", "1", "DIS_DOWNLOAD_DCACHE", "1", chip="esp32s3")
    efuse(f, "write-protect-efuse", "SPI_BOOT_CRYPT_CNT", chip="esp32s3")
    assert efusecheck.problems(efusecheck.summary("esp32s3", virt_file=str(f)), "esp32s3") == []


@pytest.mark.device
def test_the_radio_on_the_bench_is_in_the_hardened_profile(port):
    p = efusecheck.problems(efusecheck.summary("esp32", port=port))
    assert p == [], "not hardened: " + "; ".join(p)
