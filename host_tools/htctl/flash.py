"""Flash MicroPython onto a radio through esptool's Python API (esptool v5 ``esptool.cmds``).

``flash_firmware(esp_or_port, board, image_path, progress=None)``: check the image (ESP32 magic byte, chip id
in the extended header, bootloader + partition table present, fits the board's flash), detect the chip and
refuse one that is not the board's MCU, erase, write at the board's offset, verify, hard-reset. Returns data;
never prints (esptool's own logger is silenced for the duration); errors are ``HTError`` with hints.
No firmware image is bundled: the technician downloads the official MicroPython build.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import pathlib
import struct
import zlib
from collections.abc import Callable
from typing import Any

from .errors import DeviceError, NotFoundError, UserError

ESP_IMAGE_MAGIC = 0xE9
PARTITION_TABLE_MAGIC = b"\xaa\x50"
PARTITION_TABLE_OFFSET = 0x8000       # where ESP-IDF (and MicroPython) put the partition table in flash
# board mcu -> esptool CHIP_NAME
MCU = {"esp32": "ESP32"}


def _download_hint(board=None):
    # Boards with PSRAM (WROVER) want the SPIRAM build; both are on the same MicroPython download page.
    build = "ESP32_GENERIC-SPIRAM" if board and board.get("psram_mb") else "ESP32_GENERIC"
    return ("download the official MicroPython firmware from https://micropython.org/download/ESP32_GENERIC/ "
            "(the file %s-<date>-v<version>.bin) and pass it with --firmware" % build)


def chip_names_by_image_id() -> dict[int, str]:
    """esptool's own table: image header chip id -> chip name (ESP32 = 0, ESP32-S3 = 9, ...)."""
    from esptool.targets import CHIP_DEFS

    out = {}
    for cls in CHIP_DEFS.values():
        cid = getattr(cls, "IMAGE_CHIP_ID", None)
        if isinstance(cid, int):
            out.setdefault(cid, cls.CHIP_NAME)
    return out


def inspect_image(data: bytes, offset: int = 0x1000) -> dict[str, Any]:
    """What a firmware file is, from its bytes: {chip, chip_id, segments, size, full_image, sha256}.

    Raises UserError for anything that is not an ESP image meant for ``offset``.
    """
    if len(data) < 24:
        raise UserError("firmware file is too short (%d bytes) to be an ESP32 image" % len(data))
    if data[0] != ESP_IMAGE_MAGIC:
        raise UserError("this is not an ESP firmware image (first byte 0x%02x, expected 0x%02x)" % (data[0],
                                                                                                   ESP_IMAGE_MAGIC))
    segments = data[1]
    if not 1 <= segments <= 16:
        raise UserError("firmware header says %d segments; the file is damaged" % segments)
    # esp_image_header_t: 8-byte header, then the extended header whose bytes 4-5 are the chip id.
    chip_id = struct.unpack_from("<H", data, 12)[0]
    names = chip_names_by_image_id()
    if chip_id not in names:
        raise UserError("firmware header has unknown chip id %d; the file is damaged or not for an ESP chip"
                        % chip_id)
    # A file for 0x1000 is bootloader + partition table + app in one: the table sits at 0x8000 in flash.
    table_at = PARTITION_TABLE_OFFSET - offset
    full = len(data) > table_at + 2 and data[table_at:table_at + 2] == PARTITION_TABLE_MAGIC
    return {"chip": names[chip_id], "chip_id": chip_id, "segments": segments, "size": len(data),
            "full_image": full, "sha256": hashlib.sha256(data).hexdigest()}


def read_image(path: str | os.PathLike[str], board: dict[str, Any] | None = None) -> bytes:
    p = pathlib.Path(path)
    hint = _download_hint(board)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise NotFoundError("firmware image not found: %s" % p, hint=hint)
    except IsADirectoryError:
        raise UserError("%s is a folder, not a firmware .bin file" % p, hint=hint)
    except OSError as exc:
        raise UserError("cannot read %s: %s" % (p, exc.strerror or exc), hint=hint)
    return data


def check_image_for_board(data: bytes, board: dict[str, Any], path: str = "firmware") -> dict[str, Any]:
    """Refuse an image the board cannot run (wrong chip, app-only, too big). Returns inspect_image()."""
    offset = board_offset(board)
    try:
        info = inspect_image(data, offset)
    except UserError as exc:
        raise UserError("%s: %s" % (path, exc.message), hint=_download_hint(board))
    want = MCU.get(board["mcu"])
    if info["chip"] != want:
        raise UserError("%s is built for %s, but board %s has an %s" % (path, info["chip"], board["name"], want),
                        hint=_download_hint(board))
    if not info["full_image"]:
        raise UserError("%s has no partition table at 0x%x: it looks like an application-only build" % (
            path, PARTITION_TABLE_OFFSET), hint="flash the complete firmware .bin; " + _download_hint(board))
    room = board["flash_mb"] * 1024 * 1024 - offset
    if len(data) > room:
        raise UserError("%s is %d bytes but board %s has only %d bytes of flash after 0x%x" % (
            path, len(data), board["name"], room, offset), hint=_download_hint(board))
    return info


def board_offset(board: dict[str, Any]) -> int:
    off = board.get("firmware_offset", "0x1000")
    return int(off, 16) if isinstance(off, str) else int(off)


@contextlib.contextmanager
def _quiet_esptool():
    # esptool prints through its own logger; library code here must not print at all.
    from esptool.logger import log

    log.set_verbosity("silent")
    try:
        yield
    finally:
        log.set_verbosity("auto")


@contextlib.contextmanager
def _count_blocks(esp, progress, total):
    # esptool reports progress only to its logger; count the blocks as they go to the chip instead.
    if progress is None:
        yield
        return
    sent = [0]
    originals = {}
    for name in ("flash_defl_block", "flash_block"):
        orig = getattr(esp, name)
        originals[name] = orig

        def counted(data, seq, *a, _orig=orig, **kw):
            r = _orig(data, seq, *a, **kw)
            sent[0] += len(data)
            progress(min(sent[0], total), total)
            return r
        setattr(esp, name, counted)
    try:
        yield
    finally:
        for name, orig in originals.items():
            setattr(esp, name, orig)
        progress(total, total)


def _mac(esp):
    try:
        mac = esp.read_mac()
        return ":".join("%02x" % b for b in mac) if isinstance(mac, (bytes, bytearray, tuple, list)) else None
    except Exception:
        return None


def connect(port: str, baud: int = 460800) -> Any:
    """Open the port and identify the chip (esptool ``detect_chip``). DeviceError with a hint on failure."""
    from esptool import cmds
    from esptool.util import FatalError

    try:
        with _quiet_esptool():
            return cmds.detect_chip(port, baud)
    except (FatalError, OSError) as exc:
        raise DeviceError("cannot talk to the bootloader on %s: %s" % (port, exc),
                          hint="check the USB cable and the port name; close any serial monitor; if it still "
                               "fails, hold BOOT (GPIO0), tap EN/RST, release BOOT and retry")


def flash_firmware(esp: Any, board: dict[str, Any], data: bytes, progress: Callable[[int, int], None] | None = None,
                   erase: bool = True, reset: bool = True) -> dict[str, Any]:
    """Write a checked image to a connected chip (``esp`` from :func:`connect` or a test double).

    ``progress(done, total)`` is called as blocks are written. Returns {chip, mac, offset, size, sha256,
    verified, erased, flash_size}.
    """
    from esptool import cmds
    from esptool.util import FatalError

    info = check_image_for_board(data, board)
    offset = board_offset(board)
    want = MCU[board["mcu"]]
    chip = getattr(esp, "CHIP_NAME", None)
    if chip != want:
        raise DeviceError("the connected chip is %s, but board %s needs an %s" % (chip, board["name"], want),
                          hint="pick the right --board (`htctl boards list`) or the right --port")
    step = "starting the flasher stub"
    try:
        with _quiet_esptool():
            if not esp.IS_STUB:
                esp = cmds.run_stub(esp)
            step = "reading the flash chip"
            cmds.attach_flash(esp)
            flash_size = cmds.detect_flash_size(esp)
            if erase:
                step = "erasing the flash"
                cmds.erase_flash(esp)
            step = "writing"
            total = len(zlib.compress(data, 9)) if esp.IS_STUB else len(data)
            with _count_blocks(esp, progress, total):
                cmds.write_flash(esp, [(offset, data)], flash_size="keep")
            step = "verifying"
            cmds.verify_flash(esp, [(offset, data)], flash_size="keep")
            if reset:
                step = "resetting"
                cmds.reset_chip(esp, "hard-reset")
    except FatalError as exc:
        msg = str(exc)
        # write_flash already compares an MD5 of the flash after writing; either check failing means the same.
        if step == "verifying" or "MD5" in msg or "Verification" in msg:
            raise DeviceError("verification failed: the flash does not hold what was written (%s)" % msg,
                              hint="flash again; if it keeps failing, try a lower --baud or another cable")
        raise DeviceError("%s failed: %s" % (step, msg), hint="reset the board into the bootloader (hold BOOT, "
                                                               "tap EN) and retry; try --baud 115200")
    except OSError as exc:
        raise DeviceError("the serial link dropped while %s: %s" % (step, exc),
                          hint="check the USB cable and power; then flash again")
    return {"chip": chip, "mac": _mac(esp), "offset": offset, "size": len(data), "sha256": info["sha256"],
            "image_chip": info["chip"], "verified": True, "erased": bool(erase), "flash_size": flash_size,
            "board": board["name"]}


def close(esp: Any) -> None:
    port = getattr(esp, "_port", None)
    with contextlib.suppress(Exception):
        port.close()
