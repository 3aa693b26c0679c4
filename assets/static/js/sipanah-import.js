/* The import page while the worker reads the file: asks the status URL every 2 s, shows the progress in the
   status line (a live region) and reloads the page once the status changes. Replaces a <meta http-equiv=refresh>,
   which reloaded the whole page under the reader's cursor (WCAG 2.2.1, 3.2.5). */
(function () {
  "use strict";
  var box = document.querySelector(".import-status[data-status-url]");
  if (!box || box.getAttribute("data-active") !== "1") return;
  var url = box.getAttribute("data-status-url");
  var status = box.getAttribute("data-status");
  var template = box.getAttribute("data-progress-text") || "";
  var detail = box.querySelector(".import-status__detail");
  function poll() {
    fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        if (data.status !== status) { window.location.reload(); return; }
        if (detail && data.total > 0) {
          detail.textContent = template.replace("%(done)s", String(data.done)).replace("%(total)s", String(data.total));
        }
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 2000);
})();
