"""htctl deploy against a virtual device: compile, hash-skip, verify, reset, banner — and its failure paths."""
import io
import pathlib
import re
import subprocess
import sys

import pytest

from htctl import deploy as D
from htctl import manifest
from htctl.cli import main as htctl_main
from htctl.errors import DeviceError
from htctl.transport import DeviceTransport

pytestmark = pytest.mark.mpy

BOARD = "LILYGO_T_A7670"
HTCTL = pathlib.Path(sys.executable).parent / "htctl"


def _modules(fw):
    # What a deploy must put on the virtual device for this firmware tree: its build's manifest (vdev: the
    # radio build plus the desktop HAL), x64 .mpy except boot/main.
    out = []
    for rel, _ in manifest.files("vdev", fw):
        out.append("/" + (rel if rel in D.SOURCE_ONLY else rel[:-3] + ".mpy"))
    return sorted(out + ["/board.json"])


def test_full_then_incremental_deploy_copies_exactly_the_changed_file(vdev, firmware_copy, tmp_path):
    cache = tmp_path / "cache"
    full = D.deploy(vdev.port, board=BOARD, firmware_dir=firmware_copy, cache_dir=cache)
    assert full["arch"] == "x64"
    assert sorted(full["copied"]) == _modules(firmware_copy)
    assert full["skipped"] == [] and full["verified"] == len(full["copied"])
    assert full["compiled"] == len([p for p in full["copied"] if p.endswith(".mpy")])  # fresh cache
    # what landed on the "flash" is what we built: compiled x64 code, magic 'M', mpy v6
    assert (vdev.flash_dir / "ht" / "voice" / "codecs.mpy").read_bytes()[:2] == b"M\x06"
    assert (vdev.flash_dir / "board.json").read_bytes() == (D.BOARDS_DIR / BOARD / "board.json").read_bytes()

    mod = firmware_copy / "ht" / "selftest" / "local.py"
    mod.write_text(mod.read_text() + "\nDEPLOY_MARK = 1\n")
    inc = D.deploy(vdev.port, board=BOARD, firmware_dir=firmware_copy, cache_dir=cache)
    assert inc["copied"] == ["/ht/selftest/local.mpy"]
    assert len(inc["skipped"]) == len(full["copied"]) - 1
    assert inc["compiled"] == 1 and inc["verified"] == 1
    assert inc["bytes_copied"] == (vdev.flash_dir / "ht" / "selftest" / "local.mpy").stat().st_size

    # and the device really runs the new module
    with DeviceTransport(vdev.port) as t:
        assert t.eval("__import__('ht.selftest.local').selftest.local.DEPLOY_MARK") == 1


def test_banner_after_reset_carries_the_deployed_version(vdev, firmware_copy):
    init = firmware_copy / "ht" / "__init__.py"
    init.write_text(init.read_text().replace('VERSION = "', 'VERSION = "9.8.7-test+'))
    r = D.deploy(vdev.port, board=BOARD, firmware_dir=firmware_copy)
    assert r["version"].startswith("9.8.7-test+")
    assert r["banner"] == "HT firmware %s board=%s" % (r["version"], BOARD)
    vdev.wait_output(re.escape(r["banner"].encode()))


def test_a_corrupted_file_on_the_device_is_copied_again(vdev, firmware_copy):
    D.deploy(vdev.port, board=BOARD, firmware_dir=firmware_copy)
    target = vdev.flash_dir / "ht" / "config.mpy"
    good = target.read_bytes()
    target.write_bytes(good[:-5] + b"\x00" * 5)       # a flipped tail: same size, wrong content
    (vdev.flash_dir / "ht" / "voice" / "frame.mpy").unlink()     # and one missing
    r = D.deploy(vdev.port, board=BOARD, firmware_dir=firmware_copy)
    assert sorted(r["copied"]) == ["/ht/config.mpy", "/ht/voice/frame.mpy"]
    assert target.read_bytes() == good


def test_stale_modules_are_removed_but_device_files_are_kept(vdev, firmware_copy):
    (vdev.flash_dir / "ht").mkdir()
    (vdev.flash_dir / "ht" / "codecs.py").write_text("raise ImportError('stale source shadows the .mpy')\n")
    (vdev.flash_dir / "ht" / "old_module.mpy").write_bytes(b"M\x06old")
    (vdev.flash_dir / "config.json").write_text('{"schema": 1}')
    r = D.deploy(vdev.port, board=BOARD, firmware_dir=firmware_copy)
    assert r["removed"] == ["/ht/codecs.py", "/ht/old_module.mpy"]   # the flat layout's leftovers
    # leftovers of a deploy that was cut off mid-file; other .tmp files are the device's own business
    (vdev.flash_dir / "main.py.tmp").write_text("half a main.py")
    (vdev.flash_dir / "ht" / "voice.mpy.tmp").write_bytes(b"M\x06half")
    (vdev.flash_dir / "notes.tmp").write_text("not ours")
    r = D.deploy(vdev.port, board=BOARD, firmware_dir=firmware_copy)
    assert r["copied"] == []
    assert r["removed"] == ["/ht/voice.mpy.tmp", "/main.py.tmp"]
    assert (vdev.flash_dir / "notes.tmp").exists()
    assert not (vdev.flash_dir / "ht" / "codecs.py").exists()
    assert (vdev.flash_dir / "config.json").read_text() == '{"schema": 1}'


def test_source_deploy_runs_plain_python(vdev, firmware_copy):
    r = D.deploy(vdev.port, board=BOARD, arch="py", firmware_dir=firmware_copy)
    assert r["arch"] == "py"
    assert "/ht/voice/codecs.py" in r["copied"] and not any(p.endswith(".mpy") for p in r["copied"])
    assert r["version"] == D.firmware_version(firmware_copy)


def test_progress_reports_every_byte(vdev, firmware_copy):
    seen = []
    r = D.deploy(vdev.port, board=BOARD, firmware_dir=firmware_copy, progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, r["bytes_copied"])
    assert seen[-1] == (r["bytes_copied"], r["bytes_copied"])
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_verify_catches_a_transfer_that_lands_wrong(vdev, firmware_copy):
    class Lossy(DeviceTransport):
        def write_file(self, path, data, progress=None):
            if path == "/ht/voice/frame.mpy":
                data = data[:-1] + bytes([data[-1] ^ 0xFF])
            return super().write_file(path, data, progress)

    with Lossy(vdev.port) as t:
        with pytest.raises(DeviceError) as e:
            D.deploy(vdev.port, board=BOARD, firmware_dir=firmware_copy, transport=t)
    assert "verify failed" in e.value.message and "/ht/voice/frame.mpy" in e.value.message
    assert e.value.hint


def test_a_banner_with_another_version_is_an_error(vdev, firmware_copy):
    main = firmware_copy / "main.py"
    main.write_text(main.read_text().replace("(VERSION, ", "('0.0.0-old', "))
    with pytest.raises(DeviceError) as e:
        D.deploy(vdev.port, board=BOARD, firmware_dir=firmware_copy)
    assert "0.0.0-old" in e.value.message


def test_no_board_anywhere_is_a_user_error(vdev, firmware_copy):
    err = io.StringIO()
    code = htctl_main(["deploy", "--port", vdev.port], stderr=err, stdout=io.StringIO())
    assert code == 2
    assert "no board.json" in err.getvalue() and "Hint: " in err.getvalue()


def test_cli_deploy_table_for_people(vdev):
    out = io.StringIO()
    code = htctl_main(["deploy", "--port", vdev.port, "--board", BOARD], stdout=out, stderr=io.StringIO())
    assert code == 0
    text = out.getvalue()
    assert "HT firmware %s board=%s" % (D.firmware_version(), BOARD) in text
    assert re.search(r"files\s+\S*\s*\d+: \d+ copied, 0 unchanged", text), text


def test_cli_deploy_json_report(vdev, firmware_copy):
    out = io.StringIO()
    code = htctl_main(["deploy", "--port", vdev.port, "--board", BOARD, "--json", "-q"], stdout=out,
                      stderr=io.StringIO())
    assert code == 0
    import json
    report = json.loads(out.getvalue())
    assert report["banner"].startswith("HT firmware ")
    assert report["port"] == vdev.port


def test_wrong_port_is_a_clear_error_with_a_hint(tmp_path):
    err = io.StringIO()
    code = htctl_main(["deploy", "--port", str(tmp_path / "ttyUSB9"), "--board", BOARD], stderr=err,
                      stdout=io.StringIO())
    assert code == 4
    text = err.getvalue()
    assert text.startswith("error: cannot open port ")
    assert "Hint: " in text and "Traceback" not in text
    # the real console script behaves the same
    r = subprocess.run([str(HTCTL), "deploy", "--port", "/dev/ttyUSB97"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 4
    assert "error: cannot open port /dev/ttyUSB97" in r.stderr and "Hint:" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_port_where_nothing_answers_is_a_device_error(tmp_path, capsys):
    import os
    import sys as _sys
    master, slave = os.openpty()  # a serial line with something else behind it
    os.write(master, b"garbage from a GPS module\r\n")
    stdout = _sys.stdout
    try:
        with pytest.raises(DeviceError) as e:
            with DeviceTransport(os.ttyname(slave), raw_timeout=1) as t:
                t.enter_raw()
        assert "no MicroPython REPL answered" in e.value.message
        assert e.value.hint
        # library code prints nothing and leaves sys.stdout alone (parallel benches share it)
        assert capsys.readouterr().out == ""
        assert _sys.stdout is stdout
    finally:
        os.close(master)
        os.close(slave)
