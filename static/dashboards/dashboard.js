// Dashboard frame behaviour: custom range inputs, auto-refresh, sortable tables.
(function () {
  "use strict";
  var REFRESH_KEY = "perfmon.autoRefresh";
  var REFRESH_MS = 60000;

  function setupRange(form) {
    var select = form.querySelector("[data-range-select]");
    var custom = form.querySelector("[data-custom-range]");
    if (!select || !custom) return;
    select.addEventListener("change", function () {
      custom.hidden = select.value !== "custom";
      if (select.value !== "custom") form.submit();
    });
  }

  function setupRefresh(box) {
    var timer = null;
    function schedule() {
      clearTimeout(timer);
      if (box.checked) {
        timer = setTimeout(function () {
          if (document.visibilityState === "visible") window.location.reload();
          else schedule();
        }, REFRESH_MS);
      }
    }
    box.checked = localStorage.getItem(REFRESH_KEY) === "1";
    box.addEventListener("change", function () {
      localStorage.setItem(REFRESH_KEY, box.checked ? "1" : "0");
      schedule();
    });
    schedule();
  }

  function setupSort(table) {
    var body = table.tBodies[0];
    table.querySelectorAll("th button[data-sort-column]").forEach(function (button) {
      button.addEventListener("click", function () {
        var th = button.parentElement;
        var index = Number(button.dataset.sortColumn);
        var numeric = button.hasAttribute("data-numeric");
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[index].dataset.sortValue, y = b.cells[index].dataset.sortValue;
          var cmp;
          if (numeric) {
            x = x === "" ? -Infinity : Number(x); y = y === "" ? -Infinity : Number(y);
            cmp = x - y;
          } else {
            cmp = x.localeCompare(y);
          }
          return ascending ? cmp : -cmp;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  document.querySelectorAll(".dashboard-toolbar").forEach(setupRange);
  document.querySelectorAll("[data-auto-refresh]").forEach(setupRefresh);
  document.querySelectorAll("table[data-sortable]").forEach(setupSort);
})();
