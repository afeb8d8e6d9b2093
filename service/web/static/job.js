// Live progress of a background job page (bulk ingest, 资料汇编): polls the page's JSON, moves the progress bar,
// and when the job ends puts the finished page's results in place without reloading, so that the state line (a
// live region) can announce 已完成 or 失败 to a screen reader. Without JavaScript the page's <noscript> refresh
// does the same job.
(function () {
  var bar = document.getElementById("job-progress");
  if (!bar) { return; }
  var states = JSON.parse(bar.getAttribute("data-states"));
  var url = window.location.pathname;
  function text(id, value) {
    var el = document.getElementById(id);
    if (el && el.textContent !== String(value)) { el.textContent = value; }
  }
  function move(job) {
    var pct = job.total ? Math.floor(100 * job.done / job.total) : (job.state === "done" ? 100 : 0);
    text("job-done", job.done);
    text("job-total", job.total);
    bar.setAttribute("aria-valuenow", pct);
    bar.setAttribute("aria-valuetext", pct + "%（" + job.done + " / " + job.total + "）");
    bar.firstElementChild.style.width = pct + "%";
  }
  function finish(job) {
    fetch(url, {headers: {"Accept": "text/html"}}).then(function (r) { return r.text(); }).then(function (html) {
      var done = new DOMParser().parseFromString(html, "text/html");
      ["job-details", "job-items-box"].forEach(function (id) {
        var now = document.getElementById(id), then = done.getElementById(id);
        if (now && then) { now.replaceWith(document.importNode(then, true)); }
      });
      move(job);
      text("job-state", states[job.state] || job.state);
    }).catch(function () { window.location.reload(); });
  }
  function tick() {
    fetch(url + "?format=json", {headers: {"Accept": "application/json"}}).then(function (r) { return r.json(); })
      .then(function (job) {
        if (job.state === "done" || job.state === "failed") { finish(job); return; }
        move(job);
        text("job-state", states[job.state] || job.state);
        setTimeout(tick, 500);
      }).catch(function () { setTimeout(tick, 2000); });
  }
  setTimeout(tick, 300);
})();
