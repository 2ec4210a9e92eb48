// The recordings page: search, replay in the browser, "replay last" (R), keep flag, retention, disk use.
// Talks over the console's WebSocket (rec.* messages, see desk.js); files come from <recordings_url><id>.wav.
(function () {
  "use strict";
  const $ = (s, r) => (r || document).querySelector(s);
  const T = (id, en) => id + " / " + en;
  const R = { rows: [], status: null };
  window.DeskRecordings = R;
  function send(m) { if (window.DeskAudio && window.DeskAudio.send) window.DeskAudio.send(m); }

  function query() {
    const f = $("#rec-search");
    const v = (n) => f.elements[n].value.trim();
    const ms = (s) => (s ? new Date(s + ":00+07:00").getTime() : "");   // the form's times are WIB
    return { t: "rec.search", unit: v("unit"), opd: v("opd"), tg: v("tg"), since_ms: ms(v("since")),
             until_ms: ms(v("until")), emergency: f.elements.emergency.checked };
  }
  R.search = function () { send(query()); };

  function secs(ms) { return (ms / 1000).toFixed(1) + " s"; }
  function draw() {
    const tb = $("#rec-table tbody");
    tb.textContent = "";
    for (const r of R.rows) {
      const tr = document.createElement("tr");
      tr.dataset.id = r.id;
      if (r.emergency) tr.className = "em";
      const cells = [r.start_wib, r.talkgroup, r.unit, r.holder || "—", r.opd || "—", secs(r.duration_ms),
                     r.emergency ? T("ya", "yes") : ""];
      for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.appendChild(td); }
      const keep = document.createElement("td");
      const cb = document.createElement("input");
      cb.type = "checkbox";
      cb.checked = !!r.keep;
      cb.className = "rec-keep";
      cb.addEventListener("change", () => send({ t: "rec.keep", id: r.id, keep: cb.checked }));
      keep.appendChild(cb);
      tr.appendChild(keep);
      const play = document.createElement("td");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "rec-play";
      b.textContent = "▶ " + T("Putar", "Play");
      b.addEventListener("click", () => R.play(r));
      play.appendChild(b);
      tr.appendChild(play);
      tb.appendChild(tr);
    }
  }
  R.play = function (r) {
    const p = $("#rec-player");
    p.src = r.url;
    p.play().catch(() => {});
    send({ t: "rec.played", id: r.id });
    for (const tr of document.querySelectorAll("#rec-table tr.playing")) tr.classList.remove("playing");
    const tr = document.querySelector('#rec-table tr[data-id="' + r.id + '"]');
    if (tr) tr.classList.add("playing");
    $("#rec-now").textContent = T("Memutar", "Playing") + ": " + r.start_wib + " — " + (r.holder || r.unit) +
      (r.opd ? " (" + r.opd + ")" : "") + ", TG " + r.talkgroup;
  };
  R.replayLast = function () { if (R.rows.length) R.play(R.rows[0]); };

  R.onResults = function (m) { R.rows = m.rows; draw(); R.onStatus(m); };
  R.onNew = function (row) {
    const q = query();
    const ok = (!q.unit || q.unit === row.unit) && (!q.opd || q.opd === row.opd) && (!q.tg || q.tg === row.talkgroup) &&
      (!q.emergency || row.emergency) && (!q.until_ms);
    if (ok) { R.rows.unshift(row); draw(); }
  };
  R.onKeep = function (m) {
    for (const r of R.rows) if (r.id === m.id) r.keep = m.keep ? 1 : 0;
    draw();
  };
  R.onStatus = function (m) {
    const s = m.status;
    if (!s) return;
    R.status = s;
    const mb = window.DeskAudio && window.DeskAudio.size ? window.DeskAudio.size : (b) => (b / 1e6).toFixed(1) + " MB";
    $("#rec-disk").textContent = T("Pemakaian disk", "Disk use") + ": " + mb(s.bytes) + " — " + s.files + " " +
      T("berkas", "files") + (s.free_bytes != null ? "; " + T("sisa", "free") + " " + mb(s.free_bytes) : "") +
      (s.max_bytes ? "; " + T("batas", "cap") + " " + mb(s.max_bytes) : "") + ". " +
      T("Retensi", "Retention") + ": " + (s.retention_days ? s.retention_days + " " + T("hari", "days") : T("tanpa batas", "no limit"));
    const d = $("#rec-retention").elements.days;
    if (document.activeElement !== d && s.retention_days) d.value = s.retention_days;
    if (s.last_error) R.onError({ error: s.last_error.message });
  };
  R.onError = function (m) { const e = $("#rec-error"); e.hidden = false; e.textContent = m.error; };

  document.addEventListener("DOMContentLoaded", function () {
    $("#rec-search").addEventListener("submit", (e) => { e.preventDefault(); R.search(); });
    $("#rec-replay-last").addEventListener("click", R.replayLast);
    $("#rec-retention").addEventListener("submit", (e) => {
      e.preventDefault();
      send({ t: "rec.retention", days: parseInt(e.target.elements.days.value, 10) });
    });
    document.addEventListener("keydown", (e) => {
      const t = e.target;
      if (t && /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) && t.type !== "checkbox") return;
      if ((e.key === "r" || e.key === "R") && !e.ctrlKey && !e.metaKey && !e.altKey) R.replayLast();
    });
  });
})();
