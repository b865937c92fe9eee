// Reports page: draws each <canvas data-chart="ID"> from the JSON in <script id="ID">
// (written by Django's json_script). The table beside each chart holds the same numbers.
(function () {
  "use strict";
  if (typeof Chart === "undefined") {
    return;
  }
  // Colour-blind-safe (Okabe–Ito), in the order of the datasets.
  var palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000"];
  var body = window.getComputedStyle(document.body);
  Chart.defaults.font.family = body.fontFamily;
  Chart.defaults.color = body.color;

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var line = canvas.dataset.type === "line";
    var stacked = canvas.dataset.stacked === "1";
    var horizontal = canvas.dataset.horizontal === "1";
    data.datasets.forEach(function (dataset, i) {
      var colour = palette[i % palette.length];
      dataset.backgroundColor = colour;
      dataset.borderColor = colour;
      if (line) {
        // Straight segments: a smoothed curve would dip below zero between small counts.
        dataset.tension = 0;
        dataset.pointRadius = 3;
      } else {
        dataset.maxBarThickness = 28;
      }
    });
    if (horizontal) {
      // One row per province, whatever their number (set through the CSSOM: CSP-safe).
      canvas.parentNode.style.height = Math.max(180, data.labels.length * 24 + 90) + "px";
    }
    var valueAxis = { beginAtZero: true, stacked: stacked, ticks: { precision: 0 } };
    // Every label shown: a province silently skipped would read as "none there".
    var labelAxis = { stacked: stacked, ticks: { autoSkip: !horizontal } };
    new Chart(canvas, {
      type: line ? "line" : "bar",
      data: data,
      options: {
        maintainAspectRatio: false,
        indexAxis: horizontal ? "y" : "x",
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom" } },
        scales: horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
      },
    });
  });
})();
