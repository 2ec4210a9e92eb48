"""The Command Center desk's voice (issue 10, items 2 and 5; docs/DESK.md).

recorder_bytes_per_talk_minute: what the recorder keeps per minute of talk, files plus its sqlite index,
measured on the recorder itself fed with the firmware's signed frames of real speech in bursts of 2-8 s (WAV
PCM16 at 8 kHz is 960 000 bytes of samples per minute; the header per burst and the row per burst come on top).

console_m2e_ms_p95 / radio_to_console_m2e_ms_p95: see htcc.desk.m2e (a real Chromium with a fake microphone
playing real speech, the console server with the desk engine, real Mosquitto with the floor arbiters, and a
firmware radio under MicroPython behind the simulated LTE link proxy, htsim.fleet.proxy + htsim.linksim).
"""
import pathlib
import random
import tempfile
from array import array

UNITS = {"recorder_bytes_per_talk_minute": "bytes", "recorder_wav_bytes_per_talk_minute": "bytes",
         "recorder_db_bytes_per_burst": "bytes", "console_m2e_ms_p50": "ms", "console_m2e_ms_p95": "ms",
         "radio_to_console_m2e_ms_p50": "ms", "radio_to_console_m2e_ms_p95": "ms", "console_m2e_bursts": "bursts",
         "radio_to_console_m2e_bursts": "bursts", "console_capture_ms_p50": "ms", "console_capture_ms_p95": "ms",
         "console_m2e_with_capture_ms_p50": "ms", "console_m2e_with_capture_ms_p95": "ms",
         "lte_burst_start_ms_p50": "ms", "lte_burst_start_ms_p95": "ms", "lte_burst_start_ms_p50_learn_stalls": "ms",
         "lte_burst_start_ms_p95_learn_stalls": "ms", "lte_burst_pesq": "MOS-LQO",
         "lte_burst_pesq_learn_stalls": "MOS-LQO", "lte_burst_late_pct": "%", "lte_burst_late_pct_learn_stalls": "%"}
GOALS = {"console_m2e_ms_p95": "<= 250 (from the page's mic worklet; capture before it not counted)",
         "console_m2e_with_capture_ms_p95": "<= 250 (+ Chromium's own capture latency, its fake device)",
         "radio_to_console_m2e_ms_p95": "<= 250 (to the page's player + reported output latency)",
         "lte_burst_start_ms_p95": "compare _learn_stalls (the policy before)"}


def recorder_bytes(n_bursts=60, seed=7):
    from ht.radio import topics as T
    from ht.radio.guard import tg_num, unit_num
    from ht.voice import codecs
    from ht.voice.transceiver import Transmitter
    from htcc.desk.recorder import Recorder
    from htsim import speech

    rng = random.Random(seed)
    pcm = speech.load()
    key = b"bench-key"
    clock = [0.0]
    with tempfile.TemporaryDirectory() as d:
        rec = Recorder(pathlib.Path(d) / "rec", "kota", key, clock=lambda: clock[0])
        rec.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db0 = _db_size(rec)
        txs = {}
        for k in range(n_bursts):
            unit = "u%d" % (k % 12)
            tg = str(1 + k % 4)
            tx = txs.get((unit, tg))
            if tx is None:
                tx = txs[(unit, tg)] = Transmitter(tg_num(tg), unit_num(unit), codecs.PT_ADPCM, 20, key)
            n = rng.randint(100, 400)          # 2-8 s
            o = rng.randint(0, len(pcm) - n * 160 - 1)
            tx.begin()
            topic = T.voice("kota", tg, unit)
            for i in range(n):
                clock[0] += 0.02
                frame = array("h", pcm[o + i * 160:o + (i + 1) * 160].astype("<i2").tobytes())
                rec.on_message(topic, bytes(tx.encode(frame, i == n - 1)))
        rec.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        use = rec.disk_use()
        db = _db_size(rec) - db0
        minutes = use["duration_ms"] / 60000
        rec.close()
    return {"recorder_bytes_per_talk_minute": round((use["bytes"] + db) / minutes),
            "recorder_wav_bytes_per_talk_minute": round(use["bytes"] / minutes),
            "recorder_db_bytes_per_burst": round(db / n_bursts)}


def _db_size(rec):
    p = rec.db_path
    return sum(f.stat().st_size for f in p.parent.glob(p.name + "*") if f.exists())


# ---- the recording load bench_console adds to console_radios_supported ------------------------------------
class Talkers:
    """Four radios talking at once, one per talkgroup (1..4), without pause: 5 s bursts of real speech back to
    back, 50 signed frames a second each, published straight to the broker (paho, QoS 0, as radios do), so the
    console's recorder files a burst per talkgroup every 5 s. The speech is encoded once (the firmware's
    Transmitter); each frame then gets its burst id and sequence number and is signed again with the fleet key,
    so every frame is new to the recorder's replay guard. ``recorded(db)`` counts the rows it wrote."""

    def __init__(self, port, key, fleet="kota", units=("r00000", "r00001", "r00002", "r00003"), burst_s=5,
                 user="sim", password="pw-sim"):
        import threading
        import paho.mqtt.client as mqtt
        from ht.radio import topics as T
        from ht.radio.guard import tg_num, unit_num
        from ht.voice import codecs, frame as F
        from ht.voice.transceiver import Transmitter
        from htsim import speech

        self.key = F.as_key(key)
        self.n = burst_s * 50
        pcm = speech.load()
        self.talkers = []
        for k, u in enumerate(units):
            tg = str(k + 1)
            tx = Transmitter(tg_num(tg), unit_num(u), codecs.PT_ADPCM, 20, key)
            tx.begin()
            frames = []
            for i in range(self.n):
                o = (k * 20000 + i * 160) % (len(pcm) - 160)
                frames.append(bytearray(tx.encode(array("h", pcm[o:o + 160].astype("<i2").tobytes()),
                                                  i == self.n - 1)))
            self.talkers.append({"topic": T.voice(fleet, tg, u).decode(), "frames": frames, "seq": 0, "burst": 0})
        self.body = tx.body
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-talkers")
        self.c.username_pw_set(user, password)
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        self.sent = 0
        self.stop_ = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        import time
        t0 = time.monotonic()
        i = 0
        while not self.stop_:
            d = t0 + i * 0.02 - time.monotonic()
            if d > 0:
                time.sleep(d)
            j = i % self.n
            for tk in self.talkers:
                if j == 0:
                    tk["burst"] = (tk["burst"] + 1) & 0xFF
                b = tk["frames"][j]
                b[7] = tk["burst"]
                b[8] = (tk["seq"] >> 8) & 0xFF
                b[9] = tk["seq"] & 0xFF
                tk["seq"] = (tk["seq"] + 1) & 0xFFFF
                if self.key is not None:
                    self.key.sign(b, self.body)
                self.c.publish(tk["topic"], bytes(b), 0)
                self.sent += 1
            i += 1

    def close(self):
        self.stop_ = True
        self.t.join(5)
        self.c.loop_stop()
        self.c.disconnect()

    @staticmethod
    def recorded(db):
        import sqlite3
        if not pathlib.Path(db).exists():
            return 0
        c = sqlite3.connect(str(db))
        try:
            return c.execute("SELECT count(*) FROM recordings").fetchone()[0]
        finally:
            c.close()


# ---- mouth-to-ear through the browser ---------------------------------------------------------------------
N_BURSTS = 16


class _Arbiters:
    """The talkgroup's floor arbiters (primary + standby) in a thread of their own, as beside a real broker."""

    def __init__(self, host, port, fleet, tgs, key=None):
        import asyncio
        import threading
        from htcc.arbiter.service import run_pair
        self.loop = asyncio.new_event_loop()
        box = {}
        ready = threading.Event()

        async def main():
            box["svcs"] = await run_pair(fleet, host, port, tuple(tgs),
                                         accounts=(("arb-a", "pw-arb-a"), ("arb-b", "pw-arb-b")), key=key)
            ready.set()
            await asyncio.gather(*[s.task for s in box["svcs"]], return_exceptions=True)
        self.t = threading.Thread(target=self.loop.run_until_complete, args=(main(),), daemon=True)
        self.t.start()
        ready.wait(20)
        self.box = box

    def stop(self):
        import asyncio
        for s in self.box.get("svcs", ()):
            asyncio.run_coroutine_threadsafe(s.stop(), self.loop).result(10)
        self.t.join(10)


def _pct(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))], 1)




class _Probe:
    """Where the time of each burst goes: wall-clock stamps (ms, one clock for the page, the console server, the
    link proxy and the radio's transcript) at every stage both ways, taken by hooks on the desk engine (its
    methods wrapped in this process), on the link proxy (on_packet) and on the page (DeskAudio.onBinary
    wrapped). Only the bench does this; nothing here changes what is timed."""

    STAGES_C2R = ("worklet chunk", "page->server", "encode+queue", "broker", "LTE link down",
                  "radio jitter buffer+clock", "radio frame out")
    STAGES_R2C = ("radio frame in", "radio queue", "LTE link up", "broker->desk", "desk jitter buffer",
                  "server->page", "page start buffer", "output latency")

    def __init__(self):
        import time
        self.time = time
        self.off = time.time() * 1000 - time.monotonic() * 1000
        self.link = []                      # (up, read wall ms, due wall ms) of voice frames with F_START
        self.desk = {"mic": [], "pub": [], "rx": [], "listen": []}
        self.desk_depth = []                # the desk receiver's playout delay at each burst's start

    def wall(self):
        return self.time.time() * 1000

    def on_packet(self, up, voice, read_ms, due_ms, pkt):
        from htsim.fleet.proxy import publish_parts
        if voice and publish_parts(pkt)[1][0] & 1:      # F_START: the burst's first frame
            self.link.append((up, read_ms + self.off, due_ms + self.off))

    def hook_engine(self, eng):
        probe = self
        mic0, pub0, voice0, ev0 = eng.mic, eng.publish, eng._on_voice, eng.on_event

        def mic(owner, pcm):
            first = eng.t_first_mic is None
            mic0(owner, pcm)
            if first and eng.t_first_mic is not None:
                probe.desk["mic"].append(probe.wall())

        async def publish(topic, payload, qos, retain):
            if b"/v/" in topic and payload[0] & 1:
                probe.desk["pub"].append(probe.wall())
            return await pub0(topic, payload, qos, retain)

        def on_voice(tg, unit, payload):
            if payload[0] & 1:
                probe.desk["rx"].append(probe.wall())
            return voice0(tg, unit, payload)

        def on_event(kind, fields):
            if kind == "listen.start":
                probe.desk["listen"].append(probe.wall())
                for li in eng.listeners.values():      # the playout delay its receiver chose for this burst
                    if li.unit == fields.get("unit") and li.tg == fields.get("tg"):
                        probe.desk_depth.append(li.rx.jb.delay)
            return ev0(kind, fields)
        eng.mic, eng.publish, eng._on_voice, eng.on_event = mic, publish, on_voice, on_event

    @staticmethod
    def first(xs, lo, hi):
        for x in xs:
            if lo <= x < hi:
                return x
        return None

    def c2r(self, t0, posted, rx_start, hi):
        """Desk -> radio stages (ms) of one press: t0 the first sample in the worklet, posted its frame's post."""
        mic = self.first(self.desk["mic"], posted - 5, hi)
        pub = self.first(self.desk["pub"], posted - 5, hi)
        down = [x for x in self.link if not x[0] and pub is not None and pub - 5 <= x[1] < hi]
        if None in (mic, pub) or not down:
            return None
        _, rd, due = down[0]
        return [posted - t0, mic - posted, pub - mic, rd - pub, due - rd, rx_start - due, 20.0]

    def r2c(self, mic_start, play_raw, lat, bin_start, hi):
        up = [x for x in self.link if x[0] and mic_start <= x[1] < hi]
        rx = self.first(self.desk["rx"], mic_start, hi)
        listen = self.first(self.desk["listen"], mic_start, hi)
        if not up or None in (rx, listen, bin_start):
            return None
        _, rd, due = up[0]
        return [20.0, rd - mic_start, due - rd, rx - due, listen - rx, bin_start - listen, play_raw - bin_start,
                lat]

    @staticmethod
    def table(title, names, rows):
        import statistics
        bad = sum(1 for r in rows if r is not None and not all(0 <= x < 3000 for x in r))
        rows = [r for r in rows if r is not None and all(0 <= x < 3000 for x in r)]
        if bad:
            print("   (%d bursts left out: a stage not matched to its own burst)" % bad)
        if not rows:
            return {}
        print(title)
        print("   %-28s %8s %8s %8s" % ("stage", "p50", "max", "mean"))
        out = {}
        for i, n in enumerate(names):
            col = [r[i] for r in rows]
            out[n] = statistics.median(col)
            print("   %-28s %8.1f %8.1f %8.1f" % (n, statistics.median(col), max(col), statistics.mean(col)))
        tot = [sum(r) for r in rows]
        print("   %-28s %8.1f %8.1f %8.1f" % ("total", statistics.median(tot), max(tot), statistics.mean(tot)))
        print("   per burst:", [[round(x) for x in r] for r in rows])
        return out


# The page side of the probe: when each stream's first audio message reached the page (after 200 ms without one).
_PAGE_PROBE = """(() => {
  const D = DeskAudio, o = D.onBinary;
  let last = 0;
  D.stats.binStarts = [];
  D.onBinary = function (b) {
    const t = performance.timeOrigin + performance.now();
    if (t - last > 200) D.stats.binStarts.push(t);
    last = t;
    return o(b);
  };
})()"""
# Chromium's own account of the capture (MediaStreamTrack stats: from the device's capture timestamp to the
# track's sinks, here the microphone context), averaged over one press; null where the browser lacks it.
_CAPTURE_RESET = """(() => { const t = DeskAudio.stream && DeskAudio.stream.getAudioTracks()[0];
  if (t && t.stats && t.stats.resetLatency) { t.stats.resetLatency(); return true; } return false; })()"""
_CAPTURE_READ = """(() => { const t = DeskAudio.stream && DeskAudio.stream.getAudioTracks()[0];
  return t && t.stats && typeof t.stats.averageLatency === "number" ? t.stats.averageLatency * 1000 : null; })()"""


def m2e(n=N_BURSTS):
    """A real Chromium (fake microphone playing real speech), the console with the desk, Mosquitto with the
    arbiters beside it (the Command Center's LAN), and a MicroPython radio behind the LTE link model
    (htsim.fleet.proxy, preset "lte": 25 ms base each way, jitter, stalls). The radio talks n bursts first
    (radio -> desk), then the operator holds Space n times (desk -> radio).

    desk -> radio: from the first sample of the burst entering the page's microphone worklet (the first 20 ms
    frame posted after the permit, minus its 20 ms) to the radio's speaker starting it (rx_start, plus one frame
    as in bench_fleet): console_m2e_ms_*. What the browser's capture adds before its worklet is not visible to
    the page; Chromium's own account of it (MediaStreamTrack stats: the device's capture timestamp to the
    track's sinks, averaged over each press; the first press, which opens the microphone, left out) is
    console_capture_ms_*, and console_m2e_with_capture_ms_* adds it press by press. That account is of
    Chromium's fake capture device on this host (100-250 ms whatever the constraints, also with nothing but a
    context attached), not of a real microphone; the hop from the track into the microphone context (Web
    Audio's input FIFO) is in neither figure. radio -> desk: from the radio's mic_start (bench_fleet's
    definition) to the desk's player starting the stream (its 40 ms start buffer included), plus the context's
    reported base and output latency. Both print where the time goes, stage by stage (_Probe)."""
    import asyncio
    import os
    import threading
    import time

    from fixtures.console import ConsoleServer, seed_registry, login
    from fixtures.browser import chromium_exe
    from htcc.console.settings import Settings
    from htctl import registry
    from htctl.mosquitto import Mosquitto, fleet_rights
    from htsim import speech
    from htsim.fleet import scenario as S
    from htsim.fleet.network import link_models, link_seed
    from htsim.fleet.proxy import LinkProxy
    from htsim.radioproc import RadioProcess
    from ht.radio.guard import unit_num
    from playwright.sync_api import sync_playwright

    fleet = "kota"
    try:
        os.setpriority(os.PRIO_PROCESS, 0, -10)     # as in tests/desk: these stand in for separate machines
    except OSError:
        pass
    with tempfile.TemporaryDirectory() as d:
        d = pathlib.Path(d)
        users = {"u01": "pw-u01", "cc": "pw-cc", "arb-a": "pw-arb-a", "arb-b": "pw-arb-b"}
        m = Mosquitto(users=users, acl=fleet_rights(fleet, {"u01": ["1"]}, command_center=("cc",)),
                      workdir=d / "mosq")
        m.dir.mkdir()
        m.start()
        units = [("u01", "Budi Santoso", "Kepala Dinas", "BPBD", ["1"], 55000, 3000, 200)]
        reg = seed_registry(d / "reg.sqlite", units)
        conn = registry.connect(reg)
        key = bytes.fromhex(registry.fleet_config(conn)["audio.key"])
        conn.commit()
        conn.close()
        arb = _Arbiters(m.host, m.port, fleet, ("1", "all"), key)     # its records carry the fleet key's tag
        srv = ConsoleServer(Settings(registry=str(reg), broker_port=m.port, broker_user="cc", broker_password="pw-cc",
                                     data_dir=str(d / "data")))
        probe = _Probe()
        srv.call(lambda: probe.hook_engine(srv.app.state.desk.engine))
        ref = speech.load()[: 8000 * 6]
        wav = d / "mic.wav"
        speech.write_wav(wav, speech.resample(ref, 8000, 48000), 48000)
        clip = d / "clip.raw"
        clip.write_bytes(ref[: 8000 * 2].astype("<i2").tobytes())

        spec = S.parse_link("lte")
        up, down, loss = link_models(spec, link_seed(spec, 0))
        box = {"go": None}
        script = []
        for k in range(n):
            script.append([1500 + k * 3500, "u01", "talk", {"clip": "speech"}])
            script.append([3000 + k * 3500, "u01", "release", {}])
        radio_end = 3000 + (n - 1) * 3500 + 1500

        async def radio():
            proxy = LinkProxy(m.port, up, down, loss, target_host=m.host, on_packet=probe.on_packet)
            await proxy.start()
            rp = box["rp"] = RadioProcess(d / "radio", fleet, key, [{"unit": "u01", "tgs": ["1"], "host": "127.0.0.1",
                                                                      "port": proxy.port, "password": "pw-u01"}],
                                          clips={"speech": str(clip)}, script=script)
            await rp.start()
            await rp.ready(120)
            box["go"] = rp.go()
            await rp.until(lambda: box.get("done"), 600, "the bench")
            box["final"] = await rp.finish()
            await proxy.stop()

        loop = asyncio.new_event_loop()
        t = threading.Thread(target=loop.run_until_complete, args=(radio(),), daemon=True)
        pw = sync_playwright().start()
        out = {}
        try:
            b = pw.chromium.launch(executable_path=chromium_exe(), headless=True,
                                   args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                         "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                                         "--autoplay-policy=no-user-gesture-required",
                                         "--use-file-for-fake-audio-capture=%s" % wav])
            page = b.new_context().new_page()
            page.set_default_timeout(60000)
            login(page, srv.url, "budi", "rahasia-operator-1")
            page.wait_for_selector('#desk-audio .desk-tg[data-tg="1"]')
            if page.is_visible("#desk-sound-banner"):
                page.click("#desk-sound-banner")
            page.wait_for_function("DeskAudio.ctx && DeskAudio.ctx.state === 'running'")
            page.evaluate(_PAGE_PROBE)
            t.start()
            while box["go"] is None:
                time.sleep(0.05)
            # radio -> desk: wait for the radio's bursts
            time.sleep((radio_end + 1000) / 1000 - (time.time() - box["go"] / 1000))
            rp = box["rp"]
            mics = [w for w, _ in rp.all("u01", "mic_start")]
            plays = [p["at"] for p in page.evaluate("DeskAudio.stats.playStarts") if p["tg"] == "1"]
            lat = page.evaluate("((DeskAudio.ctx.baseLatency || 0) + (DeskAudio.ctx.outputLatency || 0)) * 1000")
            bins = page.evaluate("DeskAudio.stats.binStarts")
            r2c = []
            r2c_stages = []
            for i, w in enumerate(mics):
                nxt = mics[i + 1] if i + 1 < len(mics) else w + 10000
                p = [x for x in plays if w <= x < nxt]
                if p:
                    r2c.append(p[0] - w + 20)
                    r2c_stages.append(probe.r2c(w, p[0] - lat, lat, _Probe.first(bins, w, nxt), nxt))
            # desk -> radio: hold Space n times
            c2r = []
            c2r_stages = []
            capture = []
            c2r_cap = []        # the same presses with Chromium's capture latency added
            src = unit_num("cc")
            for k in range(n):
                before = len(page.evaluate("DeskAudio.stats.micStarts"))
                reset = page.evaluate(_CAPTURE_RESET)      # the first press opens the microphone: not counted
                page.keyboard.down("Space")
                page.wait_for_function("DeskAudio.stats.micStarts.length > %d" % before)
                time.sleep(1.5)
                page.keyboard.up("Space")
                cap = page.evaluate(_CAPTURE_READ) if reset else None
                if cap is not None:
                    capture.append(cap)
                start = page.evaluate("DeskAudio.stats.micStarts")[before]
                deadline = time.time() + 20
                got = None
                while time.time() < deadline and got is None:
                    got = rp.when("u01", "rx_start", lambda e: e.get("src") == src, after=int(start) - 20)
                    time.sleep(0.05)
                if got is not None:
                    c2r.append(got - start + 40)
                    if cap is not None:
                        c2r_cap.append(got - start + 40 + cap)
                    c2r_stages.append(probe.c2r(start - 20, start, got, start + 3000))
                page.wait_for_function("DeskAudio.stats.cues.filter(c => c === 'roger').length > %d" % k)
                time.sleep(1.0)
            box["done"] = True
            t.join(60)
            b.close()
            out = {"console_m2e_ms_p50": _pct(c2r, 50), "console_m2e_ms_p95": _pct(c2r, 95),
                   "console_m2e_bursts": len(c2r), "radio_to_console_m2e_ms_p50": _pct(r2c, 50),
                   "radio_to_console_m2e_ms_p95": _pct(r2c, 95), "radio_to_console_m2e_bursts": len(r2c)}
            print("desk -> radio m2e ms:", [round(x) for x in c2r])
            print("radio -> desk m2e ms:", [round(x) for x in r2c])
            _Probe.table("desk -> radio, where the time goes (ms):", _Probe.STAGES_C2R, c2r_stages)
            _Probe.table("radio -> desk, where the time goes (ms):", _Probe.STAGES_R2C, r2c_stages)
            print("the desk receiver's playout delay per burst (ms):", probe.desk_depth)
            fin = (box.get("final") or {}).get("u01") or {}
            print("the radio's frame clock: %s of %s frames ran a period or more late (a loaded host); its "
                  "receiver: %s" % (fin.get("late_frames"), fin.get("frames"),
                                    {k: v for k, v in (fin.get("voice") or fin).items()
                                     if k in ("late", "stalls", "missing", "delay_p95_ms", "playout_delay_ms",
                                              "late_ticks", "played")}))
            print("Chromium's capture latency per press (track stats, mean over the press, ms):",
                  [round(x) for x in capture])
            if capture:
                out["console_capture_ms_p50"] = _pct(capture, 50)
                out["console_capture_ms_p95"] = _pct(capture, 95)
                out["console_m2e_with_capture_ms_p50"] = _pct(c2r_cap, 50)
                out["console_m2e_with_capture_ms_p95"] = _pct(c2r_cap, 95)
        finally:
            box["done"] = True
            pw.stop()
            srv.stop()
            arb.stop()
            m.cleanup()
    return {k: v for k, v in out.items() if v is not None}


def lte_bursts(n=120, seed=0):
    """The m2e bench's pattern (1.5 s talk, 2 s pause) over one leg of its LTE link model (the "lte" preset:
    25 ms base, jitter, two stalls a minute) into the firmware's receiver, in simulated time, n bursts: the
    receiver's share of the m2e figures over far more bursts (and stalls) than the browser bench can take.
    Before (learn_stalls: the policy learned a stall's clump) and now, side by side on the same link draws."""
    from htsim import audiopath, linksim, speech
    from htsim.fleet import scenario as S

    spec = S.parse_link("lte")
    pcm = speech.load()
    clip = 12000                                   # 1.5 s at 8 kHz
    clips = [pcm[(k * 7919 * 8) % (len(pcm) - clip):][:clip] for k in range(n)]
    out = {}
    for tag, opt in (("", None), ("_learn_stalls", {"learn_stalls": True})):
        link = linksim.Link(None, linksim.LTEDelay(seed=seed, base_ms=spec["base_ms"], legs=1, core_ms=2.0,
                                                   stall_per_min=spec["stall_per_min"]))
        r = audiopath.run(link, seed=seed + 1, clips=clips, gap_ms=2000, rx_options=opt, score=False)
        st = r["burst_start_ms"]
        w = 8 * clip                                   # PESQ over 12 s pieces (8 bursts), averaged
        scores = [audiopath.pesq_nb(r["ref"][i:i + w], r["out"][i:i + w]) for i in range(0, len(r["ref"]) - w + 1, w)]
        scores = [x for x in scores if x is not None]
        out["lte_burst_start_ms_p50" + tag] = _pct(st, 50)
        out["lte_burst_start_ms_p95" + tag] = _pct(st, 95)
        out["lte_burst_pesq" + tag] = round(sum(scores) / len(scores), 3) if scores else None
        out["lte_burst_late_pct" + tag] = round(100.0 * r["rx"]["late"] / r["frames"], 3)
        print("   lte leg, %s: burst start p50 %s p95 %s ms, PESQ %s, late %s %%, stalls %d" % (
            tag or "now", out["lte_burst_start_ms_p50" + tag], out["lte_burst_start_ms_p95" + tag],
            out["lte_burst_pesq" + tag], out["lte_burst_late_pct" + tag], r["rx"]["stalls"]), flush=True)
    return out


def run():
    out = recorder_bytes()
    out.update(lte_bursts())
    out.update(m2e())
    return out
