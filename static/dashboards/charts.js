// Draws the page's charts from their JSON data blocks (see the `plotly` template filter),
// and the figures other scripts hand it, with one configuration that sends nothing away.
(function () {
  "use strict";
  var CONFIG = {
    displaylogo: false,
    responsive: true,
    // plotly.js offers to upload a chart's data to Plotly's cloud ("Share chart..."):
    // never from here. Older versions called it "Edit in Chart Studio" or a link.
    showSendToCloud: false,
    showEditInChartStudio: false,
    showLink: false,
    plotlyServerURL: "",
    modeBarButtonsToRemove: ["sendChartToCloud"],
  };

  function draw(target, figure) {
    return window.Plotly.newPlot(target, figure.data || [], figure.layout || {}, CONFIG);
  }

  function drawAll() {
    document.querySelectorAll("[data-figure]").forEach(function (target) {
      var source = document.getElementById(target.dataset.figure);
      if (source) draw(target, JSON.parse(source.textContent));
    });
  }

  window.perfmonCharts = { draw: draw };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();
