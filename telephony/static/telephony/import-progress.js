/* The progress bar of a CSV import: polls the import's progress.json while it is being checked or
   committed (the page reloads when that ends, to show the preview or the result), then follows its
   provisioning jobs (pushed, failed, remaining) until none remains. No inline script: the page's
   content security policy allows only files like this one. It may be loaded in <head>: it starts
   once the page has been parsed. */
(function () {
  "use strict";
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }

  function start() {
    var box = document.getElementById("import-progress");
    if (!box || !window.fetch) { return; }
    var BUSY = ["uploaded", "validating", "committing"];
    var startedBusy = BUSY.indexOf(box.dataset.status) >= 0;
    var part = function (name) { return box.querySelector('[data-part="' + name + '"]'); };
    var delay = 1000;

    function show(data) {
      var rows = part("rows");
      if (data.busy) {
        // phase_line: the whole line, in the visitor's language (the server writes it)
        part("phase").textContent = data.phase_line || "";
        rows.hidden = false;
        if (data.total) { rows.max = data.total; rows.value = data.done; } else { rows.removeAttribute("value"); }
      } else {
        rows.hidden = true;
        part("phase").textContent = data.phase_line || "";
      }
      if (data.jobs) {
        part("jobs-box").hidden = false;
        var jobs = part("jobs");
        jobs.max = Math.max(1, data.jobs.total);
        jobs.value = data.jobs.total - data.jobs.remaining;
        part("pushed").textContent = data.jobs.pushed;
        part("failed").textContent = data.jobs.failed;
        part("remaining").textContent = data.jobs.remaining;
        var failures = part("failures");
        if (data.failures_url) { failures.href = data.failures_url; }
        failures.hidden = data.jobs.failed === 0;
      }
    }

    function poll() {
      fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
        .then(function (data) {
          show(data);
          if (startedBusy && !data.busy) { window.location.reload(); return; }
          if (data.busy || (data.jobs && !data.finished)) { window.setTimeout(poll, delay); }
        })
        .catch(function () { delay = Math.min(delay * 2, 15000); window.setTimeout(poll, delay); });
    }
    poll();
  }
})();
