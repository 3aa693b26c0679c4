/* Cek Tanah (the public pages): a click on the map asks whether the place is city land, or (on a report form)
 * picks the place. Every value from the server is set as text, never as HTML. */
(function () {
  "use strict";
  var map = window.sipanahMap;
  var cfgNode = document.getElementById("public-config");
  if (!map || !cfgNode) return;
  var cfg = JSON.parse(cfgNode.textContent);
  var marker = null;

  function place(latlng) {
    if (marker) { marker.setLatLng(latlng); } else { marker = L.circleMarker(latlng, { radius: 7, color: "#c0392b" }).addTo(map); }
  }

  function line(parent, tag, text, cls) {
    var el = document.createElement(tag);
    el.textContent = text;
    if (cls) el.className = cls;
    parent.appendChild(el);
    return el;
  }

  function showAnswer(panel, data) {
    panel.textContent = "";
    if (data.error) { line(panel, "p", data.error, "alert alert--error"); return; }
    var L_ = cfg.labels;
    line(panel, "h2", data.touches ? L_.yes : L_.no, data.touches ? "answer answer--yes" : "answer answer--no");
    if (data.kelurahan.length) line(panel, "p", L_.kelurahan + ": " + data.kelurahan.join(", "));
    data.parcels.forEach(function (p) {
      var parts = [];
      if (p.kode_barang) parts.push(L_.kode + ": " + p.kode_barang);
      if (p.certificate_status) parts.push(L_.status + ": " + p.certificate_status);
      if (parts.length) line(panel, "p", parts.join(" · "));
    });
    line(panel, "p", L_.contact + ": " + data.contact);
    var a = line(panel, "a", L_.open + " (" + data.code + ")", "button button--secondary");
    a.href = data.url;
  }

  if (cfg.mode === "lookup") {
    var panel = document.getElementById("public-answer");
    map.on("click", function (e) {
      place(e.latlng);
      panel.textContent = cfg.labels.asking;
      var url = cfg.lookupUrl + "?lon=" + e.latlng.lng.toFixed(7) + "&lat=" + e.latlng.lat.toFixed(7);
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) { showAnswer(panel, data); })
        .catch(function () { panel.textContent = cfg.labels.failed; });
    });
  } else if (cfg.mode === "pick") {
    var lon = document.getElementById("id_lon"), lat = document.getElementById("id_lat");
    var shown = document.getElementById("picked-place");
    map.on("click", function (e) {
      place(e.latlng);
      lon.value = e.latlng.lng.toFixed(7);
      lat.value = e.latlng.lat.toFixed(7);
      shown.textContent = cfg.labels.picked + ": " + e.latlng.lat.toFixed(6) + ", " + e.latlng.lng.toFixed(6);
    });
    if (lon.value && lat.value) place(L.latLng(parseFloat(lat.value), parseFloat(lon.value)));
  }
})();
