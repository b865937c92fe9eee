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
        dataset.tension = 0.2;
        dataset.pointRadius = 3;
      }
    });
    var valueAxis = { beginAtZero: true, stacked: stacked, ticks: { precision: 0 } };
    var labelAxis = { stacked: stacked };
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
