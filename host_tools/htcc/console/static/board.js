// The readiness board: rows pushed by the server (hello, then "units" deltas), filtered and sorted here.
(function () {
  "use strict";
  const rows = {};          // unit -> row
  const fOpd = document.getElementById("f_opd"), fTg = document.getElementById("f_tg");
  const tbody = document.querySelector("#units tbody");
  const STEPS = ["st_sim", "st_registered", "st_data", "st_broker", "st_ready"];
  const rupiah = (n) => "Rp" + Math.round(n || 0).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ".");

  function reasonText(r) { return HT.lang === "en" ? r.en : r.id; }

  function ladder(r) {
    let h = '<div class="ladder" title="' + HT.esc(r.stage) + '">';
    for (let i = 0; i < 5; i++) {
      const cls = i < r.step ? (r.ready ? "on good" : "on") : (i === r.step && !r.ready && r.online ? "stuck" : "");
      h += '<span class="step ' + cls + '">' + HT.esc(HT.t(STEPS[i])) + "</span>";
    }
    return h + "</div>";
  }

  function sig(r) {
    if (!r.online || r.signal == null) return '<span class="muted">–</span>';
    let h = '<span class="bars b' + r.bars + '" title="' + r.signal + ' dBm">';
    for (let i = 1; i <= 4; i++) h += '<i class="' + (i <= r.bars ? "on" : "") + '"></i>';
    return h + "</span>";
  }

  function battery(r) {
    if (r.battery == null) return '<span class="muted">–</span>';
    const cls = r.battery < 15 ? "bad" : r.battery < 35 ? "warn" : "good";
    return '<span class="bat ' + cls + '"><span style="width:' + r.battery + '%"></span></span> ' + r.battery + "%";
  }

  function plan(r) {
    let h = '<span class="plan ' + r.plan + '">' + HT.esc(HT.t("plan_" + r.plan)) + "</span>";
    if (r.quota_left_mb != null) h += "<br><small>" + r.quota_left_mb + " MB " + HT.esc(HT.t("quota_left")) +
      (r.quota_mb ? " / " + r.quota_mb + " MB" : "") + "</small>";
    else if (r.quota_mb) h += "<br><small>" + r.quota_mb + " MB</small>";
    return h;
  }

  function lastHeard(r) {
    if (!r.last_seen) return '<span class="age never">' + HT.esc(HT.t("never")) + "</span>";
    const age = (Date.now() - Date.parse(r.last_seen)) / 1000;
    const limit = r.interval_s ? 1.5 * r.interval_s : null;
    const cls = !r.online ? "stale" : (limit && age > limit * 0.8 ? "aging" : "fresh");
    return '<span class="age ' + cls + '" data-seen="' + r.last_seen + '">' + HT.esc(HT.ago(Math.max(0, age))) +
      "</span><br><small>" + HT.esc(HT.fmtTime(r.last_seen)) + "</small>";
  }

  function rowHtml(r) {
    const why = r.reasons.length ? r.reasons.map((x) =>
      '<div class="reason ' + (x.block ? "block" : "warn") + '">' + HT.esc(reasonText(x)) + "</div>").join("")
      : '<span class="okmsg">✔ ' + HT.esc(HT.t("ready")) + "</span>";
    const sim = r.sim_expiry ? HT.esc(HT.lang === "en" ? r.sim_expiry_text_en : r.sim_expiry_text) : "–";
    const simcls = r.sim_days_left != null && r.sim_days_left < 0 ? "bad" : r.sim_days_left != null && r.sim_days_left <= 30 ? "warn" : "";
    const pill = r.ready ? ["good", "ready"] : r.online ? ["bad", "not_ready"] : ["off", "offline"];
    return '<td data-l="' + HT.esc(HT.t("stage")) + '"><span class="pill ' + pill[0] + '">' +
      HT.esc(HT.t(pill[1])) + "</span>" + ladder(r) + "</td>" +
      '<td data-l="' + HT.esc(HT.t("unit")) + '"><b class="unitid">' + HT.esc(r.unit) + "</b>" +
      (r.callsign ? ' <small>' + HT.esc(r.callsign) + "</small>" : "") + "<br>" + HT.esc(r.official || "–") +
      (r.position ? '<br><small>' + HT.esc(r.position) + "</small>" : "") + "</td>" +
      '<td data-l="' + HT.esc(HT.t("opd")) + '">' + HT.esc(r.opd || "–") + "</td>" +
      '<td data-l="' + HT.esc(HT.t("talkgroups")) + '">' + r.talkgroups.map((t) => '<span class="tg">' + HT.esc(t) + "</span>").join(" ") + "</td>" +
      '<td data-l="' + HT.esc(HT.t("why")) + '" class="why">' + why + "</td>" +
      '<td data-l="' + HT.esc(HT.t("signal")) + '">' + sig(r) + "</td>" +
      '<td data-l="' + HT.esc(HT.t("battery")) + '">' + battery(r) + "</td>" +
      '<td data-l="' + HT.esc(HT.t("data_plan")) + '">' + plan(r) + "</td>" +
      '<td data-l="' + HT.esc(HT.t("sim_paid")) + '" class="' + simcls + '">' + sim + "</td>" +
      '<td data-l="' + HT.esc(HT.t("last_heard")) + '">' + lastHeard(r) + "</td>";
  }

  function visible(r) {
    return (!fOpd.value || r.opd === fOpd.value) && (!fTg.value || r.talkgroups.indexOf(fTg.value) >= 0);
  }

  function order(a, b) {
    if (a.ready !== b.ready) return a.ready ? 1 : -1;
    if (a.online !== b.online) return a.online ? 1 : -1;
    return (a.opd || "").localeCompare(b.opd || "") || a.unit.localeCompare(b.unit);
  }

  function rowEl(r) {
    const tr = document.createElement("tr");
    fillRow(tr, r);
    return tr;
  }

  function fillRow(tr, r) {
    tr.id = "u-" + r.unit;
    tr.dataset.unit = r.unit;
    tr.dataset.ready = r.ready ? "1" : "0";
    tr.dataset.online = r.online ? "1" : "0";
    tr.dataset.stage = r.stage;
    tr.dataset.battery = r.battery == null ? "" : r.battery;
    tr.dataset.key = (r.ready ? 1 : 0) + "|" + (r.online ? 1 : 0) + "|" + (r.opd || "") + "|" + r.unit;
    tr.className = r.ready ? "ready" : "notready";
    tr.innerHTML = rowHtml(r);
  }

  function renderAll() {
    const list = Object.values(rows).filter(visible).sort(order);
    const frag = document.createDocumentFragment();
    for (const r of list) frag.appendChild(rowEl(r));
    tbody.replaceChildren(frag);
    counts();
  }

  // A delta: rows whose place in the order did not change are redrawn in place (a fleet of hundreds
  // redraws a few rows per message, not the whole table); anything else redraws the table.
  function renderSome(changed) {
    for (const r of changed) {
      const tr = document.getElementById("u-" + r.unit);
      const key = (r.ready ? 1 : 0) + "|" + (r.online ? 1 : 0) + "|" + (r.opd || "") + "|" + r.unit;
      if (!visible(r) ? !!tr : (!tr || tr.dataset.key !== key)) { renderAll(); return; }
      if (tr) fillRow(tr, r);
    }
    counts();
  }

  function counts() {
    const all = Object.values(rows).filter(visible);
    document.getElementById("n_total").textContent = all.length;
    document.getElementById("n_ready").textContent = all.filter((r) => r.ready).length;
    document.getElementById("n_notready").textContent = all.filter((r) => !r.ready).length;
    document.getElementById("n_online").textContent = all.filter((r) => r.online).length;
    const by = {};
    for (const r of Object.values(rows)) {
      const o = by[r.opd] = by[r.opd] || {radios: 0, ready: 0, online: 0};
      o.radios++; if (r.ready) o.ready++; if (r.online) o.online++;
    }
    // The data budget belongs to whoever pays for the SIM (htctl.report.fleet_status's rule): price x 12.
    const budget = {};
    for (const r of Object.values(rows)) {
      if (!r.has_sim) continue;
      const payer = r.sim_opd || r.opd;
      const b = budget[payer] = budget[payer] || {monthly_rp: 0, yearly_budget_rp: 0};
      b.monthly_rp += r.price_rp || 0; b.yearly_budget_rp += 12 * (r.price_rp || 0);
    }
    const names = Array.from(new Set(Object.keys(by).concat(Object.keys(budget)))).sort();
    let h = "", m = 0, y = 0;
    for (const n of names) {
      const o = by[n] || {radios: 0, ready: 0, online: 0}, b = budget[n] || {monthly_rp: 0, yearly_budget_rp: 0};
      m += b.monthly_rp; y += b.yearly_budget_rp;
      h += "<tr><td>" + HT.esc(n || "–") + "</td><td>" + o.radios + "</td><td>" + o.ready + "</td><td>" + o.online +
        '</td><td class="num">' + rupiah(b.monthly_rp) + '</td><td class="num">' + rupiah(b.yearly_budget_rp) + "</td></tr>";
    }
    h += '<tr class="total"><td>Σ</td><td>' + Object.keys(rows).length + "</td><td>" +
      Object.values(rows).filter((r) => r.ready).length + "</td><td>" + Object.values(rows).filter((r) => r.online).length +
      '</td><td class="num">' + rupiah(m) + '</td><td class="num">' + rupiah(y) + "</td></tr>";
    document.querySelector("#opds tbody").innerHTML = h;
  }

  function fillFilters() {
    const o = new Set(), t = new Set();
    for (const r of Object.values(rows)) { if (r.opd) o.add(r.opd); r.talkgroups.forEach((x) => t.add(x)); }
    for (const [sel, vals] of [[fOpd, o], [fTg, t]]) {
      const cur = sel.value;
      sel.length = 1;
      Array.from(vals).sort().forEach((v) => sel.add(new Option(v, v)));
      sel.value = cur;
    }
    const q = new URLSearchParams(location.search);
    if (q.get("opd") && !fOpd.value) fOpd.value = q.get("opd");
    if (q.get("tg") && !fTg.value) fTg.value = q.get("tg");
  }

  HT.on("hello", (m) => {
    for (const k in rows) delete rows[k];
    for (const r of m.board.rows) rows[r.unit] = r;
    fillFilters(); renderAll();
  });
  HT.on("units", (m) => {
    let newUnit = false;
    for (const r of m.rows) { if (!rows[r.unit]) newUnit = true; rows[r.unit] = r; }
    if (newUnit) { fillFilters(); renderAll(); } else renderSome(m.rows);
    document.body.dataset.updated = Date.now();
  });
  fOpd.onchange = fTg.onchange = renderAll;
  setInterval(() => {   // ages move on by themselves
    for (const el of document.querySelectorAll(".age[data-seen]"))
      el.textContent = HT.ago(Math.max(0, (Date.now() - Date.parse(el.dataset.seen)) / 1000));
  }, 5000);
})();
