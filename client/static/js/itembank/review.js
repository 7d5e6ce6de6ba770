(function () {
  "use strict";
  async function load() {
    const q = await skillcert.api("/itembank/review-queue");
    const reviewer = ib.data.role === "item_reviewer";
    document.getElementById("paper-rows").innerHTML = q.papers.map((p) => `<tr><td><a href="/itembank/papers/${p.id}" data-testid="queue-paper">${ib.esc(p.title)}</a></td>
      <td>${ib.esc(p.status)}</td><td class="num">${p.n_items}</td><td class="mono">${ib.esc(p.digest.slice(0, 12))}…</td><td>${p.own && reviewer ? ib.msg("本人组卷", "your own") : ""}</td></tr>`).join("") ||
      `<tr><td colspan="5" class="empty">${ib.msg("没有待审试卷", "No paper waiting")}</td></tr>`;
    document.getElementById("item-rows").innerHTML = q.items.map((it) => `<tr><td>${reviewer && !it.own ? `<input type="checkbox" value="${it.id}">` : ""}</td>
      <td class="mono"><a href="/itembank/items/${it.id}">${ib.esc(it.code)}</a></td><td>${ib.typeName(it.item_type)}</td><td class="mono">${ib.esc(it.element_code)}</td>
      <td>${ib.esc(it.stem_text)}</td><td>${it.own ? ib.msg("本人编写", "your own") : ""}</td></tr>`).join("") ||
      `<tr><td colspan="6" class="empty">${ib.msg("没有待审试题", "No item waiting")}</td></tr>`;
  }
  const btn = document.getElementById("approve-selected");
  if (btn) btn.onclick = async () => {
    const ids = [...document.querySelectorAll("#item-rows input:checked")].map((c) => Number(c.value));
    if (ids.length) { await skillcert.api("/itembank/items/review", { method: "POST", body: { item_ids: ids, decision: "approve" } }); load(); }
  };
  load();
})();
