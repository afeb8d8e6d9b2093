// Forms: the error summary of any form page, and the rows of the web form (schools/fill.html). Without JavaScript
// the pages work as well: 增加一行 sends the form back with one more row, and the error summary takes the focus
// through its autofocus attribute.
(function () {
  // After a failed submit the focus is on the summary of the errors; each of its links moves the focus to its
  // field and shows the field's label above it.
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var target = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!target) { return; }
      event.preventDefault();
      var around = target.closest(".field, td, fieldset") || target;
      around.scrollIntoView();
      target.focus({preventScroll: true});
    });
  }

  var form = document.querySelector("form.fill");
  if (!form) { return; }
  var status = document.getElementById("fill-status");

  // 增加一行 adds the row in place: a copy of the last row, emptied and renumbered, and the focus on its first box.
  function rename(value, from, to) { return value.split(from).join(to); }
  function addRow(array) {
    var body = document.getElementById("rows-" + array).tBodies[0];
    var count = form.querySelector("input[name='" + array + "-count']");
    var index = body.rows.length;
    var row = body.rows[index - 1].cloneNode(true);
    var from = array + "-" + (index - 1) + "-", to = array + "-" + index + "-";
    row.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
    row.querySelectorAll("[name], [id], [for], [aria-describedby]").forEach(function (el) {
      ["name", "id", "for"].forEach(function (attr) {
        if (el.hasAttribute(attr)) { el.setAttribute(attr, rename(el.getAttribute(attr), from, to)); }
      });
      el.removeAttribute("aria-describedby");  // a new row has no error yet, and cells show no hints
      el.removeAttribute("aria-invalid");
      el.removeAttribute("required");  // only the first rows a form asks for are required
      el.removeAttribute("autofocus");
    });
    row.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
    row.querySelectorAll("input, textarea").forEach(function (el) { el.value = ""; });
    row.querySelectorAll("select").forEach(function (el) { el.selectedIndex = 0; });
    row.querySelectorAll(".cell-label .visually-hidden").forEach(function (el) {
      el.textContent = el.textContent.replace(/第\d+行/, "第" + (index + 1) + "行");
    });
    row.cells[0].childNodes.forEach(function (node) {
      if (node.nodeType === Node.TEXT_NODE) { node.textContent = String(index + 1); }
    });
    body.appendChild(row);
    count.value = String(index + 1);
    var first = row.querySelector("input, select, textarea");
    if (first) { first.focus(); }
    status.textContent = "已增加第" + (index + 1) + "行。";
  }
  form.querySelectorAll("button[data-add-row]").forEach(function (button) {
    button.type = "button";  // never the form's submit, and never pressed by Enter in a text box
    button.removeAttribute("name");
    button.addEventListener("click", function () { addRow(button.getAttribute("data-add-row")); });
  });
})();
