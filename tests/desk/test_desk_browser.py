"""The desk in a real browser (issue 10, browser tests a and b): Debian's Chromium through Playwright with a fake
microphone playing real speech, the console server with the desk engine and recorder on its one MQTT connection,
REAL Mosquitto with the fleet ACL and the floor arbiters, and a firmware radio under MicroPython.

(a) the operator holds Space (keyboard PTT, indicator shown) -> permit -> the browser's microphone reaches the
    radio, which plays the speech: the frames reach the broker in order as one burst, correlation >= 0.9.
(b) the radio talks -> the desk shows the talker (holder and OPD from the registry), plays it (the mixer's output
    correlates with the radio's speech), and the recording's file, hash and length match the frames the broker
    carried; the recordings page finds it, serves it and plays it.
Screenshots go to out/desk/."""
import hashlib
import pathlib
import threading
import time

import numpy as np
import pytest

from fixtures.console import decode_frames, login, seed_registry, wait_until
from hal import netstream
from ht.mqtt.robust import RobustClient
from ht.radio import topics as T
from ht.voice import frame as F
from htcc.console.settings import Settings
from htcc.desk.recorder import wav_header
from htctl import registry
from htctl.mosquitto import fleet_rights
from htsim import audiopath, speech
from htsim.radioproc import RadioProcess

pytestmark = [pytest.mark.browser, pytest.mark.sim, pytest.mark.mpy]
ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "out" / "desk"
FLEET = "kota"
UNITS = [("u01", "Budi Santoso", "Kepala Dinas", "BPBD", ["1"], 55000, 3000, 200)]
OPERATOR = ("budi", "rahasia-operator-1")


class Rig:
    """Broker + arbiters, registry, console (with the desk), a MicroPython radio u01, and an observer that keeps
    every voice frame the broker delivers on talkgroup 1 (the independent record the checks compare with)."""

    def __init__(self, mosquitto, arbiter, console_server, tmp_path, script=(), clip=None):
        users = {"u01": "pw-u01", "cc": "pw-cc", "obs": "pw-obs", "arb-a": "pw-arb-a", "arb-b": "pw-arb-b"}
        self.m = mosquitto(users=users, acl=fleet_rights(FLEET, {"u01": ["1"]}, command_center=("cc", "obs")))
        reg = seed_registry(tmp_path / "reg.sqlite", UNITS)
        conn = registry.connect(reg)
        self.key = bytes.fromhex(registry.fleet_config(conn)["audio.key"])     # what every radio is given
        conn.commit()
        conn.close()
        arbiter(self.m, FLEET, ("1", "all"), key=self.key)     # floor messages and records carry its tag
        self.srv = console_server(Settings(registry=str(reg), broker_port=self.m.port, broker_user="cc",
                                           broker_password="pw-cc", data_dir=str(tmp_path / "data")))
        self.desk = self.srv.app.state.desk
        wait_until(lambda: self.srv.call(lambda: self.srv.app.state.bus.online), 30, what="console online")
        self.got = []
        self._obs_loop = None
        self._start_observer()
        clips = {"speech": str(clip)} if clip else {}
        self.rp = RadioProcess(tmp_path / "radio", FLEET, self.key, [{"unit": "u01", "tgs": ["1"], "host": self.m.host,
                                                                "port": self.m.port, "password": "pw-u01"}],
                               clips=clips, script=script)

    def _start_observer(self):
        import asyncio
        ready = threading.Event()

        async def main():
            c = RobustClient(netstream.opener(self.m.host, self.m.port), "obs", user="obs", password="pw-obs",
                             keepalive=10)
            c.on_message = lambda t, p, r: self.got.append((bytes(t).decode(), bytes(p), time.time()))
            await c.subscribe(T.talkgroup_sub(FLEET, "1", T.VOICE), 0)
            c.start()
            await c.wait_online(10000)
            ready.set()
            self._stop = asyncio.Event()
            await self._stop.wait()
            await c.stop()

        def run():
            self._obs_loop = asyncio.new_event_loop()
            self._obs_loop.run_until_complete(main())
        self._obs_thread = threading.Thread(target=run, daemon=True)
        self._obs_thread.start()
        assert ready.wait(30)

    def radio(self, coro_fn, timeout=180):
        """Run an async fn(rp) against the radio process in a loop of its own (the test thread stays sync)."""
        import asyncio
        return asyncio.run(asyncio.wait_for(coro_fn(self.rp), timeout))

    def packets(self, unit):
        return [p for t, p, _ in self.got if t.endswith("/v/" + unit)]

    def close(self):
        if self._obs_loop is not None:
            self._obs_loop.call_soon_threadsafe(self._stop.set)
            self._obs_thread.join(10)




# Chromium's strictest autoplay rule, as a browser that has not been clicked on this page: sound waits for a click
# (a later switch overrides the fixture's permissive one).
STRICT_AUTOPLAY = "--autoplay-policy=document-user-activation-required"


def open_desk(browser_page, url, args=(), shot_as=None):
    page = browser_page(args=list(args) + [STRICT_AUTOPLAY], viewport={"width": 1280, "height": 900})
    login(page, url, *OPERATOR)        # the login click lets this first page play sound
    page.wait_for_selector('#desk-audio .desk-tg[data-tg="1"]')
    page.reload()                      # after a reload it may not, until the operator clicks
    enable_sound(page, shot_as)
    return page


def enable_sound(page, shot_as=None):
    page.wait_for_selector('#desk-audio .desk-tg[data-tg="1"]')
    page.wait_for_function("DeskAudio.ctx && DeskAudio.ctx.state === 'suspended'")
    assert page.is_visible("#desk-sound-banner")
    if shot_as:
        shot(page, shot_as)
    page.click("#desk-sound-banner")
    page.wait_for_function("DeskAudio.ctx.state === 'running'")
    assert page.is_hidden("#desk-sound-banner")


def shot(page, name):
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / name), full_page=True)


def test_b_radio_talks_desk_shows_plays_and_records(own_machines, mosquitto, arbiter, console_server, browser_page, tmp_path):
    ref = speech.load()[: 8000 * 4]
    clip = tmp_path / "clip.raw"
    clip.write_bytes(ref.astype("<i2").tobytes())
    rig = Rig(mosquitto, arbiter, console_server, tmp_path, clip=clip,
              script=[[1000, "u01", "talk", {"clip": "speech"}], [4000, "u01", "release", {}]])
    try:
        page = open_desk(browser_page, rig.srv.url, shot_as="b_sound_banner.png")
        page.evaluate("DeskAudio.tap()")

        # the radio runs in the background while the browser watches
        import asyncio
        loop = asyncio.new_event_loop()
        t = threading.Thread(target=loop.run_until_complete, args=(_radio_session(rig.rp, loop),), daemon=True)
        t.start()
        page.wait_for_function("""() => {
            const el = document.querySelector('#desk-audio .desk-tg[data-tg="1"] .desk-talker');
            return el && el.textContent.includes('Budi Santoso') && el.textContent.includes('BPBD'); }""",
                               timeout=120000)
        shot(page, "b_desk_shows_talker.png")
        wait_until(lambda: rig.srv.call(lambda: rig.desk.recorder.saved) >= 1, 120, what="the recording")
        page.wait_for_function("DeskAudio.stats.recs.length >= 1")
        t.join(120)
        assert not t.is_alive()
        rows = rig.srv.call(lambda: rig.desk.recorder.search(unit="u01"))
        assert len(rows) == 1, rows
        r = rows[0]
        sent = rig.rp.done["u01"]["voice"]["tx_frames"]
        pk = rig.packets("u01")
        assert len(pk) == sent and r["frames"] == sent and r["lost_frames"] == 0
        assert r["duration_ms"] == sent * 20
        pcm = decode_frames(pk, rig.key)
        body = (tmp_path / "data" / "recordings" / r["path"]).read_bytes()
        assert body == wav_header(len(pcm)) + pcm and r["sha256"] == hashlib.sha256(body).hexdigest()
        assert (r["holder"], r["opd"], r["talkgroup"]) == ("Budi Santoso", "BPBD", "1")
        # the desk played it: what its mixer sent to the speakers is the radio's speech
        tapped = np.array(page.evaluate("DeskAudio.tappedPCM()"), dtype=np.int16)
        corr, blocks = audiopath.blockwise_correlation(ref[:sent * 160], tapped)     # what the radio said
        print("radio -> desk speakers: correlation", round(corr, 3), "blocks", blocks)
        assert corr >= 0.9 and blocks >= 4, (corr, blocks)
        talkers = page.evaluate("DeskAudio.stats.talkers")
        assert talkers[0]["unit"] == "u01" and talkers[0]["holder"] == "Budi Santoso"
        # the recordings page: search, the file served to the logged-in browser is the recorded one, it plays
        page.goto(rig.srv.url + "/recordings")
        page.wait_for_selector("#rec-table tbody tr")
        page.fill("#rec-search input[name=unit]", "u01")
        page.click("#rec-search button[type=submit]")
        page.wait_for_selector('#rec-table tbody tr[data-id="%d"]' % r["id"])
        got = page.evaluate("""async (u) => { const b = await (await fetch(u)).arrayBuffer();
            const h = await crypto.subtle.digest('SHA-256', b);
            return Array.from(new Uint8Array(h)).map(x => x.toString(16).padStart(2, '0')).join(''); }""",
                            "/recordings/%d.wav" % r["id"])
        assert got == r["sha256"]
        page.keyboard.press("r")           # "replay last"
        page.wait_for_function("document.querySelector('#rec-player').currentTime > 0.3", timeout=60000)
        assert "Budi Santoso" in page.inner_text("#rec-now")
        shot(page, "b_recordings_page.png")
    finally:
        rig.close()


async def _radio_session(rp, loop):
    import asyncio
    await rp.start()
    assert await rp.ready(90) == []
    rp.go()
    await rp.until(lambda: rp.when("u01", "tx_stop"), 120, "u01's burst")
    await asyncio.sleep(1.0)      # the last frames on their way
    await rp.finish()


def test_a_desk_ptt_reaches_a_radio(own_machines, mosquitto, arbiter, console_server, browser_page, tmp_path):
    # The fake microphone plays real speech (48 kHz WAV; Chromium loops it); the desk context runs at 8 kHz.
    ref = speech.load()[: 8000 * 6]
    wav = tmp_path / "mic.wav"
    speech.write_wav(wav, speech.resample(ref, 8000, 48000), 48000)
    rig = Rig(mosquitto, arbiter, console_server, tmp_path)
    try:
        page = open_desk(browser_page, rig.srv.url, args=["--use-file-for-fake-audio-capture=%s" % wav])
        import asyncio
        box = {}

        async def radio(rp):
            await rp.start()
            assert await rp.ready(90) == []
            rp.go()
            box["ready"] = True
            await rp.until(lambda: box.get("done"), 240, "the desk's talk")
            await rp.until(lambda: rp.when("u01", "free", after=rp.when("u01", "talker", lambda d: d["unit"] == "cc")),
                           60, "floor free after the desk")
            box["stats"] = await rp.finish()

        loop = asyncio.new_event_loop()
        t = threading.Thread(target=loop.run_until_complete, args=(radio(rig.rp),), daemon=True)
        t.start()
        wait_until(lambda: box.get("ready"), 120, what="the radio online")
        kbd = page.inner_text("#desk-kbd")
        assert "PTT keyboard aktif" in kbd and "Keyboard PTT active" in kbd
        page.keyboard.down("Space")
        page.wait_for_function("DeskAudio.stats.cues.includes('permit')", timeout=60000)
        assert "SPASI DITEKAN" in page.inner_text("#desk-kbd")
        shot(page, "a_desk_on_air.png")
        page.wait_for_function("DeskAudio.stats.micFrames >= 200", timeout=60000)     # 4 s of speech sent
        page.keyboard.up("Space")
        page.wait_for_function("DeskAudio.stats.cues.includes('roger')", timeout=60000)
        box["done"] = True
        t.join(180)
        assert not t.is_alive() and "stats" in box
        cc = rig.packets("cc")
        f = F.Frame()
        seqs, flags, bursts = [], [], set()
        for p in cc:
            assert F.parse(p, f, F.as_key(rig.key)) == F.OK
            seqs.append(f.seq)
            flags.append(f.flags)
            bursts.add(f.burst)
        assert len(cc) >= 150 and len(bursts) == 1, (len(cc), bursts)
        assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:])), "frames out of order"
        assert flags[0] & F.F_START and flags[-1] & F.F_END
        assert any(d["unit"] == "cc" and d["prio"] == 2 for _, d in rig.rp.all("u01", "talker"))
        g = box["stats"]["u01"]["voice"]
        assert g["replayed"] == 0 and g["spoofed"] == 0 and g["accepted"] >= len(cc) - 2
        heard = rig.rp.heard("u01")
        loop3 = np.concatenate([ref, ref, ref])      # the fake microphone loops its file
        corr, blocks = audiopath.blockwise_correlation(loop3, heard)
        print("desk microphone -> radio speaker: correlation", round(corr, 3), "blocks", blocks, "frames", len(cc))
        assert corr >= 0.9 and blocks >= 6, (corr, blocks)
        audit = rig.srv.call(lambda: rig.srv.app.state.console.store.audit_log(action="desk.talk"))
        assert audit and audit[0]["operator"] == "budi" and audit[0]["detail"]["tg"] == "1", audit
    finally:
        rig.close()


def test_emergency_alarm_plays_the_hot_mic_audio(own_machines, mosquitto, arbiter, console_server, browser_page,
                                                 tmp_path):
    """The radio presses emergency: the console's alarm covers the page, and the burst its open microphone sent
    is in the alarm as soon as it ends, playable there (the recording, flagged emergency, is the frames sent)."""
    ref = speech.load()[: 8000 * 5]
    clip = tmp_path / "clip.raw"
    clip.write_bytes(ref.astype("<i2").tobytes())
    rig = Rig(mosquitto, arbiter, console_server, tmp_path, clip=clip,
              script=[[1000, "u01", "emergency", {"clip": "speech"}], [1300, "u01", "emergency_release", {}]])
    try:
        page = open_desk(browser_page, rig.srv.url)
        import asyncio
        loop = asyncio.new_event_loop()
        t = threading.Thread(target=loop.run_until_complete, args=(_radio_session(rig.rp, loop),), daemon=True)
        t.start()
        page.wait_for_selector("#alarm:not([hidden]) .hotmic", timeout=120000)
        page.wait_for_selector("#alarm .hotmic audio.hotmic-audio", timeout=120000)
        t.join(120)
        rows = rig.srv.call(lambda: rig.desk.recorder.search(unit="u01", emergency=True))
        assert len(rows) == 1 and rows[0]["emergency"] == 1
        r = rows[0]
        assert page.get_attribute("#alarm .hotmic audio", "src") == "/recordings/%d.wav" % r["id"]
        sent = rig.rp.done["u01"]["voice"]["tx_frames"]
        assert r["frames"] == sent and r["duration_ms"] == sent * 20 and r["duration_ms"] >= 2000
        page.eval_on_selector("#alarm .hotmic audio", "a => a.play()")
        page.wait_for_function("document.querySelector('#alarm .hotmic audio').currentTime > 0.3", timeout=60000)
        shot(page, "hot_mic_in_alarm.png")
    finally:
        rig.close()
