// Certificate batches: poll the progress of running batches until they finish.
(function () {
  "use strict";
  const running = () => Array.from(document.querySelectorAll(".batch[data-batch-id]"))
    .filter((el) => el.dataset.status === "queued" || el.dataset.status === "running");
  async function tick() {
    const els = running();
    if (!els.length) return;
    for (const el of els) {
      try {
        const b = await window.skillcert.api("/certificate-batches/" + el.dataset.batchId);
        el.dataset.status = b.status;
        el.querySelector(".batch-status").textContent = b.status;
        const bar = el.querySelector("progress");
        bar.max = b.requested; bar.value = b.pdfs;
        el.querySelector(".batch-counts").textContent =
          `${b.issued}/${b.requested} issued, ${b.pdfs} PDF, ${b.failed} failed`;
      } catch (e) { /* keep polling; a transient error is not fatal */ }
    }
    setTimeout(tick, 2000);
  }
  setTimeout(tick, 1000);
})();
