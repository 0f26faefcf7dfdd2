// Host list of the overview. It works without this script (a GET form,
// plain links for sorting and paging, all served by the server); the
// script only applies a changed status or page size at once, as the
// attribute grid's selects do.
(function () {
  "use strict";
  var form = document.getElementById("host-tools");
  if (!form) return;
  ["host-status", "host-rows"].forEach(function (id) {
    var sel = document.getElementById(id);
    if (sel) sel.addEventListener("change", function () { form.submit(); });
  });
})();
