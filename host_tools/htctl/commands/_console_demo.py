"""`htctl console demo`: the console with a simulated fleet, for people to look at (part of `make demo`).

Real parts: Mosquitto with the fleet's accounts and ACL, the floor arbiters (primary + standby), the console
server, and six radios running the firmware under MicroPython (htsim/rig/console_radios.py); two more units
of the registry stay away (one never connected, one with an expired SIM and no bench test). With
``--screenshots`` it plays a short script and saves what an operator sees to the output folder: the board
(desk and phone), a roll call with one radio silent, an emergency alarm, and the journal after it was
acknowledged. With ``--keep-running`` it then keeps everything up until Ctrl-C and prints where to log in.
"""
from __future__ import annotations

import asyncio
import datetime
import json
import pathlib
import secrets
import subprocess
import threading
import time

FLEET = "kota"
# unit, official, position, OPD, talkgroups, SIM price Rp, quota MB, SIM days left, bench-tested, runs
UNITS = [
    ("dk01", "Budi Santoso", "Kepala Dinas", "Diskominfo", ["1"], 55000, 3000, 200, True, True),
    ("dk02", "Rina Kusuma", "Sekretaris Dinas", "Diskominfo", ["1"], 55000, 3000, 160, True, True),
    ("bp01", "Siti Aminah", "Kepala Pelaksana", "BPBD", ["1", "2"], 75000, 5000, 90, True, True),
    ("bp02", "Joko Prasetyo", "Kasi Kedaruratan", "BPBD", ["2"], 75000, 5000, 20, True, True),
    ("kes1", "dr. Agus Wijaya", "Kepala Dinas", "Dinas Kesehatan", ["2"], 55000, 3000, 120, True, True),
    ("pol1", "Dewi Lestari", "Kasatpol PP", "Satpol PP", ["1", "2"], 55000, 3000, 240, True, True),
    ("pol2", "Hendra Gunawan", "Kabid Trantib", "Satpol PP", ["1"], 55000, 3000, 200, True, False),
    ("kes2", "Maya Sari", "Kabid Yankes", "Dinas Kesehatan", ["2"], 75000, 5000, -4, False, False),
]



def fleet_key_hex(reg) -> str:
    """The fleet's voice key from the registry (made on first use): radios, arbiters and console share it."""
    from htctl import registry as _registry
    conn = _registry.connect(str(reg))
    try:
        key_hex = _registry.fleet_config(conn)["audio.key"]
        conn.commit()
    finally:
        conn.close()
    return key_hex

def _iccid(i):
    body = "8962100000000001%03d" % i
    s = 0
    for k, ch in enumerate(reversed(body)):
        d = int(ch)
        if k % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        s += d
    return body + str((10 - s % 10) % 10)


def seed(path):
    from htctl import registry
    conn = registry.connect(path)
    today = datetime.date.today()
    for i, (u, name, pos, opd, tgs, price, quota, days, bench, _) in enumerate(UNITS):
        serial = "HT-%04d" % (i + 1)
        iccid = _iccid(i)
        registry.upsert_device(conn, serial, "LILYGO_T_A7670", "24:0a:c4:10:00:%02x" % i)
        registry.upsert_sim(conn, iccid, msisdn="+628110200%04d" % i, operator="Telkomsel", plan="Orbit 30 GB",
                            quota_mb=quota, expiry=(today + datetime.timedelta(days=days)).isoformat(), price_rp=price,
                            opd=opd)
        oid = registry.upsert_official(conn, name, opd, pos)
        registry.assign(conn, u, serial=serial, iccid=iccid, official_id=oid, talkgroups=tgs)
        if bench:
            registry.record_bench(conn, serial, "Teknisi Diskominfo", {"checks": []}, True, unit_id=u)
    conn.commit()
    conn.close()


class Server:
    def __init__(self, app, host, port):
        import uvicorn
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                    ws_max_size=1 << 20))
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)
        self.thread.start()
        t0 = time.time()
        while not self.server.started:
            if not self.thread.is_alive() or time.time() - t0 > 60:
                raise RuntimeError("the console did not start (is port %d free?)" % port)
            time.sleep(0.05)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(20)


def _wait(cond, timeout, what):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise RuntimeError("timed out waiting for %s" % what)


def run(out_dir, http_port=8080, screenshots=True, keep_running=False, log=print, password=None):
    from htcc.arbiter.service import run_pair
    from htcc.console.app import create_app
    from htcc.console.settings import Settings
    from htctl.firmware import BOARDS_DIR
    from htctl.mosquitto import Mosquitto, fleet_rights
    from htsim import rig

    out = pathlib.Path(out_dir).resolve()
    work = out / "console-fleet"
    if work.exists():
        import shutil
        shutil.rmtree(work)
    work.mkdir(parents=True)
    reg = work / "registry.sqlite"
    seed(reg)
    tgs = {u[0]: u[4] for u in UNITS}
    pw = {u: "pw-" + u for u in tgs}
    pw.update({"cc": secrets.token_hex(8), "arb-a": secrets.token_hex(8), "arb-b": secrets.token_hex(8)})
    m = Mosquitto(users=pw, acl=fleet_rights(FLEET, tgs, command_center=("cc",)), workdir=work / "mosquitto")
    m.dir.mkdir()
    m.start()
    log("broker: Mosquitto on %s:%d (fleet accounts and ACL)" % (m.host, m.port))
    settings = Settings(registry=str(reg), broker_port=m.port, broker_password=pw["cc"], ack_timeout_s=120,
                        data_dir=str(work / "console-data"))
    app = create_app(settings)
    operator_pw = password or "demo-" + secrets.token_hex(3)
    app.state.console.store.set_user("demo", operator_pw, "supervisor", "Operator Demo")
    all_tgs = tuple(sorted({t for v in tgs.values() for t in v}))

    async def arbiters(app):
        app.state.demo_arbiters = await run_pair(FLEET, m.host, m.port, all_tgs,
                                                 accounts=(("arb-a", pw["arb-a"]), ("arb-b", pw["arb-b"])),
                                                 key=bytes.fromhex(fleet_key_hex(reg)))   # records carry its tag

    async def stop_arbiters(app):
        for s in getattr(app.state, "demo_arbiters", ()):
            await s.stop()
    app.state.startup.append(arbiters)
    app.state.shutdown.append(stop_arbiters)
    srv = Server(app, "127.0.0.1", http_port)
    url = "http://127.0.0.1:%d" % http_port
    log("console: %s (floor arbiters arb-a + arb-b beside it)" % url)

    running = [u for u in UNITS if u[9]]
    rdir = work / "radios"
    rdir.mkdir()
    (rdir / "cmd.jsonl").write_text("")
    key_hex = fleet_key_hex(reg)     # the radios sign voice and control messages with the fleet's key, as provisioned
    args = {"fleet": FLEET, "key_hex": key_hex, "board": str(BOARDS_DIR / "LILYGO_T_A7670" / "board.json"),
            "out": str(rdir), "frame_ms": 40, "keepalive": 20, "telemetry_s": 30, "clips": {}, "script": [], "end": 0,
            "all_units": [u[0] for u in running],
            "radios": [{"unit": u[0], "prio": "normal", "tgs": u[4], "host": "127.0.0.1", "port": m.port,
                        "password": pw[u[0]]} for u in running]}
    (rdir / "args.json").write_text(json.dumps(args))
    proc = subprocess.Popen(rig.command([rig.program("console_radios"), rdir / "args.json"], heap="48M"),
                            stdout=open(rdir / "radios.log", "w"), stderr=subprocess.STDOUT, env=rig.env(),
                            cwd=str(rdir))
    log("radios: %d running the firmware under MicroPython (%s); %d stay away" % (
        len(running), ", ".join(u[0] for u in running), len(UNITS) - len(running)))

    def send(unit, action, **p):
        with open(rdir / "cmd.jsonl", "a") as f:
            f.write(json.dumps([unit, action, p]) + "\n")

    def radio_log():
        return (rdir / "radios.log").read_text(errors="replace")
    try:
        _wait(lambda: "READY" in radio_log() or proc.poll() is not None, 240, "the radios to come online")
        if proc.poll() is not None:
            raise RuntimeError("the radios stopped: %s" % radio_log()[-2000:])
        board = app.state.console.board
        _wait(lambda: sum(1 for u in running if board.is_online(u[0])) == len(running), 120, "presence on the board")
        log("board: %d of %d radios online" % (len(running), len(UNITS)))
        if screenshots:
            _script(url, out, operator_pw, send, app, log)
        if keep_running:
            log("")
            log("Keeps running. Open %s in a browser and log in as  demo  with password  %s" % (url, operator_pw))
            log("Radios can be steered: append a line to %s, e.g." % (rdir / "cmd.jsonl"))
            log('  ["bp01", "emergency", {}]   ["bp01", "emergency_release", {}]   ["dk01", "press", {}]')
            log("Ctrl-C stops everything.")
            while proc.poll() is None:
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        send("-", "quit")
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        srv.stop()
        m.cleanup()
    return 0


def _script(url, out, operator_pw, send, app, log):
    from playwright.sync_api import sync_playwright

    exe = chromium_path()
    if not exe:
        raise RuntimeError("chromium is not installed: run `make sysdeps` (Debian package chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        ctx = b.new_context(viewport={"width": 1440, "height": 900})
        ctx.set_default_timeout(90000)
        page = ctx.new_page()
        page.goto(url + "/login")
        page.fill("input[name=name]", "demo")
        page.fill("input[name=password]", operator_pw)
        page.click("button[type=submit]")
        page.wait_for_selector("#u-dk01[data-online='1']")
        time.sleep(1)
        page.screenshot(path=str(out / "console_board.png"), full_page=True)
        phone = b.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                              storage_state=ctx.storage_state()).new_page()
        phone.goto(url + "/")
        phone.wait_for_selector("#u-dk01")
        time.sleep(1)
        phone.screenshot(path=str(out / "console_board_phone.png"))
        log("screenshot: board (desk and phone)")

        page.goto(url + "/rollcall")
        page.fill("#rc_deadline", "20")
        page.click("#rc_start")
        page.wait_for_selector("#rc_live:not([hidden])")
        time.sleep(2)
        for u in ("dk01", "bp01", "kes1", "pol1", "dk02"):
            send(u, "press")
            time.sleep(0.7)
            send(u, "release")
        page.wait_for_selector("#rc_live[data-finished='1']", timeout=120000)
        time.sleep(0.5)
        page.screenshot(path=str(out / "console_rollcall.png"), full_page=True)
        log("screenshot: roll call (bp02 silent, pol2 and kes2 offline)")

        page.goto(url + "/")
        page.wait_for_selector("#u-dk01")
        send("bp01", "emergency")
        page.wait_for_selector("#alarm:not([hidden]) .alarmitem[data-unit='bp01']")
        time.sleep(1)
        page.screenshot(path=str(out / "console_emergency.png"))
        log("screenshot: emergency alarm from bp01")
        page.click(".alarmitem[data-unit='bp01'] .ackbtn")
        page.wait_for_selector("#alarm[hidden]", state="attached")
        send("bp01", "emergency_release")
        page.goto(url + "/emergencies")
        page.wait_for_selector("#journal tr[data-unit='bp01']")
        time.sleep(0.5)
        page.screenshot(path=str(out / "console_journal.png"), full_page=True)
        log("screenshot: emergency journal (acknowledged)")
        b.close()
    log("wrote %s/console_board.png, console_board_phone.png, console_rollcall.png, console_emergency.png, "
        "console_journal.png" % out)


def chromium_path():
    import shutil
    return shutil.which("chromium") or shutil.which("chromium-browser")

