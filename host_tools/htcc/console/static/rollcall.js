// Roll call: start one, watch answers arrive, schedules (supervisors).
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const ST = {answered: "answered", late: "late", missed: "no_answer", offline: "offline", waiting: "waiting"};
  for (const el of document.querySelectorAll(".wib[data-iso]")) el.textContent = HT.fmtTime(el.dataset.iso);
  const dayNames = HT.lang === "en" ? ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] : ["", "Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"];
  for (const el of document.querySelectorAll(".days[data-days]")) el.textContent = el.dataset.days.split("").map((d) => dayNames[+d]).join(", ");

  function show(rc) {
    if (!rc) return;
    $("rc_live").hidden = false;
    $("rc_live").dataset.id = rc.id;
    $("rc_live").dataset.finished = rc.finished ? "1" : "0";
    $("rc_title").textContent = HT.t("rollcall") + " " + rc.id + " · " + rc.scope + " · " + HT.fmtTime(rc.started_at);
    $("rc_state").textContent = rc.finished ? HT.t("finished") : HT.t("running");
    $("rc_state").className = "pill " + (rc.finished ? "grey" : "warn");
    for (const k of ["answered", "waiting", "missed", "offline", "late"]) $("c_" + k).textContent = rc.counts[k];
    let h = "";
    for (const r of rc.rows) {
      h += '<tr data-unit="' + HT.esc(r.unit) + '" data-status="' + r.status + '"><td data-l="' + HT.esc(HT.t("unit")) + '"><b>' + HT.esc(r.unit) + "</b></td><td data-l=\"" + HT.esc(HT.t("holder")) + "\">" +
        HT.esc(r.official || "–") + '</td><td data-l="' + HT.esc(HT.t("opd")) + '">' + HT.esc(r.opd || "–") + '</td><td data-l="' + HT.esc(HT.t("result")) + '" class="st-' + r.status + '">' +
        HT.esc(HT.t(ST[r.status])) + '</td><td data-l="' + HT.esc(HT.t("time_to_answer")) + '">' + (r.ms != null ? (r.ms / 1000).toFixed(1) + " s" : "–") + "</td></tr>";
    }
    document.querySelector("#rc_table tbody").innerHTML = h;
    $("rc_csv").href = "/rollcall/" + rc.id + ".csv";
    $("rc_print").href = "/rollcall/" + rc.id + "/print";
  }
  HT.on("hello", (m) => show(m.rollcall));
  HT.on("rollcall", (m) => show(m.rc));
  $("rc_start").onclick = async () => {
    $("rc_error").textContent = "";
    try { show(await HT.post("/api/rollcall", {scope: $("rc_scope").value, deadline_s: +$("rc_deadline").value})); }
    catch (e) { $("rc_error").textContent = e.message; }
  };
  if ($("sch_add")) $("sch_add").onclick = async () => {
    $("sch_error").textContent = "";
    try {
      await HT.post("/api/schedules", {days: $("sch_days").value, at_wib: $("sch_time").value, scope: $("sch_scope").value,
        deadline_s: +$("sch_deadline").value});
      location.reload();
    } catch (e) { $("sch_error").textContent = e.message; }
  };
  for (const b of document.querySelectorAll(".sch_rm")) b.onclick = async () => {
    try { await HT.post("/api/schedules/" + b.dataset.id + "/delete"); location.reload(); } catch (e) { alert(e.message); }
  };
})();
