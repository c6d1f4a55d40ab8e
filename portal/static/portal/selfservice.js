/* The self-service site's own script: no inline code anywhere (the content security policy forbids it).
 *
 * 1. Push state, live: a section with data-push-status-url polls that JSON endpoint while one of its
 *    changes is still pending or running, and redraws its rows (and the page's sync badge) from it.
 * 2. Next free internal number: an entity <select data-next-numbers> fills the internal number of
 *    its form with the chosen entity's next free number, unless the person typed one of their own.
 */
"use strict";

(function () {
  const FIRST_DELAY_MS = 800;
  const LONGEST_DELAY_MS = 5000;
  const GIVE_UP_AFTER_MS = 10 * 60 * 1000;

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function pushRow(job, showTarget) {
    const row = element("tr");
    row.dataset.jobId = job.id;
    row.append(element("td", "", job.what));
    if (showTarget) row.append(element("td", "", job.target));
    const state = element("td");
    const badge = element("span", "badge " + job.badge, job.status_label);
    badge.dataset.status = job.status;
    state.append(badge);
    if (job.note) {
      const tone = job.status === "failed" ? "text-danger" : "text-body-secondary";
      state.append(element("div", "small push-note " + tone, job.note));
    }
    row.append(state);
    return row;
  }

  function drawPushes(section, body) {
    const showTarget = section.hasAttribute("data-show-target");
    const rows = body.jobs.map(function (job) { return pushRow(job, showTarget); });
    if (!rows.length) {
      const empty = element("tr");
      const cell = element("td", "text-body-secondary", body.empty);  // translated by the server
      cell.colSpan = 3;
      empty.append(cell);
      rows.push(empty);
    }
    section.querySelector(".js-push-rows").replaceChildren(...rows);
    section.dataset.unfinished = body.unfinished ? "true" : "false";
    if (body.sync) {
      document.querySelectorAll("[data-sync-badge]").forEach(function (badge) {
        badge.className = "badge " + body.sync.badge;
        badge.textContent = body.sync.label;
        badge.dataset.state = body.sync.state;
      });
      document.querySelectorAll("[data-sync-message]").forEach(function (message) {
        message.textContent = body.sync.state === "verified" ? "" : body.sync.message;
      });
    }
  }

  function followPushes(section) {
    const url = section.dataset.pushStatusUrl;
    const started = Date.now();
    let delay = FIRST_DELAY_MS;

    function tick() {
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
        .then(function (response) {
          // A 404 (the object is gone) or a login page (the session ended) stops the polling.
          const json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
          if (!response.ok || !json) throw new Error("stopped");
          return response.json();
        })
        .then(function (body) {
          drawPushes(section, body);
          if (body.unfinished && Date.now() - started < GIVE_UP_AFTER_MS) {
            delay = Math.min(Math.round(delay * 1.4), LONGEST_DELAY_MS);
            window.setTimeout(tick, delay);
          }
        })
        .catch(function () { section.dataset.unfinished = "unknown"; });
    }

    window.setTimeout(tick, delay);
  }

  function suggestInternalNumbers(select) {
    const input = select.form && select.form.querySelector("input[name='internal_number']");
    if (!input) return;
    let nextNumbers = {};
    try { nextNumbers = JSON.parse(select.dataset.nextNumbers); } catch (error) { return; }
    let suggested = input.value;
    select.addEventListener("change", function () {
      if (input.value === suggested || input.value === "") {
        suggested = nextNumbers[select.value] || "";
        input.value = suggested;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-push-status-url]").forEach(function (section) {
      if (section.dataset.unfinished === "true") followPushes(section);
    });
    document.querySelectorAll("select[data-next-numbers]").forEach(suggestInternalNumbers);
  });
})();
