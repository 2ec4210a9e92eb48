"""The virtual device behaves like a radio on a serial port: the real mpremote (CLI and library) drives it."""
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import pytest
import serial

from htctl.acceptance import selftest_net_code
from htctl.errors import DeviceError

pytestmark = pytest.mark.mpy

ROOT = pathlib.Path(__file__).resolve().parents[2]
HTCTL = pathlib.Path(sys.executable).parent / "htctl"


def _write(dev, name, text):
    path = dev.flash_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_start_gives_a_pty_and_boots_the_firmware(vdev_fw):
    assert re.match(r"^/dev/pts/\d+$", vdev_fw.port)
    assert os.path.exists(vdev_fw.port)
    m = vdev_fw.wait_output(rb"HT firmware (\S+) board=(\S+)")
    assert m.group(1).decode() == _firmware_version()
    assert m.group(2) == b"LILYGO_T_A7670"
    # The firmware must not crash when the radio app is missing: it says why and leaves the REPL.
    vdev_fw.wait_output(rb"(?s)HT status: [^\r\n]+\r\n.*>>> ", timeout=30)


def _firmware_version():
    text = (ROOT / "firmware" / "ht" / "__init__.py").read_text()
    return re.search(r'VERSION = "([^"]+)"', text).group(1)


def test_mpremote_cli_copies_lists_execs_and_cats(vdev, mpremote, tmp_path):
    blob = bytes(range(256)) * 40 + b"\r\n\n\x04\x03\x01end"  # control bytes must survive the pty
    local = tmp_path / "blob.bin"
    local.write_bytes(blob)
    r = mpremote(vdev.port, "fs", "mkdir", ":data", "+", "fs", "cp", local, ":data/blob.bin")
    assert r.returncode == 0, r.stderr
    assert (vdev.flash_dir / "data" / "blob.bin").read_bytes() == blob

    r = mpremote(vdev.port, "fs", "ls", ":data")
    assert r.returncode == 0, r.stderr
    assert "blob.bin" in r.stdout

    back = tmp_path / "back.bin"
    r = mpremote(vdev.port, "fs", "cp", ":data/blob.bin", back)
    assert r.returncode == 0, r.stderr
    assert back.read_bytes() == blob

    r = mpremote(vdev.port, "exec", "import os; print(sorted(os.listdir('/')), 6 * 7)")
    assert r.returncode == 0, r.stderr
    assert "['data'] 42" in r.stdout

    _write(vdev, "hello.txt", "halo dunia\n")
    r = mpremote(vdev.port, "fs", "cat", ":hello.txt")
    assert r.stdout.strip() == "halo dunia"


def test_flash_folder_is_the_whole_device_filesystem(vdev, mpremote):
    _write(vdev, "lib/x.py", "X = 1\n")
    r = mpremote(vdev.port, "exec", "import os; print(sorted(os.listdir('/')), os.getcwd()); import x; print(x.X)")
    assert r.returncode == 0, r.stderr
    # '/' is the flash: the host's /etc, /usr … are not visible, and /lib is on sys.path as on the ESP32.
    assert r.stdout.split() == ["['lib']", "/", "1"]


def test_device_exception_is_reported_by_mpremote(vdev, mpremote):
    r = mpremote(vdev.port, "exec", "1/0")
    assert r.returncode == 1
    assert "ZeroDivisionError" in r.stdout + r.stderr


def test_soft_reset_raw_mode_runs_boot_not_main_and_friendly_runs_both(vdev_factory, tmp_path, mpremote):
    # pyexec semantics: after a reset in the raw REPL only boot.py runs; from the friendly REPL main.py too.
    flash = tmp_path / "resets"
    flash.mkdir()
    (flash / "boot.py").write_text("f = open('log.txt', 'a'); f.write('boot\\n'); f.close()\n")
    (flash / "main.py").write_text("f = open('log.txt', 'a'); f.write('main\\n'); f.close()\nprint('MAIN-RAN')\n")
    vdev = vdev_factory(flash_dir=flash)
    vdev.wait_output(rb"MAIN-RAN")
    log = flash / "log.txt"
    assert log.read_text().splitlines() == ["boot", "main"]  # power-on runs both
    boots = vdev.boots

    r = mpremote(vdev.port, "soft-reset")
    assert r.returncode == 0, r.stderr
    assert log.read_text().splitlines() == ["boot", "main", "boot"]
    assert vdev.boots == boots + 1

    from htctl.transport import DeviceTransport
    mark = vdev.mark()
    with DeviceTransport(vdev.port) as t:
        text, _ = t.soft_reset(wait_for=rb"MAIN-RAN", timeout=30)
    vdev.wait_output(rb"MPY: soft reboot\r\n", since=mark)
    assert b"MAIN-RAN" in text
    assert log.read_text().splitlines() == ["boot", "main", "boot", "boot", "main"]


def test_ctrl_c_interrupts_a_running_main(vdev_factory, mpremote, tmp_path):
    flash = tmp_path / "busy"
    flash.mkdir()
    (flash / "main.py").write_text("import time\nprint('LOOPING')\nwhile True:\n    time.sleep_ms(50)\n")
    dev = vdev_factory(flash_dir=flash)
    dev.wait_output(rb"LOOPING")
    r = mpremote(dev.port, "exec", "print('got in')")
    assert r.returncode == 0, r.stderr
    assert "got in" in r.stdout
    assert b"KeyboardInterrupt" in dev.output()


def test_mpremote_library_api(vdev):
    # The same transport class htctl uses, called directly (no CLI).
    from mpremote.transport_serial import SerialTransport

    t = SerialTransport(vdev.port, baudrate=115200, timeout=2)
    try:
        t.enter_raw_repl(soft_reset=True)
        t.fs_mkdir("cfg")
        t.fs_writefile("cfg/a.json", b'{"unit": "DISHUB-01"}')
        assert t.fs_readfile("cfg/a.json") == b'{"unit": "DISHUB-01"}'
        assert [e.name for e in t.fs_listdir("cfg")] == ["a.json"]
        assert t.eval("sum(range(10))") == 45
        assert t.fs_hashfile("cfg/a.json", "sha256") == __import__("hashlib").sha256(b'{"unit": "DISHUB-01"}').digest()
        t.exit_raw_repl()
    finally:
        t.close()


def _read_until(ser, ending, timeout=20):
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(ending):
        assert time.monotonic() < deadline, "waited for %r, got %r" % (ending, data[-200:])
        data += ser.read(1)
    return data


def test_raw_repl_and_raw_paste_protocol_bytes(vdev):
    # Speak the protocol by hand (pyexec.c): the bytes a tool other than mpremote would rely on.
    with serial.Serial(vdev.port, 115200, timeout=1) as ser:
        ser.write(b"\r\x03\x03\r\x01")
        _read_until(ser, b"raw REPL; CTRL-B to exit\r\n>")
        # plain raw REPL: code, Ctrl-D -> "OK" stdout \x04 stderr \x04 ">"
        ser.write(b"print('x' * 3)\x04")
        assert _read_until(ser, b"\x04>") == b"OKxxx\r\n\x04\x04>"
        ser.write(b"raise ValueError('bad')\x04")
        out = _read_until(ser, b"\x04>")
        assert out.startswith(b"OK\x04") and b"ValueError: bad" in out
        # raw-paste: Ctrl-E 'A' Ctrl-A -> "R\x01" + window size (uint16 LE) + \x01 per window consumed
        ser.write(b"\x05A\x01")
        head = ser.read(2)
        assert head == b"R\x01"
        window = int.from_bytes(ser.read(2), "little")
        assert window >= 32
        assert ser.read(1) == b"\x01"
        code = b"s = 0\nfor i in range(%d):\n    s += i\nprint(s)\n" % 1000
        code = code + b"#" * (3 * window) + b"\n"  # longer than one window: flow control must kick in
        sent = 0
        credit = window
        while sent < len(code):
            if credit == 0 or ser.in_waiting:
                c = ser.read(1)
                assert c == b"\x01", c
                credit += window
                continue
            n = min(credit, len(code) - sent)
            ser.write(code[sent:sent + n])
            sent += n
            credit -= n
        ser.write(b"\x04")
        out = _read_until(ser, b"\x04>")
        # device acknowledges end of data with \x04, then runs: stdout \x04 stderr \x04 >
        assert out.lstrip(b"\x01").startswith(b"\x04")
        assert out.endswith(b"499500\r\n\x04\x04>")
        ser.write(b"\x02")
        _read_until(ser, b">>> ")


def test_sys_exit_and_crash_in_main_soft_reboot_or_give_repl(vdev_factory, tmp_path, mpremote):
    flash = tmp_path / "crashy"
    flash.mkdir()
    (flash / "main.py").write_text(
        "import os\n"
        "try:\n    n = int(open('n').read())\nexcept OSError:\n    n = 0\n"
        "open('n', 'w').write(str(n + 1))\n"
        "if n == 0:\n    import sys; sys.exit()\n"   # first boot: exit -> the board soft-reboots
        "raise RuntimeError('boom %d' % n)\n")      # second boot: traceback, then the REPL
    dev = vdev_factory(flash_dir=flash)
    dev.wait_output(rb"(?s)MPY: soft reboot\r\n.*RuntimeError: boom 1\r\n.*>>> ", timeout=30)
    assert dev.boots == 2
    r = mpremote(dev.port, "exec", "print(open('n').read())")
    assert r.stdout.strip().endswith("2")


def test_hard_reset_reboots_in_friendly_mode(vdev_factory, tmp_path):
    flash = tmp_path / "hr"
    flash.mkdir()
    (flash / "main.py").write_text("print('BOOTED')\n")
    dev = vdev_factory(flash_dir=flash)
    dev.wait_output(rb"BOOTED")
    mark = dev.mark()
    dev.hard_reset()
    dev.wait_output(rb"BOOTED", since=mark)
    assert dev.boots == 2


def test_output_while_nobody_listens_does_not_block_the_device(vdev_factory, tmp_path, mpremote):
    flash = tmp_path / "chatty"
    flash.mkdir()
    (flash / "main.py").write_text("for i in range(20000):\n    print('line %d of noise' % i)\nprint('QUIET')\n")
    dev = vdev_factory(flash_dir=flash)
    dev.wait_output(rb"QUIET", timeout=60)
    r = mpremote(dev.port, "exec", "print('still answers')")
    assert "still answers" in r.stdout


def test_wait_output_timeout_is_a_device_error(vdev):
    with pytest.raises(DeviceError) as e:
        vdev.wait_output(rb"never printed", timeout=0.5)
    assert "did not print" in str(e.value)


def test_modem_address_reaches_the_sim_hal(vdev_factory, tmp_path, mpremote):
    class FakeModem:  # stands in for the emulator: only its ports are read
        uart_port = 40123
        ctl_port = 40124

        def stop(self):
            pass

    dev = vdev_factory(modem=FakeModem())
    r = mpremote(dev.port, "exec",
                 "import os; print(os.getenv('HT_SIM_UART'), os.getenv('HT_SIM_CTL'), os.getenv('HT_VDEV_BOARD'))")
    assert r.stdout.split() == ["127.0.0.1:40123", "127.0.0.1:40124", "LILYGO_T_A7670"]


def test_cli_vdev_start_serves_until_interrupted(tmp_path, mpremote):
    flash = tmp_path / "cli-flash"
    p = subprocess.Popen([str(HTCTL), "vdev", "start", "--board", "LILYGO_T_A7670", "--flash", str(flash)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        m = re.search(r"(/dev/pts/\d+)", line)
        assert m, line + p.stderr.read()
        r = mpremote(m.group(1), "exec", "import main")  # the preloaded firmware prints its banner again
        assert "HT firmware %s board=LILYGO_T_A7670" % _firmware_version() in r.stdout
        assert (flash / "main.py").exists()
        lines = [line, p.stdout.readline(), p.stdout.readline()]
        ports = re.search(r"modem emulator: UART tcp 127.0.0.1:(\d+), control tcp 127.0.0.1:(\d+)", "".join(lines))
        assert ports, lines
        r = mpremote(m.group(1), "exec", "import os; print(os.getenv('HT_SIM_UART'))")
        assert r.stdout.strip() == "127.0.0.1:" + ports.group(1)
    finally:
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    # Ctrl-C exits 130 as docs/CLI.md promises (it exited 0 before: issue 13)
    assert p.returncode == 130, err
    assert "Traceback" not in err


def test_mpremote_run_and_interactive_repl_with_ctrl_d(vdev, mpremote, tmp_path):
    script = tmp_path / "hello.py"
    script.write_text("import sys\nprint('ran on', sys.platform)\n")
    r = mpremote(vdev.port, "run", script)
    assert r.returncode == 0 and "ran on linux" in r.stdout

    pid, fd, expect = _mpremote_on_pty(["connect", vdev.port, "repl"])  # `repl` wants a terminal on stdin
    try:
        expect(rb"Connected to MicroPython")
        os.write(fd, b"\r")
        expect(rb">>> $")
        os.write(fd, b"print(40 + 2)\r")
        expect(rb"42\r\n>>> $")
        os.write(fd, b"\x04")                   # Ctrl-D at the prompt: soft reboot, REPL again
        expect(rb"MPY: soft reboot\r\n(?s:.)*>>> $")
        os.write(fd, b"\x1d")                   # Ctrl-] leaves mpremote
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    finally:
        os.close(fd)


@pytest.mark.sim
def test_firmware_on_the_vdev_powers_and_talks_to_the_modem_emulator(vdev_factory, mpremote, tmp_path):
    # The whole seam: sim HAL pins -> emulator control port (PWRKEY), sim UART -> emulator AT dialect.
    from htsim.emu import ModemEmulator

    emu = ModemEmulator(dialect="A7670", time_scale=0.1, powered=False).start()
    try:
        dev = vdev_factory(board="LILYGO_T_A7670", preload=True, modem=emu)
        dev.wait_output(rb"HT firmware")
        script = tmp_path / "modem_up.py"
        script.write_text(
            "import asyncio, json, hal\n"
            "from ht import board\n"
            "from ht.modem.lifecycle import Modem\n"
            "b = board.load_path('board.json')\n"
            "h = hal.create(b)\n"
            "async def go():\n"
            "    m = Modem.from_board(b, {}, h.modem_uart(), h.modem_pins(), scale=0.1)\n"
            "    m.start()\n"
            "    before = await m.probe(tries=1, timeout_ms=300)\n"
            "    await m.power_on()\n"
            "    await m.wait_ready()\n"
            "    await m.init()\n"
            "    await m.identity()\n"
            "    print(json.dumps({'before': before, 'sim': await m.cpin(), 'imei': m.info.get('imei')}))\n"
            "asyncio.run(go())\n")
        r = mpremote(dev.port, "run", script)
        assert r.returncode == 0, r.stdout + r.stderr
        import json
        got = json.loads(r.stdout.strip().splitlines()[-1])
        assert got == {"before": False, "sim": "READY", "imei": "861234567890127"}  # off until PWRKEY
    finally:
        emu.stop()


def test_cli_vdev_start_json_blank_in_process(tmp_path, mpremote):
    import io
    import json
    from htctl.cli import main as htctl_main

    seen = {}
    out = io.StringIO()

    def wait():  # runs while the device is up, instead of waiting for Ctrl-C
        info = json.loads(out.getvalue())
        seen["info"] = info
        seen["ls"] = mpremote(info["port"], "exec", "import os; print(os.listdir('/'))").stdout.strip()
        seen["heap"] = mpremote(info["port"], "exec", "import gc; print(gc.mem_free() + gc.mem_alloc())").stdout

    code = htctl_main(["vdev", "start", "--blank", "--modem", "none", "--heap", "200K", "--json",
                       "--flash", str(tmp_path / "f")], stdout=out, stderr=io.StringIO(), wait=wait)
    assert code == 0
    assert seen["info"]["flash"] == str(tmp_path / "f") and seen["info"]["modem_uart_port"] is None
    assert seen["ls"] == "[]"          # --blank: a fresh radio, nothing installed
    assert 150_000 < int(seen["heap"]) <= 200 * 1024   # --heap: a small ESP32's RAM, not the host's
    err = io.StringIO()
    assert htctl_main(["vdev", "start", "--heap", "lots"], stdout=io.StringIO(), stderr=err) == 2
    assert "Hint:" in err.getvalue()
    err = io.StringIO()
    assert htctl_main(["vdev", "start", "--board", "NO_SUCH_BOARD"], stdout=io.StringIO(), stderr=err) == 3
    assert "unknown board NO_SUCH_BOARD" in err.getvalue() and "htctl boards list" in err.getvalue()


def test_ctrl_c_bursts_interrupt_code_but_never_kill_the_interpreter(vdev):
    # The unix port dies on a SIGINT between two runs (SIG_DFL) and on a second SIGINT before the first is
    # handled; a board just raises KeyboardInterrupt. The bridge must keep the board's behaviour.
    with serial.Serial(vdev.port, 115200, timeout=1) as ser:
        ser.write(b"\r\x03")
        _read_until(ser, b">>> ")
        for i in range(15):
            ser.write(b"n = 0\rwhile True: n += 1\r\r")
            _read_until(ser, b"... \r\n")
            ser.write(b"\x03" * (1 + i % 4))          # one to four Ctrl-C at once
            _read_until(ser, b"KeyboardInterrupt: \r\n>>> ")
            ser.write(b"\x03\x03print('alive', %d)\r" % i)  # Ctrl-C at the prompt is just a character
            _read_until(ser, b"alive %d\r\n>>> " % i)
    assert vdev.boots == 1


def test_sim_hal_reads_mic_wav_and_writes_speaker_wav_outside_the_flash(vdev_factory, tmp_path, mpremote):
    import struct
    import wave

    sim_dir = tmp_path / "sim"
    sim_dir.mkdir()
    samples = [((i * 37) % 2000) - 1000 for i in range(480)]   # 10 ms at 48 kHz, a sawtooth
    with wave.open(str(sim_dir / "mic.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(struct.pack("<480h", *samples))
    dev = vdev_factory(board="LILYGO_T_A7670", preload=True, sim_dir=sim_dir)
    dev.wait_output(rb"HT firmware")
    r = mpremote(dev.port, "exec",
                 "import hal, os\nfrom array import array\nfrom ht import board\n"
                 "h = hal.create(board.load_path('board.json'))\n"
                 "buf = array('h', bytes(160))\nh.mic().readinto(buf)\n"
                 "h.speaker().write(buf)\nh.save_speaker('heard.wav')\n"
                 "print(sorted(os.listdir('/')))")
    assert r.returncode == 0, r.stderr + r.stdout
    assert "heard.wav" not in r.stdout and "mic.wav" not in r.stdout   # host files stay off the flash
    with wave.open(str(sim_dir / "heard.wav"), "rb") as w:
        assert (w.getframerate(), w.getnchannels()) == (8000, 1)
        got = struct.unpack("<80h", w.readframes(80))
    # 48 kHz -> 8 kHz: each output sample is the mean of six input samples
    assert list(got) == [sum(samples[6 * i:6 * i + 6]) // 6 for i in range(80)]


@pytest.mark.sim
def test_cli_vdev_start_simulates_the_sim_and_modem_speed_asked_for(tmp_path, monkeypatch):
    # A technician reproducing a field radio: its SIM's ICCID and its modem's IMEI, with the emulator
    # sped up; the firmware on the device reads that identity through its own modem layer (as
    # `htctl provision` does) and runs its modem timeouts at the emulator's pace.
    import io
    import json
    from htctl.cli import main as htctl_main
    from htctl.registry import luhn_ok
    from htctl.transport import DeviceTransport

    monkeypatch.setenv("HTCTL_RAW_TIMEOUT", "60")    # a virtual device on a loaded machine answers slowly
    iccid = next(b + d for b in ["896210555566667777"] for d in "0123456789" if luhn_ok(b + d))
    imei = next(b + d for b in ["86700011122233"] for d in "0123456789" if luhn_ok(b + d))
    seen = {}
    out = io.StringIO()

    def wait():
        info = json.loads(out.getvalue())
        seen["info"] = info
        with DeviceTransport(info["port"]) as t:
            seen["scale"] = t.eval("__import__('hal').create(__import__('ht.board').board"
                                   ".load_path('board.json')).time_scale")
            seen["rows"] = t.exec_json(selftest_net_code(["modem", "iccid"], {"cold": False}),
                                       timeout=60)

    code = htctl_main(["vdev", "start", "--time-scale", "0.05", "--iccid", iccid, "--imei", imei, "--json",
                       "--flash", str(tmp_path / "f")], stdout=out, stderr=io.StringIO(), wait=wait)
    assert code == 0
    assert (seen["info"]["time_scale"], seen["info"]["iccid"], seen["info"]["imei"]) == (0.05, iccid, imei)
    assert seen["scale"] == 0.05
    rows = {r["check"]: r for r in seen["rows"]}
    assert rows["iccid"]["value"] == iccid and rows["iccid"]["extra"]["imei"] == imei, rows

    for bad, why in ((["--iccid", iccid[:-1] + str((int(iccid[-1]) + 1) % 10)], "Luhn"),
                     (["--imei", "12345"], "15 digits"), (["--time-scale", "0"], "time-scale"),
                     (["--modem", "none", "--iccid", iccid], "--modem auto")):
        err = io.StringIO()
        assert htctl_main(["vdev", "start"] + bad, stdout=io.StringIO(), stderr=err) == 2, bad
        assert why in err.getvalue() and "Hint:" in err.getvalue(), err.getvalue()


def test_binary_output_passes_untouched_and_text_is_cooked_like_a_board(vdev):
    # A board cooks print() (LF -> CRLF) but writes sys.stdout.buffer raw: mpremote's protocols rely on it.
    with serial.Serial(vdev.port, 115200, timeout=1) as ser:
        ser.write(b"\r\x03\x03\r\x01")
        _read_until(ser, b"raw REPL; CTRL-B to exit\r\n>")
        ser.write(b"import sys; sys.stdout.buffer.write(bytes(range(256))); print('a\\nb')\x04")
        out = _read_until(ser, b"\x04>")
        assert out == b"OK" + bytes(range(256)) + b"a\r\nb\r\n\x04\x04>"
        ser.write(b"\x02")
        _read_until(ser, b">>> ")
        ser.write(b"import sys; n = sys.stdout.buffer.write(b'\\x18\\n\\n'); print(7)\r")
        out = _read_until(ser, b">>> ")
        assert b"\x18\n\n7\r\n" in out


@pytest.mark.parametrize("length", [1, 9, 10, 11, 13, 26, 138])
def test_mpremote_mount_imports_modules_of_any_name_length(vdev, mpremote, tmp_path, length):
    # Protocol bytes of 0x0A (a 10-byte path, a 10-byte file, a length of 266 …) must not become \r\n.
    name = ("m%s" % ("x" * 200))[:length]
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / (name + ".py")).write_text("V = %r\nprint('loaded', len(V))\n" % ("\n" * (length + 250)))
    r = mpremote(vdev.port, "mount", tmp_path / "src", "exec", "import %s; print('len', len(%s.V))" % (name, name),
                 timeout=60)
    assert r.returncode == 0, r.stderr
    assert "loaded %d" % (length + 250) in r.stdout and "len %d" % (length + 250) in r.stdout


def test_mpremote_mount_then_the_friendly_repl_imports(vdev, tmp_path):
    # `mpremote mount DIR` ends in the friendly REPL; an import typed there runs the binary protocol in it.
    src = tmp_path / "src"
    src.mkdir()
    (src / "abcdefghi.py").write_text("print('mounted', 6 * 7)\n")   # "/abcdefghi.py" is 13 bytes, its path 0x0A…
    (src / "abcdefgh.py").write_text("X=1")   # 3 bytes: its stat reply carries a 0x03, which is data, not Ctrl-C
    pid, fd, expect = _mpremote_on_pty(["connect", vdev.port, "mount", str(src)])
    try:
        expect(rb"Connected to MicroPython")
        os.write(fd, b"\r")
        expect(rb">>> $")
        os.write(fd, b"import abcdefgh, abcdefghi\r")
        expect(rb"mounted 42\r\n>>> $")
        os.write(fd, b"print(abcdefgh.X + 1)\r")
        expect(rb"2\r\n>>> $")
        os.write(fd, b"\x1d")
        os.waitpid(pid, 0)
    finally:
        os.close(fd)


def _mpremote_on_pty(args):
    """Start mpremote ARGS on a pty as a person at a terminal would; -> (pid, fd, expect(pattern, timeout=20)),
    where expect reads until the pattern shows in everything read so far, or fails with its tail."""
    import pty
    import select
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execv(str(pathlib.Path(sys.executable).parent / "mpremote"), ["mpremote"] + list(args))
        finally:
            os._exit(127)
    seen = b""

    def expect(pattern, timeout=20):
        nonlocal seen
        deadline = time.monotonic() + timeout
        while not re.search(pattern, seen):
            assert time.monotonic() < deadline, seen[-300:]
            if select.select([fd], [], [], 0.1)[0]:
                seen += os.read(fd, 4096)
    return pid, fd, expect
