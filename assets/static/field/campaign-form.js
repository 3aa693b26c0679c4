/* The campaign form's area: drawn on a map over the kecamatan and kelurahan boundaries (Leaflet.draw), written as
   GeoJSON into the form's "area" field (which also takes GeoJSON or WKT typed or pasted). */
(function () {
  "use strict";
  var el = document.getElementById("campaign-area-map"), field = document.getElementById("id_area");
  if (!el || !field) { return; }
  var map = L.map(el).setView([-1.24, 116.85], 11);
  var drawn = new L.FeatureGroup().addTo(map);
  fetch(el.dataset.boundaries, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
    var layer = L.geoJSON(data, {
      style: function (f) { return { color: "#666", weight: f.properties.level === "kecamatan" ? 2 : 0.7, fill: false }; },
      interactive: false
    }).addTo(map);
    if (layer.getLayers().length) { map.fitBounds(layer.getBounds()); }
  });
  map.addControl(new L.Control.Draw({
    draw: { polygon: { allowIntersection: false, showArea: false }, rectangle: true, polyline: false, circle: false,
            marker: false, circlemarker: false },
    edit: { featureGroup: drawn }
  }));
  function write() {
    var polygons = [];
    drawn.eachLayer(function (l) { polygons.push(l.toGeoJSON().geometry.coordinates); });
    field.value = polygons.length ? JSON.stringify({ type: "MultiPolygon", coordinates: polygons }) : "";
  }
  map.on(L.Draw.Event.CREATED, function (e) { drawn.addLayer(e.layer); write(); });
  map.on(L.Draw.Event.EDITED, write);
  map.on(L.Draw.Event.DELETED, write);
})();
