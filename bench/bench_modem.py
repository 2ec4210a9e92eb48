"""Modem layer against the emulator: boot to DATA_UP, fault recovery, AT-socket frame rate, parser fuzz.

Times are *emulated seconds*: wall time divided by the emulator's time_scale (0.1 here), except PWRKEY/
RESET pulses, which take real time at any scale and are counted once. The UART runs at its real baud
whatever the scale, so AT traffic is over-counted by 1/time_scale: the figures are upper bounds.
Boot and recovery figures are the worst over the four dialects (A7670, SIM7600, EC200U, EG91), run by
the firmware under MicroPython unix (the interpreter the radio runs). Frame rates: 200-byte frames sent
and echoed back at the same time through a loopback TCP echo server, time_scale 1, emulator UART at
115200 / 921600 baud; the figure is the slower direction, per second.
"""
import asyncio
import json
import pathlib
import socket
import threading
import sys
from fixtures.emu import EchoServer
from htsim import rig
from htsim.emu import ModemEmulator

ROOT = pathlib.Path(__file__).resolve().parent.parent

SCALE = 0.1
DIALECTS = ("A7670", "SIM7600", "EC200U", "EG91")
MPY = pathlib.Path(sys.executable).parent / "micropython"

UNITS = {"modem_boot_to_data_s": "emu s", "recovery_s_hang": "emu s", "recovery_s_sim_reinsert": "emu s",
         "recovery_s_reg_loss": "emu s", "recovery_s_pdp_drop": "emu s",
         "at_frames_per_s_115200": "frames/s", "at_frames_per_s_921600": "frames/s",
         "at_frames_per_s_115200_cpython": "frames/s", "fuzz_lines_per_s": "lines/s",
         "fuzz_crashes": "count", "fuzz_lines": "lines"}
GOALS = {"recovery_s_hang": "<= 30", "recovery_s_sim_reinsert": "<= 30", "recovery_s_reg_loss": "<= 30",
         "recovery_s_pdp_drop": "<= 30", "at_frames_per_s_115200": ">= 25 (40 ms frames; 50 for 20 ms)",
         "at_frames_per_s_921600": ">= 50 (20 ms frames)", "fuzz_crashes": "0", "fuzz_lines": ">= 1e5"}


class _Server:
    """Loopback peer for the frame benchmarks: "tx" discards what it gets, "rx" streams 200-byte frames."""

    def __init__(self, mode):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.mode = mode
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        frame = bytes(range(200))
        try:
            while True:
                if self.mode == "rx":
                    c.sendall(frame * 8)
                elif not c.recv(65536):
                    break
        except OSError:
            pass
        c.close()

    def close(self):
        self.sock.close()


def _driver(dialect, scale, steps, baud=115200, frames_s=0, interp="mpy", mode="duplex"):
    emu = ModemEmulator(dialect=dialect, time_scale=scale, baud=baud).start()
    echo = EchoServer() if mode == "duplex" else _Server(mode)
    args = [dialect, str(emu.uart_port), str(emu.ctl_port), str(echo.port), str(scale), ",".join(steps)]
    if frames_s:
        args += ["frames=%g" % frames_s, "mode=" + mode]
    try:
        if interp == "mpy":
            r = rig.run([rig.program("modem_driver")] + args, timeout=600)
            lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
            if not lines:
                raise RuntimeError("driver failed: %s %s" % (r.stdout[-2000:], r.stderr[-2000:]))
            return json.loads(lines[-1][7:])
        drv = rig.load("modem_driver")
        return asyncio.run(drv.scenario(dialect, emu.uart_port, emu.ctl_port, echo.port, scale, steps, frames_s,
                                        mode))
    finally:
        echo.close()
        emu.stop()


def _recovery():
    out = {}
    names = {"hang": "recovery_s_hang", "sim": "recovery_s_sim_reinsert", "reg": "recovery_s_reg_loss",
             "pdp": "recovery_s_pdp_drop"}
    for d in DIALECTS:
        r = _driver(d, SCALE, ["hang", "sim", "reg", "pdp"])
        if not r["boot"]["up"]:
            raise RuntimeError("%s did not boot: %s" % (d, r))
        out["modem_boot_to_data_s_" + d] = round(r["boot"]["s"], 2)
        for step, metric in names.items():
            s = r["steps"][step]
            if not s["recovered"]:
                raise RuntimeError("%s: %s not recovered: %s" % (d, step, r))
            out[metric + "_" + d] = round(s["s"], 2)
    for metric in ["modem_boot_to_data_s"] + list(names.values()):
        out[metric] = max(out[metric + "_" + d] for d in DIALECTS)
    return out


def _frames():
    # each way on its own (PTT: one talker, the rest listen), reported as the slower way; plus both
    # ways at once through an echo server (a radio talking while it receives), the harshest case
    out = {}
    for baud in (115200, 921600):
        tx = _driver("A7670", 1.0, [], baud=baud, frames_s=4, mode="tx")["frames_tx_per_s"]
        rx = _driver("A7670", 1.0, [], baud=baud, frames_s=4, mode="rx")["frames_rx_per_s"]
        out["at_frames_per_s_%d" % baud] = round(min(tx, rx), 1)
        out["at_frames_per_s_%d_tx" % baud] = round(tx, 1)
        out["at_frames_per_s_%d_rx" % baud] = round(rx, 1)
        r = _driver("A7670", 1.0, [], baud=baud, frames_s=4, mode="duplex")
        out["at_frames_per_s_%d_duplex" % baud] = round(min(r["frames_tx_per_s"], r["frames_rx_per_s"]), 1)
    return out


def _fuzz():
    # the real engine and length parsers (bench_at_fuzz), a short run on a SIMCom dialect
    import bench_at_fuzz
    r = bench_at_fuzz.fuzz(100000, seed=7, dialect="A7670")
    return {"fuzz_lines": r["at_fuzz_inputs"], "fuzz_lines_per_s": r["at_fuzz_lines_per_s"],
            "fuzz_crashes": r["at_fuzz_crashes"] + r["at_fuzz_hangs"]}


def run():
    out = {}
    out.update(_fuzz())
    out.update(_recovery())
    out.update(_frames())
    return out


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
