// Quarterly quality report: one bar chart per available figure, drawn from the JSON embedded in the page.
(function () {
  "use strict";
  const node = document.getElementById("quality-data");
  if (!node || !window.Chart) return;
  const data = JSON.parse(node.textContent);
  const palette = ["#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b7791f", "#9b2c2c", "#4a5568"];
  Object.entries(data).forEach(([key, fig]) => {
    const canvas = document.getElementById("chart-" + key);
    if (!canvas) return;
    const numeric = fig.values.map((v) => (typeof v === "number" ? v : 0));
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: fig.labels, datasets: [{ data: numeric, backgroundColor: fig.labels.map((_, i) => palette[i % palette.length]) }] },
      options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } }, animation: false },
    });
  });
})();
