(function () {
  "use strict";
  const id = document.getElementById("paper").dataset.paperId;
  const err = document.getElementById("paper-error");
  document.querySelectorAll("[data-action]").forEach((b) => b.addEventListener("click", async () => {
    err.textContent = "";
    const a = b.dataset.action;
    const comment = (document.getElementById("paper-comment") || {}).value || "";
    try {
      if (a === "submit") await skillcert.api(`/itembank/papers/${id}/submit`, { method: "POST", body: {} });
      if (a === "approve" || a === "reject") await skillcert.api(`/itembank/papers/${id}/review`, { method: "POST", body: { decision: a, comment } });
      if (a === "seal") await skillcert.api(`/itembank/papers/${id}/seal`, { method: "POST" });
      location.reload();
    } catch (e) { err.textContent = e.message; }
  }));
})();
