/* Sipanah query page: Leaflet.draw tools that fill the query form and submit it.
 * Polygon/rectangle -> intersects (GeoJSON), circle -> point + distance (metres),
 * line -> corridor (GeoJSON) + the corridor width typed in the form. */
(function () {
  "use strict";
  function setValue(id, value) {
    var input = document.getElementById(id);
    if (input) { input.value = value; }
  }
  function clearShape() {
    ["q-intersects", "q-point", "q-distance", "q-corridor"].forEach(function (id) { setValue(id, ""); });
    setValue("q-area", "");
  }
  // Copy the translated texts (from the page, assets/query/views.py draw_texts) over Leaflet.draw's defaults.
  function mergeTexts(target, texts) {
    Object.keys(texts).forEach(function (key) {
      if (texts[key] && typeof texts[key] === "object" && target[key] && typeof target[key] === "object") {
        mergeTexts(target[key], texts[key]);
      } else {
        target[key] = texts[key];
      }
    });
  }
  window.SipanahQuery = {
    attach: function (map, labels) {
      window.sipanahQueryMap = map;  // tests drive the drawing tools through it
      mergeTexts(L.drawLocal.draw, labels.draw || {});  // Leaflet.draw's own texts are English only
      var drawn = new L.FeatureGroup();
      map.addLayer(drawn);
      var control = new L.Control.Draw({
        position: "topleft",
        draw: {
          polygon: {allowIntersection: false, showArea: false},
          rectangle: true,
          circle: true,
          polyline: true,
          marker: false,
          circlemarker: false
        },
        edit: {featureGroup: drawn, edit: false, remove: false}
      });
      map.addControl(control);
      map.on(L.Draw.Event.CREATED, function (event) {
        var layer = event.layer;
        var form = document.getElementById("query-form");
        clearShape();
        if (event.layerType === "circle") {
          var c = layer.getLatLng();
          setValue("q-point", c.lng.toFixed(7) + "," + c.lat.toFixed(7));
          setValue("q-distance", layer.getRadius().toFixed(2));
        } else if (event.layerType === "polyline") {
          var buffer = document.getElementById("q-buffer");
          if (!buffer || !buffer.value) {
            window.alert(labels.needBuffer);
            if (buffer) { buffer.focus(); }
            return;
          }
          setValue("q-corridor", JSON.stringify(layer.toGeoJSON().geometry));
        } else {
          setValue("q-intersects", JSON.stringify(layer.toGeoJSON().geometry));
        }
        drawn.addLayer(layer);
        if (!document.getElementById("q-corridor").value) { document.getElementById("q-buffer").disabled = true; }
        form.submit();
      });
      // The width belongs to a corridor only: without a line it is left out of the query.
      document.getElementById("query-form").addEventListener("submit", function () {
        var buffer = document.getElementById("q-buffer");
        if (buffer && !document.getElementById("q-corridor").value) { buffer.disabled = true; }
      });
      var area = document.getElementById("q-area");
      if (area) {
        area.addEventListener("change", function () {
          if (area.value) {
            ["q-intersects", "q-point", "q-distance", "q-corridor"].forEach(function (id) { setValue(id, ""); });
          }
        });
      }
    }
  };
})();
