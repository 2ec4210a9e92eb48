// The emergency journal: every alarm, live; acknowledge and close (real / false alarm) from here.
(function () {
  "use strict";
  const rows = {};
  (window.JOURNAL || []).forEach((i) => { rows[i.id] = i; });
  function render() {
    const list = Object.values(rows).sort((a, b) => b.id - a.id);
    let h = "";
    for (const i of list) {
      let act = "";
      if (!i.closed_at) {
        if (!i.acked_at) act += '<button class="btn danger" data-ack="' + i.id + '">' + HT.esc(HT.t("ack")) + "</button> ";
        act += '<button class="btn" data-close="' + i.id + '" data-v="real">' + HT.esc(HT.t("close_real")) + '</button> ' +
          '<button class="btn ghost" data-close="' + i.id + '" data-v="false">' + HT.esc(HT.t("close_false")) + "</button>";
      }
      h += '<tr data-id="' + i.id + '" data-unit="' + HT.esc(i.unit_id) + '"><td>' + i.id + "</td><td>" + HT.esc(HT.fmtTime(i.started_at)) + "</td><td><b>" + HT.esc(i.unit_id) +
        "</b></td><td>" + HT.esc(i.official || "–") + "</td><td>" + HT.esc(i.opd || "–") + "</td><td>" + i.alerts + "</td><td>" +
        (i.ack_ms != null ? (i.ack_ms / 1000).toFixed(1) + " s" : '<b class="error">' + HT.esc(HT.t("open")) + "</b>") + "</td><td>" + HT.esc(i.acked_by || "–") +
        "</td><td>" + (i.escalated_at ? HT.esc(i.escalation || HT.t("escalated")) : "–") + '</td><td class="verdict">' +
        (i.verdict ? HT.esc(HT.t(i.verdict)) + " (" + HT.esc(i.closed_by) + ")" : "–") + "</td><td>" + act + "</td></tr>";
    }
    document.querySelector("#journal tbody").innerHTML = h;
    for (const b of document.querySelectorAll("[data-ack]")) b.onclick = () => HT.post("/api/emergency/" + b.dataset.ack + "/ack").catch((e) => alert(e.message));
    for (const b of document.querySelectorAll("[data-close]")) b.onclick = () => HT.post("/api/emergency/" + b.dataset.close + "/close", {verdict: b.dataset.v}).catch((e) => alert(e.message));
  }
  HT.on("alarm", (m) => { rows[m.inc.id] = m.inc; render(); });
  render();
})();
