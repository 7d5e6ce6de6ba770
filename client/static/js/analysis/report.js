// Item analysis report: score histogram, item characteristic curves and test information (Chart.js).
(function () {
  "use strict";
  const node = document.getElementById("analysis-data");
  if (!node || typeof Chart === "undefined") return;
  const data = JSON.parse(node.textContent);
  const hist = data.histogram;
  if (hist && document.getElementById("histogram")) {
    const labels = hist.counts.map((_, i) => `${Math.round(hist.edges[i])}–${Math.round(hist.edges[i + 1])}%`);
    new Chart(document.getElementById("histogram"), {
      type: "bar", data: {labels, datasets: [{label: "n", data: hist.counts}]},
      options: {animation: false, plugins: {legend: {display: false}}},
    });
  }
  const c = data.curves;
  if (c && c.items.length && document.getElementById("icc")) {
    const theta = c.theta;
    new Chart(document.getElementById("icc"), {
      type: "line",
      data: {labels: theta, datasets: c.items.map((it) => ({label: `${it.position}. ${it.code}`, data: it.p,
        pointRadius: 0, borderWidth: 1.5}))},
      options: {animation: false, scales: {y: {min: 0, max: 1, title: {display: true, text: "P(θ)"}},
        x: {title: {display: true, text: "θ"}, ticks: {maxTicksLimit: 9}}}},
    });
    new Chart(document.getElementById("information"), {
      type: "line",
      data: {labels: theta, datasets: [{label: "I(θ)", data: c.information, pointRadius: 0, borderWidth: 2}]},
      options: {animation: false, scales: {x: {title: {display: true, text: "θ"}, ticks: {maxTicksLimit: 9}}}},
    });
  }
})();
