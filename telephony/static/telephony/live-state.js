/* The admin's provisioning sections, live: a section whose object has a push on its way fetches
 * itself again (its data-live-url, scoped like the page) every few seconds and is redrawn, until
 * nothing of it is unfinished. No inline code: the content security policy forbids it. */
"use strict";

(function () {
  const FIRST_DELAY_MS = 1000;
  const LONGEST_DELAY_MS = 5000;
  const GIVE_UP_AFTER_MS = 10 * 60 * 1000;

  function follow(section, delay, started) {
    if (section.dataset.live !== "yes" || Date.now() - started > GIVE_UP_AFTER_MS) return;
    window.setTimeout(function () {
      fetch(section.dataset.liveUrl, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (answer) { return answer.ok ? answer.text() : Promise.reject(answer.status); })
        .then(function (html) {
          const holder = document.createElement("div");
          holder.innerHTML = html;  // the portal's own escaped fragment, from the same origin
          const fresh = holder.querySelector(".live-provisioning");
          if (!fresh) return;
          section.replaceWith(fresh);
          follow(fresh, Math.min(delay * 1.5, LONGEST_DELAY_MS), started);
        })
        .catch(function () { follow(section, LONGEST_DELAY_MS, started); });
    }, delay);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".live-provisioning[data-live-url]").forEach(function (section) {
      follow(section, FIRST_DELAY_MS, Date.now());
    });
  });
})();
