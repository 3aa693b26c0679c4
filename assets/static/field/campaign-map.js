/* The campaign page's map: the campaign's parcels coloured by their latest field result (no basemap needed). */
(function () {
  "use strict";
  var el = document.getElementById("campaign-map");
  var config = JSON.parse(document.getElementById("campaign-map-config").textContent);
  var colours = { none: "#888888", found: "#1a7f37", partly: "#d4a017", not_found: "#c62828" };
  var map = L.map(el, { preferCanvas: true });
  fetch(config.url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
    var layer = L.geoJSON(data, {
      style: function (f) { var c = colours[f.properties.result] || "#888"; return { color: c, fillColor: c, weight: 2, fillOpacity: 0.4 }; },
      onEachFeature: function (f, l) {
        l.bindTooltip(f.properties.label + " · " + f.properties.team + " · " + (config.labels[f.properties.result] || f.properties.result));
      }
    }).addTo(map);
    if (layer.getLayers().length) { map.fitBounds(layer.getBounds()); } else { map.setView([-1.24, 116.85], 12); }
    var legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      var div = L.DomUtil.create("div", "field-legend");
      Object.keys(colours).forEach(function (k) {
        var row = document.createElement("div"), sw = document.createElement("span");
        sw.className = "field-swatch"; sw.style.background = colours[k];
        row.appendChild(sw); row.appendChild(document.createTextNode(" " + (config.labels[k] || k))); div.appendChild(row);
      });
      return div;
    };
    legend.addTo(map);
  });
})();
