// Charts of the asset page, from the JSON block the server rendered (no inline script: CSP script-src 'self').
(function () {
  "use strict";
  var node = document.getElementById("chart-data");
  if (!node || typeof window.Chart === "undefined") return;
  var data = JSON.parse(node.textContent);
  var palette = ["#0b5cad", "#1a7f37", "#b35900", "#8250df", "#b42318", "#0a7b83", "#6e7781", "#bf8700",
                 "#cf222e", "#116329", "#953800"];
  var Chart = window.Chart;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;

  function scaled(amount) { return Number(amount) / Math.pow(10, data.decimals || 0); }

  function doughnut(id, rows) {
    var el = document.getElementById(id);
    if (!el || !rows.length) return;
    new Chart(el, {
      type: "doughnut",
      data: { labels: rows.map(function (r) { return r.label; }),
              datasets: [{ data: rows.map(function (r) { return scaled(r.amount); }),
                           backgroundColor: rows.map(function (_, i) { return palette[i % palette.length]; }) }] },
      options: { responsive: true, maintainAspectRatio: true, plugins: {
        legend: { position: "bottom", labels: { boxWidth: 12 } },
        tooltip: { callbacks: { label: function (c) { return c.label + ": " + rows[c.dataIndex].percent + " %"; } } } } }
    });
  }
  doughnut("chart-holders", data.holders);
  doughnut("chart-countries", data.countries);

  var hist = document.getElementById("chart-history");
  if (hist && data.history.length) {
    new Chart(hist, {
      type: "line",
      data: { labels: data.history.map(function (p) { return String(p.block); }),
              datasets: [
                { label: "holders", data: data.history.map(function (p) { return p.holders; }), yAxisID: "y",
                  borderColor: palette[0], backgroundColor: palette[0], stepped: true },
                { label: "top holder %", data: data.history.map(function (p) { return Number(p.top); }), yAxisID: "y1",
                  borderColor: palette[2], backgroundColor: palette[2], stepped: true }] },
      options: { responsive: true, maintainAspectRatio: false, interaction: { mode: "index", intersect: false },
        scales: { x: { title: { display: true, text: "block" } },
                  y: { beginAtZero: true, title: { display: true, text: "holders" }, ticks: { precision: 0 } },
                  y1: { position: "right", beginAtZero: true, suggestedMax: 10, grid: { drawOnChartArea: false },
                        title: { display: true, text: "top holder %" } } },
        plugins: { tooltip: { callbacks: { title: function (items) {
          var p = data.history[items[0].dataIndex]; return "block " + p.block + " (" + p.date + ")"; } } } } }
    });
  }

  var res = document.getElementById("chart-reserve");
  if (res && data.reserve) {
    new Chart(res, {
      type: "bar",
      data: { labels: ["attested reserve", "supply"],
              datasets: [{ label: data.unit, data: [scaled(data.reserve.reserve), scaled(data.reserve.supply)],
                           backgroundColor: [palette[1], palette[0]] }] },
      options: { indexAxis: "y", responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } },
                 scales: { x: { beginAtZero: true, title: { display: true, text: data.unit } } } }
    });
  }
})();
