// Sorting and filtering of the cohort table. Allowed by its sha256 in the page's CSP;
// it reads and reorders the table only, and fetches nothing.
(function () {
  "use strict";
  var table = document.getElementById("cohort-table");
  var filter = document.getElementById("cohort-filter");
  var count = document.getElementById("cohort-count");
  if (!table) { return; }
  var body = table.tBodies[0];
  var headers = table.querySelectorAll("thead th[data-column]");

  function key(row, column) {
    var cell = row.cells[column];
    var value = cell.getAttribute("data-sort");
    if (value === null) { value = cell.textContent.trim(); }
    var number = Number(value);
    return value !== "" && !isNaN(number) ? number : value.toLowerCase();
  }

  function sortBy(header) {
    var column = Number(header.getAttribute("data-column"));
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, column), y = key(b, column);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      var order = x < y ? -1 : x > y ? 1 : 0;
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    headers.forEach(function (other) { other.setAttribute("aria-sort", "none"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  headers.forEach(function (header) {
    var button = header.querySelector("button");
    if (button) { button.addEventListener("click", function () { sortBy(header); }); }
  });

  function applyFilter() {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var text = row.textContent.toLowerCase();
      var match = words.every(function (word) { return text.indexOf(word) !== -1; });
      row.hidden = !match;
      if (match) { shown += 1; }
    });
    count.textContent = shown + " of " + body.rows.length + " patients shown";
  }

  if (filter) {
    document.getElementById("cohort-tools").hidden = false;
    filter.addEventListener("input", applyFilter);
    applyFilter();
  }
})();
