/* Sipanah dashboard: the PNG download of a chart, drawn in the browser from the chart's SVG file (served by
 * Sipanah: no library, no outside host). SipanahCharts.png(url) resolves to the PNG blob (tests call it). */
(function () {
  "use strict";
  var SCALE = 2; // twice the SVG's size: sharp in documents and slides

  function png(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    }).then(function (text) {
      return new Promise(function (resolve, reject) {
        var source = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
        var image = new Image();
        image.onload = function () {
          var canvas = document.createElement("canvas");
          canvas.width = image.naturalWidth * SCALE;
          canvas.height = image.naturalHeight * SCALE;
          var context = canvas.getContext("2d");
          context.fillStyle = "#ffffff";
          context.fillRect(0, 0, canvas.width, canvas.height);
          context.drawImage(image, 0, 0, canvas.width, canvas.height);
          URL.revokeObjectURL(source);
          canvas.toBlob(function (blob) { return blob ? resolve(blob) : reject(new Error("empty canvas")); },
                        "image/png");
        };
        image.onerror = function () { URL.revokeObjectURL(source); reject(new Error("SVG not drawable")); };
        image.src = source;
      });
    });
  }

  function save(blob, filename) {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = filename;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
  }

  window.SipanahCharts = { png: png };
  document.querySelectorAll("button[data-png]").forEach(function (button) {
    button.hidden = false; // without JavaScript only the SVG link is offered
    button.addEventListener("click", function () {
      button.disabled = true;
      png(button.dataset.png).then(function (blob) {
        save(blob, button.dataset.filename);
      }).catch(function () {
        window.alert(button.dataset.error);
      }).finally(function () {
        button.disabled = false;
      });
    });
  });
})();
