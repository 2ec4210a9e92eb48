// The console's one WebSocket and what every page shares: broker status, the WIB clock, bad-input notices,
// the emergency alarm that covers the page until someone acknowledges. Plain JavaScript, no build step.
// Other scripts (board.js, the desk's audio) use window.HT: HT.on(type, fn), HT.send(msg), HT.sendBytes(buf),
// HT.t(key), HT.post(url, body), HT.fmtTime(iso), HT.state (the last hello + updates).
(function () {
  "use strict";
  const T = window.TEXTS || {};
  const lang = document.body.dataset.lang || "id";
  const csrf = (document.querySelector('meta[name="csrf"]') || {}).content || "";
  const handlers = {};
  let ws = null, backoff = 500, everConnected = false;
  const HT = window.HT = {state: {}, lang: lang, csrf: csrf, ws: null, connected: false};

  HT.t = (k) => T[k] || k;
  HT.on = (type, fn) => { (handlers[type] = handlers[type] || []).push(fn); };
  HT.send = (msg) => { if (ws && ws.readyState === 1) { ws.send(JSON.stringify(msg)); return true; } return false; };
  HT.sendBytes = (buf) => { if (ws && ws.readyState === 1) { ws.send(buf); return true; } return false; };
  HT.post = async (url, body) => {
    const r = await fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify(body || {})});
    let d = null;
    try { d = await r.json(); } catch (e) { d = {error: r.statusText}; }
    if (!r.ok) throw new Error(d && d.error || r.statusText);
    return d;
  };
  const wibFmt = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "id-ID",
    {timeZone: "Asia/Jakarta", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit"});
  const wibClock = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "id-ID",
    {timeZone: "Asia/Jakarta", weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit"});
  HT.fmtTime = (iso) => iso ? wibFmt.format(new Date(iso)) + " WIB" : "–";
  HT.ago = (s) => {
    if (s == null) return HT.t("never");
    if (s < 90) return Math.round(s) + (lang === "en" ? " s " : " dtk ") + HT.t("ago");
    if (s < 5400) return Math.round(s / 60) + (lang === "en" ? " min " : " mnt ") + HT.t("ago");
    if (s < 172800) return Math.round(s / 3600) + (lang === "en" ? " h " : " jam ") + HT.t("ago");
    return Math.round(s / 86400) + (lang === "en" ? " days " : " hari ") + HT.t("ago");
  };
  HT.esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g,
    (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

  function emit(type, msg) { (handlers[type] || []).forEach((fn) => { try { fn(msg); } catch (e) { console.error(e); } }); }

  function connect() {
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
    ws = HT.ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => { backoff = 500; everConnected = true; HT.connected = true; show("wsdown", false); };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== "string") { emit("binary", ev.data); return; }
      let m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.t === "hello") HT.state = m;
      emit(m.t, m);
      emit("*", m);
    };
    ws.onclose = (ev) => {
      HT.connected = false;
      emit("closed", ev);
      if (ev.code === 4401 || (!everConnected && ev.code === 1006 && backoff > 8000)) { location.href = "/login"; return; }
      show("wsdown", true);
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }

  function show(id, on) { const el = document.getElementById(id); if (el) el.hidden = !on; }

  // ---- broker status, clock, bad input --------------------------------------------------------------
  function broker(b) {
    const el = document.getElementById("broker");
    if (!el) return;
    el.textContent = b.up ? HT.t("broker_up") : HT.t("broker_down");
    el.className = "pill " + (b.up ? "good" : "bad");
    el.title = b.reason || "";
  }
  HT.on("hello", (m) => { broker(m.broker); if (m.bad_count) badInput(m.bad[m.bad.length - 1], m.bad_count); });
  HT.on("broker", broker);
  function badInput(e, count) {
    const el = document.getElementById("badinput");
    if (!el || !e) return;
    el.hidden = false;
    el.textContent = "⚠ " + HT.t("bad_input") + " (" + count + "): " + e.topic + " — " + e.why + " · " + HT.fmtTime(e.at);
  }
  HT.on("bad", (m) => badInput(m.e, m.count));
  function tickClock() { const el = document.getElementById("clock"); if (el) el.textContent = wibClock.format(new Date()) + " WIB"; }
  setInterval(tickClock, 1000); tickClock();

  // ---- sound: browsers allow it only after a click ---------------------------------------------------
  HT.audioCtx = null;
  HT.ensureAudio = () => {
    if (!HT.audioCtx) { try { HT.audioCtx = new AudioContext(); } catch (e) { return null; } }
    if (HT.audioCtx.state === "suspended") HT.audioCtx.resume();
    return HT.audioCtx;
  };
  document.addEventListener("click", () => { HT.ensureAudio(); updateSoundBanner(); }, true);
  function updateSoundBanner() {
    const el = document.getElementById("soundbanner");
    if (el) el.hidden = !!(HT.audioCtx && HT.audioCtx.state === "running");
  }
  HT.updateSoundBanner = updateSoundBanner;

  // Connect once every script of the page has run: a message must not arrive before its handler exists
  // (the parser may yield between two scripts while the next one loads).
  function start() { if (document.getElementById("broker") || document.body.dataset.role) connect(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();

// ---- the emergency alarm: covers every page and sounds until acknowledged ------------------------------
(function () {
  "use strict";
  const open = {};      // incident id -> incident (not yet acknowledged)
  let beeper = null;
  const box = document.getElementById("alarm"), list = document.getElementById("alarmlist");
  if (!box) return;

  function beep() {
    const ctx = HT.audioCtx;
    if (!ctx || ctx.state !== "running") { soundHint(true); return; }
    soundHint(false);
    const t = ctx.currentTime;
    for (const [f, at] of [[1400, 0], [900, 0.25], [1400, 0.5]]) {
      const o = ctx.createOscillator(), g = ctx.createGain();
      o.frequency.value = f; o.type = "square"; g.gain.value = 0.08;
      o.connect(g).connect(ctx.destination); o.start(t + at); o.stop(t + at + 0.2);
    }
  }
  function soundHint(on) { const el = document.getElementById("alarmsound"); if (el) el.hidden = !on; }

  function render() {
    const ids = Object.keys(open);
    box.hidden = ids.length === 0;
    document.body.dataset.alarm = ids.length ? "1" : "0";
    if (!ids.length) { if (beeper) { clearInterval(beeper); beeper = null; } return; }
    let h = '<div id="alarmsound" class="banner warn" hidden>' + HT.esc(HT.t("sound_enable")) + "</div>";
    for (const id of ids) {
      const i = open[id];
      h += '<div class="alarmitem" data-id="' + i.id + '" data-unit="' + HT.esc(i.unit_id) + '">' +
        '<div class="who">' + HT.esc(i.unit_id) + " — " + HT.esc(i.official || "?") + "</div>" +
        "<div>" + HT.esc(HT.t("opd")) + ": <b>" + HT.esc(i.opd || "–") + "</b> · " + HT.esc(HT.t("talkgroups")) + ": <b>" +
        HT.esc(i.tg || "–") + "</b> · " + HT.esc(HT.fmtTime(i.started_at)) + " · " + i.alerts + " " + HT.esc(HT.t("alerts")) +
        (i.late ? " · " + HT.esc(HT.t("late_alert")) : "") + (i.known === false ? ' · <b class="error">' + HT.esc(HT.t("unknown_unit")) + "</b>" : "") + (i.escalated_at ? ' · <b class="error">' + HT.esc(HT.t("escalated")) + "</b>" : "") + "</div>" +
        '<div class="hotmic" data-unit="' + HT.esc(i.unit_id) + '" data-started="' + HT.esc(i.started_at) + '"></div>' +
        '<button class="btn danger ackbtn" data-id="' + i.id + '">' + HT.esc(HT.t("ack")) + "</button></div>";
    }
    list.innerHTML = h;
    for (const b of list.querySelectorAll(".ackbtn")) b.onclick = async () => {
      b.disabled = true;
      try { await HT.post("/api/emergency/" + b.dataset.id + "/ack"); } catch (e) { b.disabled = false; alert(e.message); }
    };
    HT.emitLocal && HT.emitLocal("alarm.render", {ids: ids});
    if (!beeper) { beep(); beeper = setInterval(beep, 1500); }
    soundHint(!(HT.audioCtx && HT.audioCtx.state === "running"));
  }
  function take(i) {
    if (!i.acked_at && !i.closed_at) open[i.id] = i; else delete open[i.id];
  }
  HT.on("hello", (m) => { for (const k in open) delete open[k]; (m.alarms || []).forEach(take); render(); });
  HT.on("alarm", (m) => { take(m.inc); render(); });
})();
