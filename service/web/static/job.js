// Live progress of a background job page (bulk ingest, 资料汇编): polls the page's JSON and reloads when it ends.
// Without JavaScript the page's <noscript> refresh does the same job.
(function () {
  var root = document.getElementById("job-progress");
  if (!root) { return; }
  var states = JSON.parse(root.getAttribute("data-states"));
  var url = window.location.pathname + "?format=json";
  function tick() {
    fetch(url, {headers: {"Accept": "application/json"}}).then(function (r) { return r.json(); }).then(function (job) {
      var pct = job.total ? Math.floor(100 * job.done / job.total) : (job.state === "done" ? 100 : 0);
      document.getElementById("job-state").textContent = states[job.state] || job.state;
      document.getElementById("job-done").textContent = job.done;
      document.getElementById("job-total").textContent = job.total;
      root.setAttribute("aria-valuenow", pct);
      root.firstElementChild.style.width = pct + "%";
      if (job.state === "done" || job.state === "failed") { window.location.reload(); } else { setTimeout(tick, 500); }
    }).catch(function () { setTimeout(tick, 2000); });
  }
  setTimeout(tick, 300);
})();
