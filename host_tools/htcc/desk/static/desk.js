// The desk's talk and listen panel (issue 10, item 2). Plain JavaScript, no build step.
// The console's hub owns the one WebSocket: it hands us JSON messages whose type starts with talk., listen.
// or rec. (DeskAudio.onMessage) and every binary frame (DeskAudio.onBinary), and gives us a way to send
// (DeskAudio.attach({sendJson, sendBinary})). Binary framing: docs/DESK.md.
(function () {
  "use strict";
  const MIC = 1, AUDIO = 2;
  const LOUD = 1.0, QUIET = 0.3;
  const $ = (s, r) => (r || document).querySelector(s);
  const T = (id, en) => id + " / " + en;

  const D = {
    send: null, sendBin: null, ctx: null, player: null, mic: null, micNode: null, stream: null,
    talkgroups: [], monitored: new Set(), selected: null, cues: {}, floors: {},
    pressed: null, onAir: false, keyHeld: false, level: {}, lastRec: {}, lastAny: null,
    stats: { rx: {}, micFrames: 0, micStarts: [], playStarts: [], cues: [], talkers: [], refused: [], recs: [], starts: [] },
    tapped: null, started: false, ready: null,
  };
  window.DeskAudio = D;

  // ---- transport --------------------------------------------------------------------------------------
  D.attach = function (t) {
    D.send = t.sendJson;
    D.sendBin = t.sendBinary;
  };
  function send(msg) { if (D.send) D.send(msg); }

  D.onBinary = function (buf) {
    const u8 = new Uint8Array(buf);
    if (u8[0] !== AUDIO) return;
    const n = u8[1];
    const tg = new TextDecoder().decode(u8.subarray(2, 2 + n));
    let off = 2 + n;
    if (off % 2) off++;
    const pcm = buf.slice(off);
    D.stats.rx[tg] = (D.stats.rx[tg] || 0) + pcm.byteLength / 2;
    meter(tg, new Int16Array(pcm));
    if (D.player) D.player.port.postMessage({ tg: tg, pcm: pcm }, [pcm]);
  };

  D.onMessage = function (m) {
    const h = handlers[m.t];
    if (h) h(m);
  };

  // ---- audio -------------------------------------------------------------------------------------------
  async function audio() {
    if (D.ready) return D.ready;
    D.ready = (async function () {
      const AC = window.AudioContext || window.webkitAudioContext;
      // 48 kHz, not the voice path's 8 kHz: the player interpolates (desk-worklet.js), and the browser's buffers
      // at 8 kHz cost 64 ms against 40 ms here (bench_desk, radio -> desk).
      D.ctx = new AC({ sampleRate: 48000, latencyHint: "interactive" });
      await D.ctx.audioWorklet.addModule(D.base + "desk-worklet.js");
      D.player = new AudioWorkletNode(D.ctx, "desk-player", { numberOfInputs: 0, outputChannelCount: [1] });
      D.player.connect(D.ctx.destination);
      D.player.port.onmessage = (e) => {
        if (e.data && e.data.tapped) D.tapped.push(e.data.tapped);
        if (e.data && e.data.started) {
          const lat = (D.ctx.baseLatency || 0) + (D.ctx.outputLatency || 0);
          D.stats.playStarts.push({ tg: e.data.started, at: performance.timeOrigin + performance.now() + lat * 1000 });
        }
      };
      if (D.tapped) tap();
      gains();
      D.ctx.onstatechange = banner;
      banner();
    })();
    return D.ready;
  }

  function tap() {
    // Tests and the bench: what the mixer sends to the speakers, as 8 kHz Int16 (the player hands over the
    // output frames on the 8 kHz grid, which are the mixed input samples themselves; desk-worklet.js).
    if (!D.player || D.tapOn) return;
    D.tapped = D.tapped || [];
    D.player.port.postMessage({ tap: true });
    D.tapOn = true;
  }
  D.tap = function () { D.tapped = D.tapped || []; tap(); };
  D.tappedPCM = function () {
    let n = 0;
    for (const c of D.tapped || []) n += c.length;
    const out = new Int16Array(n);
    let o = 0;
    for (const c of D.tapped || []) { out.set(c, o); o += c.length; }
    return Array.from(out);
  };

  async function microphone() {
    await audio();
    if (D.micNode) return;
    // No echo canceller: like a radio, the desk plays nothing while it transmits (gains() mutes the speakers
    // on air), so there is no echo to cancel; and Chromium's canceller reshapes the waveform (a speech file
    // through the fake microphone correlated 0.78 with it, 0.99 without).
    D.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    // A context of the microphone's own rate (see desk-worklet.js: no rate-matching FIFO in the way).
    const AC = window.AudioContext || window.webkitAudioContext;
    const rate = (D.stream.getAudioTracks()[0].getSettings() || {}).sampleRate;
    D.micCtx = rate ? new AC({ sampleRate: rate, latencyHint: "interactive" }) : new AC({ latencyHint: "interactive" });
    await D.micCtx.audioWorklet.addModule(D.base + "desk-worklet.js");
    if (D.micCtx.state !== "running") await D.micCtx.resume();
    D.mic = D.micCtx.createMediaStreamSource(D.stream);
    D.micNode = new AudioWorkletNode(D.micCtx, "desk-mic", { numberOfOutputs: 0 });
    D.micNode.port.onmessage = (e) => {
      // Only while this desk holds the floor: what is said before the permit would be dropped by the server
      // anyway (as on a radio, speech starts after the permit tone).
      if (!D.pressed || !D.onAir || !D.sendBin) return;
      const pcm = new Uint8Array(e.data);
      const out = new Uint8Array(pcm.length + 1);
      out[0] = MIC;
      out.set(pcm, 1);
      D.stats.micFrames++;
      if (D.keepMic) D.keepMic.push(new Int16Array(e.data.slice(0)));
      if (D.burstFrames++ === 0) D.stats.micStarts.push(performance.timeOrigin + performance.now());
      D.sendBin(out.buffer);
    };
    D.mic.connect(D.micNode);
  }

  function banner() {
    const b = $("#desk-sound-banner");
    if (!b) return;
    b.hidden = !!(D.ctx && D.ctx.state === "running");
  }

  async function enableSound() {
    await audio();
    try { await D.ctx.resume(); } catch (e) { /* still suspended: the banner stays */ }
    banner();
  }
  D.enableSound = enableSound;

  function gains() {
    const g = {};
    for (const tg of D.talkgroups) {
      g[tg] = D.onAir || !D.monitored.has(tg) ? 0 : (D.selected === null || D.selected === tg ? LOUD : QUIET);
    }
    if (D.player) D.player.port.postMessage({ gains: g });
  }

  function tone(steps) {
    if (!D.ctx || D.ctx.state !== "running" || !steps) return;
    let t = D.ctx.currentTime + 0.01;
    for (const [f, ms] of steps) {
      if (f > 0) {
        const o = D.ctx.createOscillator(), g = D.ctx.createGain();
        o.frequency.value = f;
        g.gain.setValueAtTime(0.25, t);
        g.gain.setValueAtTime(0, t + ms / 1000);
        o.connect(g).connect(D.ctx.destination);
        o.start(t);
        o.stop(t + ms / 1000 + 0.01);
      }
      t += ms / 1000;
    }
  }

  // ---- level meters -------------------------------------------------------------------------------------
  function meter(tg, x) {
    let peak = 0;
    for (let i = 0; i < x.length; i++) { const a = Math.abs(x[i]); if (a > peak) peak = a; }
    const db = peak > 0 ? 20 * Math.log10(peak / 32768) : -90;
    D.level[tg] = Math.max(D.level[tg] || 0, Math.max(0, (db + 60) / 60));
  }
  function drawMeters() {
    for (const tg of D.talkgroups) {
      const el = $('[data-tg="' + CSS.escape(tg) + '"] .desk-meter > span');
      const v = D.level[tg] || 0;
      if (el) el.style.width = Math.round(v * 100) + "%";
      D.level[tg] = v * 0.85;
    }
    requestAnimationFrame(drawMeters);
  }

  // ---- talk ----------------------------------------------------------------------------------------------
  async function press(tg) {
    if (D.pressed) return;
    D.pressed = tg;
    status("wait", T("Meminta saluran…", "Requesting the channel…") + " (" + tgName(tg) + ")");
    row(tg) && row(tg).classList.add("pressing");
    try { await microphone(); } catch (e) {
      // no microphone (none, or permission refused): do not take the channel only to send silence
      status("denied", T("Mikrofon tidak bisa dibuka", "Microphone unavailable") + ": " + e.message);
      tone((D.cues.denied || {}).tones);
      row(tg) && row(tg).classList.remove("pressing");
      D.pressed = null;
      return;
    }
    if (D.pressed !== tg) return;          // let go while the microphone was opening
    D.micNode.port.postMessage({ active: true });
    send({ t: "talk.press", tg: tg });
  }
  function release() {
    if (!D.pressed) return;
    const tg = D.pressed;
    D.pressed = null;
    send({ t: "talk.release" });
    if (D.micNode) D.micNode.port.postMessage({ active: false });
    row(tg) && row(tg).classList.remove("pressing");
  }
  D.press = press;
  D.release = release;

  function status(kind, text) {
    const s = $("#desk-status");
    if (!s) return;
    s.className = "desk-status desk-" + kind;
    s.textContent = text;
  }

  function tgName(tg) { return tg === "all" ? T("Semua", "All-call") : "TG " + tg; }
  function row(tg) { return $('#desk-audio [data-tg="' + CSS.escape(tg) + '"]'); }

  function who(d) {
    if (!d || !d.unit) return "";
    if (d.desk) return T("Command Center (meja ini)", "Command Center (this desk)");
    let s = d.holder ? d.holder : T("unit", "unit") + " " + d.unit;
    if (d.opd) s += " — " + d.opd;
    s += " [" + d.unit + "]";
    if (d.emergency) s = "⚠ " + T("DARURAT", "EMERGENCY") + ": " + s;
    return s;
  }
  function showTalker(tg, d) {
    const r = row(tg);
    if (!r) return;
    $(".desk-talker", r).textContent = d ? who(d) : "—";
    r.classList.toggle("talking", !!d);
  }

  // ---- messages -------------------------------------------------------------------------------------------
  const handlers = {
    "listen.hello": function (m) {
      D.talkgroups = m.talkgroups;
      D.cues = m.cues || {};
      D.recordingsUrl = m.recordings_url;
      const saved = JSON.parse(localStorage.getItem("desk.monitor") || "null");
      D.monitored = new Set(saved ? saved.filter((t) => m.talkgroups.includes(t)) : m.talkgroups);
      D.selected = localStorage.getItem("desk.selected");
      if (!m.talkgroups.includes(D.selected)) D.selected = m.talkgroups[0];
      build();
      for (const f of m.floors) showTalker(f.tg, f.talker);
      recStatus(m.recorder);
      for (const r of (m.emergencies || [])) emergencyRec(r);
      for (const tg in (m.last || {})) { D.lastRec[tg] = m.last[tg]; if (!D.lastAny || m.last[tg].start_ms > D.lastAny.start_ms) D.lastAny = m.last[tg]; }
      listenSet();
      if (window.DeskRecordings) window.DeskRecordings.search();
    },
    "listen.talker": function (m) { D.stats.talkers.push(m); showTalker(m.tg, m); },
    "listen.free": function (m) { showTalker(m.tg, null); },
    "listen.start": function (m) {
      D.stats.starts.push({ tg: m.tg, unit: m.unit, at: performance.timeOrigin + performance.now() });
      const r = row(m.tg);
      if (r) { r.classList.add("audible"); if (!r.classList.contains("talking")) showTalker(m.tg, m); }
    },
    "listen.end": function (m) { const r = row(m.tg); if (r) r.classList.remove("audible"); },
    "listen.set": function () {},
    "talk.cue": function (m) {
      D.stats.cues.push(m.cue);
      const c = D.cues[m.cue] || {};
      tone(c.tones);
      const kind = m.cue === "permit" ? "permit" : (m.cue === "busy" ? "busy" : (m.cue === "roger" ? "idle" : "denied"));
      status(kind, (c.id || m.cue) + (c.en ? " / " + c.en : ""));
    },
    "talk.state": function () {},
    "talk.on": function (m) {
      const r = row(m.tg);
      if (r) r.classList.toggle("onair", true);
      if (m.mine) { D.onAir = true; D.burstFrames = 0; gains(); status("permit", T("MENGUDARA", "ON AIR") + " — " + tgName(m.tg)); }
      else status("busy", T("Meja dipakai oleh", "Desk in use by") + " " + (m.operator || "?") + " — " + tgName(m.tg));
    },
    "talk.off": function (m) {
      const r = row(m.tg);
      if (r) r.classList.toggle("onair", false);
      if (m.mine) { D.onAir = false; gains(); }
    },
    "talk.refused": function (m) {
      D.stats.refused.push(m.why);
      tone((D.cues.busy || {}).tones);
      const why = m.why === "desk_in_use" ? T("Meja sedang dipakai", "The desk is in use") + (m.by ? " (" + m.by + ")" : "")
        : T("Talkgroup tidak dikenal", "Unknown talkgroup");
      status("busy", why);
      if (D.pressed) release();
    },
    "talk.error": function (m) { status("denied", m.error); },
    "floor.service": function (m) {
      const r = row(m.tg);
      if (r) r.classList.toggle("noservice", !m.up);
    },
    "rec.new": function (m) {
      D.stats.recs.push(m.row);
      emergencyRec(m.row);
      D.lastRec[m.row.talkgroup] = m.row;
      D.lastAny = m.row;
      if (window.DeskRecordings) window.DeskRecordings.onNew(m.row);
    },
    "rec.status": function (m) { recStatus(m.status); if (window.DeskRecordings) window.DeskRecordings.onStatus(m); },
    "rec.error": function (m) {
      const e = $("#desk-rec-error");
      if (e) { e.hidden = false; e.textContent = m.error; }
      if (window.DeskRecordings) window.DeskRecordings.onError(m);
    },
    "rec.results": function (m) { if (window.DeskRecordings) window.DeskRecordings.onResults(m); },
    "rec.keep": function (m) { if (window.DeskRecordings) window.DeskRecordings.onKeep(m); },
    "rec.emergency": function (m) { emergencyRec(m.row); },
  };

  function recStatus(s) {
    const e = $("#desk-rec-disk");
    if (!e || !s) return;
    e.textContent = T("Rekaman", "Recordings") + ": " + s.files + " — " + mb(s.bytes) +
      (s.free_bytes != null ? " (" + T("sisa disk", "disk free") + " " + mb(s.free_bytes) + ")" : "");
  }
  function mb(b) { return b < 1e6 ? Math.round(b / 1e3) + " KB" : b < 1e9 ? (b / 1e6).toFixed(1) + " MB" : (b / 1e9).toFixed(2) + " GB"; }
  D.size = mb;

  function listenSet() {
    localStorage.setItem("desk.monitor", JSON.stringify([...D.monitored]));
    if (D.selected) localStorage.setItem("desk.selected", D.selected);
    send({ t: "listen.set", tgs: [...D.monitored], selected: D.selected });
    gains();
    for (const tg of D.talkgroups) {
      const r = row(tg);
      if (r) r.classList.toggle("selected", tg === D.selected);
    }
  }

  // ---- the panel -------------------------------------------------------------------------------------------
  function build() {
    const list = $("#desk-tgs");
    if (!list) return;
    list.textContent = "";
    for (const tg of D.talkgroups) {
      const r = document.createElement("div");
      r.className = "desk-tg";
      r.dataset.tg = tg;
      r.innerHTML = '<label class="desk-mon"><input type="checkbox"> <span></span></label>' +
        '<label class="desk-sel"><input type="radio" name="desk-sel"> ' + T("utama", "main") + '</label>' +
        '<span class="desk-talker">—</span><span class="desk-meter"><span></span></span>' +
        '<button type="button" class="desk-ptt"></button>' +
        '<button type="button" class="desk-replay" title="' + T("Putar ulang terakhir", "Replay last") + '">↺</button>';
      $(".desk-mon span", r).textContent = tgName(tg);
      const ptt = $(".desk-ptt", r);
      ptt.textContent = "PTT " + tgName(tg);
      ptt.setAttribute("aria-label", T("Tekan dan tahan untuk bicara", "Hold to talk") + " " + tgName(tg));
      const mon = $(".desk-mon input", r);
      mon.checked = D.monitored.has(tg);
      mon.addEventListener("change", () => { if (mon.checked) D.monitored.add(tg); else D.monitored.delete(tg); listenSet(); });
      const sel = $(".desk-sel input", r);
      sel.checked = tg === D.selected;
      sel.addEventListener("change", () => { D.selected = tg; listenSet(); });
      ptt.addEventListener("pointerdown", (e) => { e.preventDefault(); ptt.setPointerCapture(e.pointerId); press(tg); });
      for (const ev of ["pointerup", "pointercancel", "lostpointercapture"]) ptt.addEventListener(ev, () => release());
      $(".desk-replay", r).addEventListener("click", () => replayLast(tg));
      list.appendChild(r);
    }
  }

  function replayLast(tg) {
    const r = tg ? D.lastRec[tg] : D.lastAny;
    const p = $("#desk-replay-player");
    if (!r || !p) { status("idle", T("Belum ada rekaman", "No recording yet")); return; }
    p.src = r.url;
    p.play().catch(() => {});
    send({ t: "rec.played", id: r.id });
    status("idle", T("Memutar ulang", "Replaying") + ": " + who(r) + " " + r.start_wib);
  }
  D.replayLast = replayLast;

  // ---- the emergency alarm's hot-mic audio (the console's overlay has a .hotmic slot per alarm) -------------
  D.emergencyRecs = {};
  function emergencyRec(r) {
    if (!r || !r.emergency) return;
    const l = D.emergencyRecs[r.unit] = D.emergencyRecs[r.unit] || [];
    if (!l.some((x) => x.id === r.id)) l.push(r);
    fillHotmic();
  }
  function fillHotmic() {
    for (const el of document.querySelectorAll("#alarm .hotmic")) {
      const since = Date.parse(el.dataset.started) - 15000;
      const recs = (D.emergencyRecs[el.dataset.unit] || []).filter((x) => !(x.start_ms < since));
      const r = recs[recs.length - 1];
      if (r) {
        if (el.dataset.rec === String(r.id)) continue;
        el.dataset.rec = r.id;
        el.textContent = "";
        const p = document.createElement("div");
        p.textContent = T("Suara mikrofon darurat", "Hot-mic audio") + " — " + r.start_wib + ", " +
          (r.duration_ms / 1000).toFixed(1) + " s, TG " + r.talkgroup;
        const a = document.createElement("audio");
        a.controls = true;
        a.preload = "auto";
        a.src = r.url;
        a.className = "hotmic-audio";
        a.addEventListener("play", () => send({ t: "rec.played", id: r.id }));
        el.appendChild(p);
        el.appendChild(a);
      } else if (!el.dataset.rec) {
        el.textContent = T("Mikrofon darurat terbuka: suaranya terdengar langsung di meja; rekamannya muncul di sini saat selesai.",
          "Hot mic open: heard live at the desk; its recording appears here when it ends.");
      }
    }
  }
  D.fillHotmic = fillHotmic;
  D.playRecording = function (url) {
    const p = $("#desk-replay-player");
    if (p) { p.src = url; return p.play(); }
  };

  // ---- keyboard PTT: Space talks on the selected talkgroup, R replays its last burst --------------------------
  function typing(e) {
    const t = e.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) && t.type !== "checkbox" && t.type !== "radio");
  }
  function kbd() {
    const k = $("#desk-kbd");
    if (!k) return;
    const on = document.hasFocus();
    k.classList.toggle("armed", on);
    k.classList.toggle("held", D.keyHeld);
    k.textContent = on ? (D.keyHeld ? T("⌨ PTT keyboard: SPASI DITEKAN", "⌨ Keyboard PTT: SPACE HELD")
      : T("⌨ PTT keyboard aktif: tahan Spasi untuk bicara", "⌨ Keyboard PTT active: hold Space to talk"))
      : T("⌨ PTT keyboard tidak aktif (jendela tidak fokus)", "⌨ Keyboard PTT inactive (window not focused)");
  }
  document.addEventListener("keydown", (e) => {
    if (!D.started || typing(e)) return;
    if (e.code === "Space") {
      e.preventDefault();
      if (e.repeat || D.keyHeld) return;
      D.keyHeld = true;
      kbd();
      if (D.selected) press(D.selected);
    } else if ((e.key === "r" || e.key === "R") && !e.ctrlKey && !e.metaKey && !e.altKey && !window.DeskRecordings) {
      replayLast(D.selected && D.lastRec[D.selected] ? D.selected : null);
    }
  });
  document.addEventListener("keyup", (e) => {
    if (e.code !== "Space" || !D.keyHeld) return;
    e.preventDefault();
    D.keyHeld = false;
    kbd();
    release();
  });
  window.addEventListener("blur", () => { if (D.keyHeld) { D.keyHeld = false; release(); } kbd(); });
  window.addEventListener("focus", kbd);

  D.start = function (base) {
    if (D.started) return;
    D.started = true;
    // On a phone the board comes first: the talkgroup list starts folded (the choice is remembered).
    const body = $("#desk-body");
    if (body) {
      const kept = localStorage.getItem("desk.open");
      body.open = kept !== null ? kept === "1" : !window.matchMedia("(max-width: 640px)").matches;
      body.addEventListener("toggle", () => localStorage.setItem("desk.open", body.open ? "1" : "0"));
    }
    D.base = base || "/static/desk/";
    const b = $("#desk-sound-banner");
    if (b) b.addEventListener("click", enableSound);
    document.addEventListener("pointerdown", () => { if (D.ctx && D.ctx.state !== "running") enableSound(); }, true);
    audio().catch((e) => status("denied", T("Audio tidak tersedia", "Audio unavailable") + ": " + e.message));
    kbd();
    requestAnimationFrame(drawMeters);
  };
})();
