/* The upload page's "Download a template" link follows the tenant chosen on the form, so that the
   template's example row is filled from that tenant (its entities, free numbers and templates).
   Loaded with defer; no inline script (the content security policy allows only files). */
(function () {
  "use strict";
  var link = document.querySelector("a[data-template-link]");
  var field = link && document.getElementById(link.dataset.tenantField);
  if (!field) { return; }
  function follow() {
    link.href = link.dataset.base + (field.value ? "?tenant=" + encodeURIComponent(field.value) : "");
  }
  field.addEventListener("change", follow);
  follow();
})();
