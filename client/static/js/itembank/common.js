// Item-bank pages: shared data and helpers.
(function () {
  "use strict";
  const el = document.getElementById("itembank-data");
  const data = el ? JSON.parse(el.textContent) : {};
  const zh = data.locale !== "en";
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  window.ib = {
    data, zh, esc,
    typeName: (t) => (data.item_types && data.item_types[t] ? data.item_types[t][zh ? 0 : 1] : t),
    statusName: (s) => (data.statuses && data.statuses[s] ? data.statuses[s][zh ? 0 : 1] : s),
    msg: (zhText, enText) => (zh ? zhText : enText),
    // Render a candidate view of one item (same shape as itembank.items.candidate_item).
    renderItem(view) {
      let html = `<div class="stem">${view.stem || ""}</div>`;
      if (view.options) {
        const multi = view.item_type === "multiple";
        html += '<ol class="options" type="A">' + view.options.map((o) =>
          `<li><label><input type="${multi ? "checkbox" : "radio"}" name="pv" disabled> ${view.item_type === "judge" ? esc(o.html) : o.html}</label></li>`).join("") + "</ol>";
      }
      if (view.blanks) html += `<p class="muted">${this.msg("共 " + view.blanks + " 个空", view.blanks + " blank(s)")}</p>`;
      if (view.task) {
        html += `<p>${this.msg("考核时间", "Time")}: ${esc(view.task.time_minutes)} min · ${esc((view.task.equipment || []).join("、"))}</p>`;
        html += "<ul>" + (view.task.criteria || []).map((c) => `<li>${esc(c.name)} (${esc(c.max_points)})</li>`).join("") + "</ul>";
      }
      return html;
    },
    showErrors(listEl, problems) {
      listEl.innerHTML = (problems || []).map((p) => `<li><b>${esc(p.field)}</b>: ${esc(p.message)}</li>`).join("");
    },
  };
})();
