(function () {
  "use strict";
  const runId = document.getElementById("comparison").dataset.runId;
  const colors = ["#1f6feb", "#d9480f", "#2f9e44", "#862e9c", "#e67700", "#0b7285"];
  async function load() {
    const c = await skillcert.api(`/itembank/runs/${runId}/comparison`);
    const st = c.stats;
    document.getElementById("form-rows").innerHTML = c.papers.map((p, i) => `<tr><td><a href="/itembank/papers/${p.id}" data-testid="paper-link">${ib.esc(p.title)}</a></td>
      <td class="num">${st.n_items[i]}</td><td class="num">${st.points[i]}</td><td class="num">${st.mean_p[i].toFixed(3)}</td>
      <td data-testid="form-status">${ib.esc(p.status)}</td>
      <td>${ib.data.role === "item_writer" && (p.status === "draft" || p.status === "rejected") ? `<button type="button" data-submit="${p.id}" data-testid="submit-paper">${ib.msg("送审", "Send to review")}</button>` : ""}</td></tr>`).join("");
    const labels = c.papers.map((p) => p.form_label);
    document.getElementById("overlap").innerHTML = "<tr><th></th>" + labels.map((l) => `<th>${l}</th>`).join("") + "</tr>" +
      st.overlap.map((row, i) => `<tr><th>${labels[i]}</th>` + row.map((n, j) => `<td class="num ${i !== j && n > 0 ? "short" : ""}">${n}</td>`).join("") + "</tr>").join("");
    if (window.Chart) {
      for (const id of ["p-chart", "tif-chart"]) { const old = Chart.getChart(document.getElementById(id)); if (old) old.destroy(); }
      new Chart(document.getElementById("p-chart"), { type: "bar", data: { labels: c.p_bins,
        datasets: c.forms.map((f, i) => ({ label: f.form_label, data: f.p_histogram, backgroundColor: colors[i % colors.length] })) },
        options: { animation: false, plugins: { title: { display: true, text: ib.msg("各难度段题数", "Items per difficulty band") } } } });
      new Chart(document.getElementById("tif-chart"), { type: "line", data: { labels: st.thetas.map((t) => t.toFixed(2)),
        datasets: st.tif.map((curve, i) => ({ label: labels[i], data: curve, borderColor: colors[i % colors.length], fill: false, pointRadius: 0 })) },
        options: { animation: false, scales: { x: { title: { display: true, text: "θ" } }, y: { title: { display: true, text: ib.msg("测验信息量", "test information") } } } } });
    }
    document.querySelectorAll("[data-submit]").forEach((b) => b.addEventListener("click", async () => {
      await skillcert.api(`/itembank/papers/${b.dataset.submit}/submit`, { method: "POST", body: {} }); load();
    }));
  }
  load();
})();
