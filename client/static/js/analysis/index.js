// "Analyse this session": run the analysis through the API, then reload to list the reports.
document.querySelectorAll("button.analyse").forEach((btn) => {
  btn.addEventListener("click", async () => {
    btn.disabled = true;
    const msg = document.getElementById("analysis-message");
    try {
      await window.skillcert.api(`/analysis/sessions/${btn.dataset.session}/analyse`, {method: "POST", body: {}});
      window.location.reload();
    } catch (e) {
      msg.textContent = (e && e.message) || String(e);
      btn.disabled = false;
    }
  });
});
