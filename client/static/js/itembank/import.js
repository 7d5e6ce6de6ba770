(function () {
  "use strict";
  const form = document.getElementById("import-form");
  if (!form) return;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const out = document.getElementById("import-result"); const table = document.getElementById("import-errors");
    out.textContent = ""; table.hidden = true;
    const res = await fetch("/api/v1/itembank/items/import", { method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "X-CSRFToken": skillcert.csrfToken, "Accept": "application/json" } });
    const data = await res.json();
    if (res.ok) { out.textContent = ib.msg(`已导入 ${data.created} 道试题（草稿）`, `${data.created} items imported as drafts`); return; }
    out.textContent = data.error.message;
    const errors = data.error.errors || [];
    table.querySelector("tbody").innerHTML = errors.map((x) => `<tr><td class="num">${x.row}</td><td>${ib.esc(x.column)}</td><td>${ib.esc(x.message)}</td></tr>`).join("");
    table.hidden = !errors.length;
  });
})();
