(function () {
  "use strict";
  const root = document.getElementById("editor");
  const form = document.getElementById("item-form");
  let itemId = root.dataset.itemId ? Number(root.dataset.itemId) : null;
  const $ = (n) => form.elements[n];
  const errorEl = document.getElementById("form-error");

  async function loadElements() {
    const std = await skillcert.api("/itembank/standards/" + $("standard_id").value);
    const current = $("element_code").value;
    $("element_code").innerHTML = std.elements.map((e) => `<option value="${ib.esc(e.code)}">${ib.esc(e.code)} ${ib.esc(e.name)}</option>`).join("");
    if (current) $("element_code").value = current;
  }
  function rubricFromText() {
    const criteria = $("rubric_text").value.split("\n").filter((l) => l.trim()).map((line) => {
      const [name, max, rules] = line.split("|");
      return { name: (name || "").trim(), max_points: (max || "").trim(),
        deductions: (rules || "").split(";").filter((d) => d.trim()).map((d) => { const i = d.lastIndexOf(":"); return { rule: d.slice(0, i).trim(), points: d.slice(i + 1).trim() }; }) };
    });
    return { criteria, time_minutes: $("time_minutes").value, equipment: $("equipment").value };
  }
  function fields() {
    const t = $("item_type").value;
    const out = { element_code: $("element_code").value, levels: $("levels").value, source: $("source").value,
      stem: $("stem").value, explanation: $("explanation").value, enemy_group: $("enemy_group").value || null };
    for (const k of ["p", "irt_a", "irt_b", "irt_c"]) out[k] = $(k).value === "" ? null : $(k).value;
    if (t === "single" || t === "multiple") out.options = $("options").value.split("\n").filter((l) => l.trim());
    if (t !== "practical") out.answer = $("answer").value; else out.rubric = rubricFromText();
    return out;
  }
  function toggle() {
    const t = $("item_type").value;
    document.getElementById("options-box").hidden = !(t === "single" || t === "multiple");
    document.getElementById("rubric-box").hidden = t !== "practical";
  }
  let timer = null;
  function schedulePreview() { clearTimeout(timer); timer = setTimeout(preview, 250); }
  async function preview() {
    const res = await skillcert.api("/itembank/items/preview", { method: "POST", body: Object.assign({ item_type: $("item_type").value }, fields()) });
    document.getElementById("preview").innerHTML = ib.renderItem(res.view);
    ib.showErrors(document.getElementById("problems"), res.problems);
  }
  function fill(item) {
    const v = item.head;
    $("item_type").value = item.item_type; $("item_type").disabled = true; $("standard_id").value = item.standard_id;
    document.getElementById("item-code").textContent = `${item.code} v${v.number}`;
    document.getElementById("item-status").textContent = ib.statusName(item.status);
    $("element_code").value = v.element_code; $("levels").value = (v.levels || []).join(","); $("source").value = v.source;
    $("stem").value = v.stem; $("explanation").value = v.explanation || ""; $("enemy_group").value = v.enemy_group || "";
    $("options").value = (v.options || []).map((o) => o.html).join("\n");
    const a = v.answer;
    $("answer").value = item.item_type === "fill" ? (a || []).map((b) => b.join("|")).join(";") : (item.item_type === "judge" ? (a === "T" ? "对" : "错") : (a || ""));
    for (const k of ["p", "irt_a", "irt_b", "irt_c"]) $(k).value = v[k] == null ? "" : v[k];
    if (v.rubric) {
      $("rubric_text").value = v.rubric.criteria.map((c) => `${c.name}|${c.max_points}|` + c.deductions.map((d) => `${d.rule}:${d.points}`).join(";")).join("\n");
      $("time_minutes").value = v.rubric.time_minutes || ""; $("equipment").value = (v.rubric.equipment || []).join("、");
    }
    document.getElementById("history").innerHTML = item.history.map((h) => `<li><span class="mono">${ib.esc(h.at.slice(0, 16))}</span> ${ib.esc(h.actor)} · ${ib.esc(h.action)}</li>`).join("");
    toggle();
  }
  async function reload() { if (!itemId) return; const item = await skillcert.api("/itembank/items/" + itemId); await loadElements(); fill(item); preview(); }
  async function act(fn) {
    errorEl.textContent = "";
    try { await fn(); } catch (e) { errorEl.textContent = e.message; }
  }
  form.addEventListener("input", schedulePreview);
  $("item_type").addEventListener("change", () => { toggle(); schedulePreview(); });
  $("standard_id").addEventListener("change", loadElements);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    act(async () => {
      if (itemId) await skillcert.api("/itembank/items/" + itemId, { method: "PUT", body: fields() });
      else {
        const it = await skillcert.api("/itembank/items", { method: "POST", body: Object.assign({ standard_id: Number($("standard_id").value), item_type: $("item_type").value }, fields()) });
        itemId = it.id; history.replaceState(null, "", "/itembank/items/" + itemId);
      }
      await reload();
    });
  });
  const on = (id, fn) => { const b = document.getElementById(id); if (b) b.addEventListener("click", () => act(fn)); };
  on("submit-review", async () => { await skillcert.api(`/itembank/items/${itemId}/submit`, { method: "POST" }); await reload(); });
  on("approve", async () => { await skillcert.api(`/itembank/items/${itemId}/review`, { method: "POST", body: { decision: "approve", comment: document.getElementById("review-comment").value } }); await reload(); });
  on("reject", async () => { await skillcert.api(`/itembank/items/${itemId}/review`, { method: "POST", body: { decision: "reject", comment: document.getElementById("review-comment").value } }); await reload(); });
  toggle();
  loadElements().then(() => (itemId ? reload() : preview()));
})();
