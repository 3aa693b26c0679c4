/* Documents panel of the asset page (assets/templates/evidence/_documents.html): drag and drop several files,
   send them with XMLHttpRequest to show the upload's progress, list what was kept and what was refused; the inline
   viewer (images as <img>, PDFs in an <iframe> of this site). No inline script (Content-Security-Policy). */
(function () {
  "use strict";

  function text(el, value) { el.textContent = value; }

  function setupUpload(form) {
    var input = form.querySelector("input[type=file]");
    var drop = form.querySelector("[data-drop]");
    var chosen = form.querySelector("[data-chosen]");
    var wrap = form.querySelector("[data-progress-wrap]");
    var bar = form.querySelector("[data-progress]");
    var label = form.querySelector("[data-progress-text]");
    var results = form.querySelector("[data-results]");
    var button = form.querySelector("button[type=submit]");

    function showChosen() {
      chosen.innerHTML = "";
      Array.prototype.forEach.call(input.files, function (file) {
        var li = document.createElement("li");
        text(li, file.name + " (" + Math.max(1, Math.round(file.size / 1024)) + " KB)");
        chosen.appendChild(li);
      });
    }
    input.addEventListener("change", showChosen);
    ["dragenter", "dragover"].forEach(function (name) {
      drop.addEventListener(name, function (event) {
        event.preventDefault();
        drop.classList.add("evidence-drop--over");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      drop.addEventListener(name, function () { drop.classList.remove("evidence-drop--over"); });
    });
    drop.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        showChosen();
      }
    });

    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.XMLHttpRequest) { return; } // the plain form posts and the page comes back
      event.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      results.innerHTML = "";
      wrap.hidden = false;
      bar.value = 0;
      text(label, form.dataset.msgSending);
      button.disabled = true;
      xhr.upload.addEventListener("progress", function (e) {
        bar.dataset.events = String(Number(bar.dataset.events || 0) + 1); // how many progress reports came
        if (e.lengthComputable) {
          var pct = Math.round((e.loaded / e.total) * 100);
          bar.value = pct;
          text(label, pct + " %");
        }
      });
      xhr.addEventListener("load", function () {
        button.disabled = false;
        var payload = null;
        try { payload = JSON.parse(xhr.responseText); } catch (err) { payload = null; }
        if (!payload) {
          text(label, form.dataset.msgFailed + " (HTTP " + xhr.status + ")");
          return;
        }
        bar.value = 100;
        text(label, form.dataset.msgDone);
        (payload.errors || []).forEach(function (message) {
          var li = document.createElement("li");
          li.className = "evidence-results__error";
          text(li, message);
          results.appendChild(li);
        });
        var kept = 0;
        (payload.results || []).forEach(function (r) {
          var li = document.createElement("li");
          li.className = r.ok ? "evidence-results__ok" : "evidence-results__error";
          text(li, r.ok ? r.name + ": " + form.dataset.msgKept : r.error);
          if (r.ok) { kept += 1; }
          results.appendChild(li);
        });
        if (kept) {
          var li = document.createElement("li");
          var a = document.createElement("a");
          a.href = window.location.pathname + "#documents";
          a.addEventListener("click", function (e) { e.preventDefault(); window.location.reload(); });
          text(a, form.dataset.msgReload);
          li.appendChild(a);
          results.appendChild(li);
          input.value = "";
          chosen.innerHTML = "";
        }
      });
      xhr.addEventListener("error", function () {
        button.disabled = false;
        text(label, form.dataset.msgFailed);
      });
      xhr.send(new FormData(form));
    });
  }

  function setupViewer(panel) {
    var viewer = panel.querySelector("[data-viewer]");
    if (!viewer) { return; }
    var body = viewer.querySelector("[data-viewer-body]");
    var title = viewer.querySelector("[data-viewer-title]");
    viewer.querySelector("[data-viewer-close]").addEventListener("click", function () {
      body.innerHTML = "";
      viewer.hidden = true;
    });
    Array.prototype.forEach.call(panel.querySelectorAll("a[data-view]"), function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        body.innerHTML = "";
        var el;
        if (link.dataset.view === "image") {
          el = document.createElement("img");
          el.alt = link.dataset.title;
        } else {
          el = document.createElement("iframe");
          el.title = link.dataset.title;
        }
        el.src = link.href;
        el.className = "evidence-viewer__content";
        body.appendChild(el);
        text(title, link.dataset.title);
        viewer.hidden = false;
        viewer.scrollIntoView({ block: "nearest" });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-evidence-upload]"), setupUpload);
    Array.prototype.forEach.call(document.querySelectorAll(".evidence"), setupViewer);
  });
})();
