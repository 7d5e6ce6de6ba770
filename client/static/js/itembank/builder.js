(function () {
  "use strict";
  const root = document.getElementById("builder");
  const form = document.getElementById("bp-form");
  const $ = (n) => form.elements[n];
  const TYPES = ["single", "multiple", "judge", "fill"];
  let blueprintId = root.dataset.blueprintId ? Number(root.dataset.blueprintId) : null;
  let elements = [];
  let rows = [];
  const err = document.getElementById("bp-error");

  function spec() {
    const cells = [];
    document.querySelectorAll("#cells input[data-el]").forEach((i) => {
      const n = parseInt(i.value || "0", 10);
      if (n > 0) cells.push({ element_code: i.dataset.el, item_type: i.dataset.type, count: n });
    });
    const num = (n) => ($(n).value === "" ? null : Number($(n).value));
    const ppt = {};
    for (const t of TYPES) if ($("ppt_" + t).value) ppt[t] = Number($("ppt_" + t).value);
    const bands = $("bands").value.split(";").map((b) => b.trim()).filter(Boolean).map((b) => {
      const [range, counts] = b.split(":"); const [low, high] = range.split("-").map(Number);
      const [mn, mx] = (counts || "0-").split("-");
      return { low, high, min_count: Number(mn || 0), max_count: mx === "" || mx === undefined ? null : Number(mx) };
    });
    return { standard_id: Number($("standard_id").value), name: $("name").value, n_forms: num("n_forms") || 1,
      max_overlap: num("max_overlap") || 0, duration_minutes: num("duration_minutes") || 90, exposure_limit: num("exposure_limit"),
      target_mean_p: num("target_mean_p"), tolerance: num("tolerance"), cut_theta: num("cut_theta"),
      target_information: num("target_information"), practical_count: num("practical_count") || 0,
      points_per_type: ppt, bands, cells };
  }
  function drawRows(cells) {
    const have = new Set(cells.map((c) => c.element_code));
    rows = elements.filter((e) => e.code.split(".").length === 2 || have.has(e.code));
    const count = {}; cells.forEach((c) => { count[c.element_code + "|" + c.item_type] = c.count; });
    document.getElementById("cells").innerHTML = rows.map((e) => `<tr><th><span class="mono">${ib.esc(e.code)}</span> ${ib.esc(e.name)} <small class="muted">${e.weight}%</small></th>` +
      TYPES.map((t) => `<td><input type="number" min="0" size="3" data-el="${ib.esc(e.code)}" data-type="${t}" value="${count[e.code + "|" + t] || ""}" data-testid="cell-${e.code}-${t}">
        <small class="cov" id="cov-${e.code.replace(/\./g, "_")}-${t}"></small></td>`).join("") + "</tr>").join("");
  }
  let timer = null;
  const schedule = () => { clearTimeout(timer); timer = setTimeout(coverage, 250); };
  async function coverage() {
    const s = spec();
    const cov = await skillcert.api("/itembank/blueprints/coverage", { method: "POST", body: s });
    document.querySelectorAll(".cov").forEach((c) => { c.textContent = ""; c.className = "cov"; });
    cov.cells.forEach((c) => {
      const el = document.getElementById(`cov-${c.element_code.replace(/\./g, "_")}-${c.item_type}`);
      if (!el) return;
      el.textContent = `${c.available}/${c.needed_all}`;
      el.className = "cov " + (c.short > 0 ? "short" : "ok");
      el.title = ib.msg(`题库中已审定 ${c.available} 道；${s.n_forms} 套卷共需 ${c.needed_all} 道`, `${c.available} approved in the bank; ${c.needed_all} needed for ${s.n_forms} forms`);
    });
    document.getElementById("points-total").textContent = ib.msg(`总分 ${cov.points}`, `${cov.points} points`);
    document.getElementById("items-total").textContent = ib.msg(`每套 ${cov.items_per_form} 题`, `${cov.items_per_form} items per form`);
    document.getElementById("short-cells").textContent = cov.short_cells ? ib.msg(`${cov.short_cells} 格题量不足`, `${cov.short_cells} cells short`) : ib.msg("题量充足", "enough items");
    ib.showErrors(document.getElementById("bp-problems"), cov.problems);
  }
  async function loadStandard() {
    const std = await skillcert.api("/itembank/standards/" + $("standard_id").value);
    elements = std.elements;
  }
  async function load() {
    await loadStandard();
    let cells = [];
    if (blueprintId) {
      const bp = await skillcert.api("/itembank/blueprints/" + blueprintId);
      $("standard_id").value = bp.standard_id; $("standard_id").disabled = true;
      await loadStandard();
      for (const k of ["name", "n_forms", "max_overlap", "duration_minutes", "exposure_limit", "target_mean_p", "tolerance", "cut_theta", "target_information", "practical_count"]) $(k).value = bp[k] == null ? "" : bp[k];
      for (const t of TYPES) $("ppt_" + t).value = bp.points_per_type[t] == null ? "" : bp.points_per_type[t];
      $("bands").value = (bp.bands || []).map((b) => `${b.low}-${b.high}:${b.min_count}-${b.max_count == null ? "" : b.max_count}`).join("; ");
      cells = bp.cells;
    } else {
      const d = { single: 1, multiple: 2, judge: 1, fill: 2 };
      for (const t of TYPES) $("ppt_" + t).value = d[t];
    }
    drawRows(cells);
    coverage();
  }
  async function save() {
    const s = spec();
    if (blueprintId) { delete s.standard_id; await skillcert.api("/itembank/blueprints/" + blueprintId, { method: "PUT", body: s }); }
    else {
      const bp = await skillcert.api("/itembank/blueprints", { method: "POST", body: s });
      blueprintId = bp.id; history.replaceState(null, "", "/itembank/blueprints/" + blueprintId); $("standard_id").disabled = true;
    }
  }
  function showRun(run) {
    document.getElementById("run-box").hidden = false;
    document.getElementById("run-progress").value = run.progress;
    document.getElementById("run-message").textContent = run.message;
    const diags = (run.result && run.result.diagnoses) || [];
    document.getElementById("diagnoses").innerHTML = diags.map((d) => `<li>${ib.esc(ib.zh ? d.message_zh : d.message_en)}</li>`).join("");
    if (run.status === "done") {
      const a = document.getElementById("compare-link"); a.href = "/itembank/runs/" + run.id; a.hidden = false;
    }
  }
  async function assemble() {
    await save();
    const run = await skillcert.api(`/itembank/blueprints/${blueprintId}/runs`, { method: "POST", body: { seed: Number(document.getElementById("seed").value || 0) } });
    showRun(run);
    let done = false;
    if (window.io) {  // pushes are hints; the row polled below is the truth
      const sock = window.io("/staff", { transports: ["websocket", "polling"] });
      sock.on("assembly_progress", (p) => { if (p.run_id === run.id && !done) showRun(Object.assign({}, run, p)); });
      setTimeout(() => sock.close(), 120000);
    }
    const poll = setInterval(async () => { const r = await skillcert.api("/itembank/runs/" + run.id); if (!done) showRun(r); }, 700);
    try {
      const final = await skillcert.api(`/itembank/runs/${run.id}/start`, { method: "POST" });
      let r = final;
      while (!["done", "infeasible", "failed"].includes(r.status)) { await new Promise((ok) => setTimeout(ok, 700)); r = await skillcert.api("/itembank/runs/" + run.id); }
      done = true; showRun(r);
    } finally { clearInterval(poll); }
  }
  const act = (fn) => async () => { err.textContent = ""; try { await fn(); } catch (e) { err.textContent = e.message; } };
  form.addEventListener("input", schedule);
  document.getElementById("cells").addEventListener("input", schedule);
  $("standard_id").addEventListener("change", async () => { await loadStandard(); drawRows(spec().cells); coverage(); });
  const sb = document.getElementById("save-bp"); if (sb) sb.onclick = act(async () => { await save(); err.textContent = ib.msg("已保存", "Saved"); });
  const ab = document.getElementById("assemble"); if (ab) ab.onclick = act(assemble);
  load();
})();
