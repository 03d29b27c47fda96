// The rule form's Preview: post the form as it is, show the backtest and its chart.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("alerts-preview-button");
    if (!button) return;
    var result = document.getElementById("alerts-preview-result");
    var busy = document.querySelector(".alerts-preview-busy");
    button.addEventListener("click", function () {
      var form = button.closest("form");
      // The admin's two-box selectors only mark their choices as selected on submit.
      form.querySelectorAll("select.filtered[id$='_to'] option").forEach(function (option) {
        option.selected = true;
      });
      var data = new FormData(form);
      data.set("rule_id", button.dataset.ruleId || "");
      busy.hidden = false;
      button.disabled = true;
      fetch(button.dataset.url, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" },
      })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          result.innerHTML = answer.html;
          var target = result.querySelector(".alerts-preview-figure");
          if (answer.figure && target && window.perfmonCharts) {
            window.perfmonCharts.draw(target, answer.figure);
          }
        })
        .catch(function (error) {
          result.textContent = "The preview failed: " + error;
        })
        .finally(function () {
          busy.hidden = true;
          button.disabled = false;
        });
    });
  });
})();
