"""htctl flash through esptool's real `cmds` code, with the chip replaced the way esptool tests itself:
`MagicMock(spec=ESPLoader)` whose flash commands write into an in-memory 4 MB flash. The image is a small but
valid ESP32 firmware built here (bootloader header + partition table + app), checked by esptool's own parser."""
import hashlib
import json
import pathlib
import struct
import zlib
from unittest.mock import MagicMock

import pytest
from esptool.bin_image import LoadFirmwareImage
from esptool.loader import ESPLoader
from esptool.util import FatalError

from htctl import boards, flash
from htctl.errors import EXIT_DEVICE, EXIT_NOT_FOUND, EXIT_USAGE, DeviceError, UserError
from fixtures.cli import run_htctl as run

ROOT = pathlib.Path(__file__).resolve().parents[2]
FLASH_SIZE = 4 * 1024 * 1024
GD25Q32_ID = 0x1640C8  # GigaDevice 4 MB: esptool decodes size id 0x16 -> "4MB"


def esp_image(chip_id=0, payload=b"", entry=0x40080400):
    """A valid ESP32 app/bootloader image: header, extended header (chip id), segments, checksum, sha256."""
    segments = ((0x3FFF0000, bytes(range(256)) * 4), (0x40078000, (b"\x11\x22\x33\x44" * 128) + payload))
    out = bytearray(struct.pack("<BBBBI", 0xE9, len(segments), 2, 0x20, entry))
    out += struct.pack("<B3sHBHH4sB", 0xEE, b"\0\0\0", chip_id, 0, 0, 0xFFFF, b"\0" * 4, 1)
    checksum = 0xEF
    for addr, data in segments:
        out += struct.pack("<II", addr, len(data)) + data
        for b in data:
            checksum ^= b
    out += b"\0" * (15 - len(out) % 16) + bytes([checksum])
    return bytes(out + hashlib.sha256(out).digest())


def firmware(chip_id=0, with_table=True, app_size=0x3000):
    """What micropython.org ships for 0x1000: bootloader, partition table at 0x8000, app at 0x10000."""
    img = bytearray(b"\xff" * (0xF000 + app_size))
    boot = esp_image(chip_id)
    img[:len(boot)] = boot
    if with_table:
        entry = b"\xaa\x50" + struct.pack("<BBII16sI", 0, 0, 0x10000, 0x1F0000, b"factory".ljust(16, b"\0"), 0)
        img[0x7000:0x7000 + 32] = entry
    app = esp_image(chip_id, payload=bytes(i % 251 for i in range(app_size - 0x800)))
    img[0xF000:0xF000 + len(app)] = app
    return bytes(img)


class FakeChip:
    """The in-memory flash behind a MagicMock(spec=ESPLoader): erase, deflate writes, md5 like the stub."""

    def __init__(self, chip="ESP32", image_chip_id=0, is_stub=True, corrupt_writes=False):
        self.flash = bytearray(b"\x5a" * FLASH_SIZE)  # old contents, so an erase is observable
        self.writes = []
        self.erased = False
        self.corrupt = corrupt_writes
        esp = MagicMock(spec=ESPLoader)
        esp.CHIP_NAME = chip
        esp.IMAGE_CHIP_ID = image_chip_id
        esp.IS_STUB = is_stub
        esp.FLASH_SECTOR_SIZE = 0x1000
        esp.FLASH_WRITE_SIZE = 0x4000
        esp.WRITE_FLASH_ATTEMPTS = 2
        esp.BOOTLOADER_FLASH_OFFSET = 0x1000
        esp.ESP_IMAGE_MAGIC = 0xE9
        esp.FLASH_32BIT_ADDR_SUPPORTED = False
        esp.secure_download_mode = False
        esp.stub_is_disabled = False
        esp.get_secure_boot_enabled.return_value = False
        esp.get_secure_boot_v1_enabled.return_value = False
        esp.get_flash_encryption_enabled.return_value = False
        esp.get_chip_revision.return_value = 301
        esp.flash_id.return_value = GD25Q32_ID
        esp.read_spiflash_sfdp.return_value = 0
        esp.read_mac.return_value = (0x24, 0x6F, 0x28, 0xA1, 0x00, 0x01)
        esp.erase_flash.side_effect = self._erase
        esp.flash_defl_begin.side_effect = self._defl_begin
        esp.flash_defl_block.side_effect = self._defl_block
        esp.flash_begin.side_effect = self._begin
        esp.flash_block.side_effect = self._block
        esp.flash_md5sum.side_effect = lambda addr, size: hashlib.md5(bytes(self.flash[addr:addr + size])).hexdigest()
        self.esp = esp
        self._pos = 0
        self._z = None

    def _erase(self):
        self.flash[:] = b"\xff" * FLASH_SIZE
        self.erased = True

    def _put(self, data):
        if self.corrupt and self._pos == 0x1000:
            data = b"\x00" + data[1:]  # a bit flipped on the wire: verify must catch it
        self.flash[self._pos:self._pos + len(data)] = data
        self.writes.append((self._pos, len(data)))
        self._pos += len(data)

    def _defl_begin(self, size, compsize, offset, **kw):
        self._pos, self._z = offset, zlib.decompressobj()

    def _defl_block(self, data, seq, **kw):
        self._put(self._z.decompress(data))

    def _begin(self, size, offset, **kw):
        self._pos = offset

    def _block(self, data, seq, **kw):
        self._put(data)


@pytest.fixture
def board():
    return boards.load_board("LILYGO_T_A7670", ROOT / "boards")


# ---- the fake image is real enough for esptool -----------------------------------------------------------
def test_test_image_is_valid_for_esptool():
    img = firmware()
    LoadFirmwareImage("esp32", img[:0x1000]).verify()  # bootloader part
    LoadFirmwareImage("esp32", img[0xF000:]).verify()  # app part
    info = flash.inspect_image(img)
    assert info["chip"] == "ESP32" and info["full_image"] and info["segments"] == 2


# ---- library ------------------------------------------------------------------------------------------
def test_flash_writes_the_image_at_the_board_offset_and_verifies(board, capsys):
    chip = FakeChip()
    img = firmware()
    seen = []
    result = flash.flash_firmware(chip.esp, board, img, progress=lambda done, total: seen.append((done, total)))
    assert chip.erased
    assert bytes(chip.flash[0x1000:0x1000 + len(img)]) == img
    assert chip.flash[:0x1000] == b"\xff" * 0x1000  # below the offset: erased, untouched by the write
    assert chip.writes[0][0] == 0x1000
    assert result["offset"] == 0x1000 and result["size"] == len(img) and result["verified"]
    assert result["mac"] == "24:6f:28:a1:00:01" and result["flash_size"] == "4MB"
    assert result["sha256"] == hashlib.sha256(img).hexdigest()
    chip.esp.hard_reset.assert_called()  # reset_chip("hard-reset") ran: the radio boots the new firmware
    assert seen and seen[-1][0] == seen[-1][1] and all(a <= b for (a, _), (b, _) in zip(seen, seen[1:]))
    assert capsys.readouterr().out == ""  # esptool was kept quiet: library code prints nothing


def test_no_erase_keeps_the_rest_of_flash(board):
    chip = FakeChip()
    img = firmware()
    flash.flash_firmware(chip.esp, board, img, erase=False)
    assert not chip.erased
    assert chip.flash[0x300000:0x300010] == b"\x5a" * 16  # the filesystem area was not wiped


def test_rom_loader_gets_the_stub_first(board):
    from esptool.targets.esp32 import ESP32ROM
    rom = FakeChip(is_stub=False)
    rom.esp.STUB_CLASS = ESP32ROM.STUB_CLASS  # esptool loads the real ESP32 stub image for upload
    stub = FakeChip()
    rom.esp.run_stub.return_value = stub.esp
    flash.flash_firmware(rom.esp, board, firmware())
    rom.esp.run_stub.assert_called_once()
    assert stub.writes and not rom.writes  # everything after the stub goes through the stub


def test_wrong_chip_refused_before_anything_is_written(board):
    chip = FakeChip(chip="ESP32-S3", image_chip_id=9)
    with pytest.raises(DeviceError) as e:
        flash.flash_firmware(chip.esp, board, firmware())
    assert "ESP32-S3" in e.value.message and "LILYGO_T_A7670" in e.value.message
    assert "--board" in e.value.hint
    assert not chip.erased and chip.writes == []
    chip.esp.erase_flash.assert_not_called()


def test_verify_failure_is_a_device_error(board):
    chip = FakeChip(corrupt_writes=True)
    with pytest.raises(DeviceError) as e:
        flash.flash_firmware(chip.esp, board, firmware())
    assert e.value.message.startswith("verification failed: the flash does not hold what was written")
    assert "flash again" in e.value.hint


def test_serial_failure_mid_write_is_a_device_error(board):
    chip = FakeChip()
    chip.esp.flash_defl_block.side_effect = FatalError("Timed out waiting for packet header")
    with pytest.raises(DeviceError) as e:
        flash.flash_firmware(chip.esp, board, firmware())
    assert "writing failed" in e.value.message and "BOOT" in e.value.hint


@pytest.mark.parametrize("data, words", [
    (b"", "too short"),
    (b"PK\x03\x04" + b"\0" * 100, "not an ESP firmware image"),
    (b"\xe9\x00" + b"\0" * 100, "segments"),
    (bytes([0xE9, 2]) + b"\0" * 10 + struct.pack("<H", 777) + b"\0" * 50, "unknown chip id"),
])
def test_bad_images_refused(board, data, words):
    with pytest.raises(UserError) as e:
        flash.check_image_for_board(data, board)
    assert words in e.value.message
    assert "micropython.org/download/ESP32_GENERIC" in e.value.hint
    assert "SPIRAM" in e.value.hint  # the T-A7670 has PSRAM: point at the right build


def test_image_for_another_chip_app_only_or_too_big_refused(board):
    with pytest.raises(UserError, match="built for ESP32-S3"):
        flash.check_image_for_board(firmware(chip_id=9), board)
    with pytest.raises(UserError, match="application-only"):
        flash.check_image_for_board(firmware(with_table=False), board)
    big = firmware() + b"\xff" * FLASH_SIZE
    with pytest.raises(UserError, match="only"):
        flash.check_image_for_board(big, board)


# ---- CLI ----------------------------------------------------------------------------------------------
def test_cli_flash_with_injected_chip(tmp_path):
    f = tmp_path / "ESP32_GENERIC-SPIRAM-20241129-v1.24.1.bin"
    f.write_bytes(firmware())
    chip = FakeChip()
    code, out, err = run(["flash", "--port", "/dev/ttyUSB9", "--board", "LILYGO_T_A7670", "--firmware", str(f),
                          "--json"], esp=chip.esp)
    assert code == 0, err
    r = json.loads(out)
    assert r["verified"] and r["offset"] == 0x1000 and r["port"] == "/dev/ttyUSB9"
    assert bytes(chip.flash[0x1000:0x1000 + f.stat().st_size]) == f.read_bytes()
    code, out, _ = run(["flash", "-p", "/dev/ttyUSB9", "-b", "LILYGO_T_A7670", "-f", str(f)], esp=FakeChip().esp)
    assert code == 0 and "verified" in out and "24:6f:28:a1:00:01" in out


def test_cli_missing_image_is_a_clear_error_with_download_hint(tmp_path):
    code, out, err = run(["flash", "--port", "/dev/ttyUSB9", "--board", "LILYGO_T_A7670", "--firmware",
                          str(tmp_path / "micropython.bin")])
    assert code == EXIT_NOT_FOUND
    assert err.startswith("error: firmware image not found")
    assert "Hint: download the official MicroPython firmware from https://micropython.org/download/" in err
    assert "Traceback" not in err


def test_cli_wrong_file_and_wrong_chip(tmp_path):
    f = tmp_path / "firmware.uf2"
    f.write_bytes(b"UF2\n" + b"\0" * 600)
    chip = FakeChip()
    code, _, err = run(["flash", "-p", "/dev/x", "-b", "DIY_DEVKITC_EC200U", "-f", str(f)], esp=chip.esp)
    assert code == EXIT_USAGE and "not an ESP firmware image" in err and "Hint:" in err
    assert "SPIRAM" not in err  # the DevKitC has no PSRAM: the plain build is the right one
    f.write_bytes(firmware())
    chip = FakeChip(chip="ESP32-C3", image_chip_id=5)
    code, _, err = run(["flash", "-p", "/dev/x", "-b", "DIY_DEVKITC_EC200U", "-f", str(f)], esp=chip.esp)
    assert code == EXIT_DEVICE and "ESP32-C3" in err and chip.writes == []


def test_cli_unknown_board_and_missing_args(tmp_path):
    code, _, err = run(["flash", "-p", "/dev/x", "-b", "NOPE", "-f", "x.bin"])
    assert code == EXIT_NOT_FOUND and "known boards" in err
    code, _, err = run(["flash", "-p", "/dev/x"])
    assert code == EXIT_USAGE and "--board" in err


def test_cli_port_that_does_not_exist_is_a_device_error(tmp_path):
    f = tmp_path / "fw.bin"
    f.write_bytes(firmware())
    code, _, err = run(["flash", "-p", str(tmp_path / "ttyNOPE"), "-b", "LILYGO_T_A7670", "-f", str(f)])
    assert code == EXIT_DEVICE and "cannot talk to the bootloader" in err and "Hint:" in err
    assert "Traceback" not in err
