(function () {
  "use strict";
  const form = document.getElementById("filters");
  let offset = 0; const limit = 50;
  async function load() {
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(form).entries()) if (v) params.set(k, v);
    params.set("limit", limit); params.set("offset", offset);
    const res = await skillcert.api("/itembank/items?" + params.toString());
    document.getElementById("bank-total").textContent = ib.msg(`共 ${res.total} 道试题`, `${res.total} items`) + " · " +
      Object.entries(res.counts).map(([k, n]) => `${ib.statusName(k)} ${n}`).join(" · ");
    document.getElementById("bank-rows").innerHTML = res.items.map((it) => `<tr>
      <td class="mono"><a href="/itembank/items/${it.id}">${ib.esc(it.code)}</a></td><td>${ib.typeName(it.item_type)}</td>
      <td class="mono">${ib.esc(it.element_code)}</td><td>${ib.esc(it.stem_text)}</td>
      <td class="num">${it.difficulty.p == null ? "" : it.difficulty.p}</td><td>${ib.statusName(it.status)}</td>
      <td class="num">${it.version}${it.approved_version && it.approved_version !== it.version ? " (" + it.approved_version + ")" : ""}</td>
      <td class="num">${it.exposure_count}</td></tr>`).join("");
    document.getElementById("pageinfo").textContent = `${offset + 1}–${Math.min(offset + limit, res.total)} / ${res.total}`;
    document.getElementById("prev").disabled = offset === 0;
    document.getElementById("next").disabled = offset + limit >= res.total;
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); offset = 0; load(); });
  document.getElementById("prev").onclick = () => { offset = Math.max(0, offset - limit); load(); };
  document.getElementById("next").onclick = () => { offset += limit; load(); };
  load();
})();
