/* The platform form: fields that only some kinds of platform use (the Xelion app key and user
   space, the Park Manager organization) show only for those kinds. Each such field's input says
   which kinds in data-platform-kinds. No inline script: the page's content security policy allows
   only files like this one. Without it every field shows, as the server renders them. */
(function () {
  "use strict";
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }

  function start() {
    var kind = document.getElementById("id_kind");
    if (!kind) { return; }
    var show = function () {
      document.querySelectorAll("[data-platform-kinds]").forEach(function (input) {
        var row = input.closest(".form-row") || input.parentElement;
        var kinds = input.getAttribute("data-platform-kinds").split(" ");
        row.classList.toggle("hidden", kinds.indexOf(kind.value) < 0);
      });
    };
    kind.addEventListener("change", show);
    show();
  }
})();
