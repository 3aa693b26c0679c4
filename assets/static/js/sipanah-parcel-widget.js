/* Sipanah's geometry widget: starts GeoDjango's OpenLayers MapWidget (gis/js/OLMapWidget.js) for every
 * [data-sipanah-parcel-widget] element, with the options the server wrote as JSON beside it. GeoDjango's own
 * template does this in an inline <script>, which the Content-Security-Policy forbids.
 * The basemap is SIPANAH_BASEMAP_URL (none when empty): drawing and editing work without it. */
(function () {
  "use strict";
  function baseLayer(url, note) {
    if (!url) {
      return new ol.layer.Tile();  // no basemap (the server already shows the note)
    }
    var source = new ol.source.XYZ({
      url: url.replace("{s}", "{a-c}"),  // Leaflet's subdomain placeholder in OpenLayers' spelling
      attributions: "© OpenStreetMap contributors",
      maxZoom: 19
    });
    source.on("tileloaderror", function () {  // offline or blocked: say so once; drawing does not need it
      if (note) {
        note.hidden = false;
      }
    });
    return new ol.layer.Tile({source: source});
  }
  function start() {
    document.querySelectorAll("[data-sipanah-parcel-widget]").forEach(function (wrapper) {
      var options = JSON.parse(document.getElementById(wrapper.dataset.sipanahParcelWidget).textContent);
      var module = options.module;
      options.base_layer = baseLayer(options.basemap_url, wrapper.querySelector("[data-basemap-note]"));
      delete options.basemap_url;
      delete options.module;
      // The field holds lon/lat (EPSG:4326, what the server reads text without an SRID as); the map draws in
      // Web Mercator. Converted in for MapWidget, which reads the field as map coordinates, and out on every change.
      var field = document.getElementById(options.id);
      var geojson = new ol.format.GeoJSON();
      var lonlat = {dataProjection: "EPSG:4326", featureProjection: "EPSG:3857"};
      var initial = field.value;
      if (initial) {
        field.value = geojson.writeGeometry(geojson.readGeometry(initial, lonlat));
      }
      var widget = new MapWidget(options);
      var serialize = widget.serializeFeatures.bind(widget);
      widget.serializeFeatures = function () {
        serialize();
        if (field.value) {
          field.value = geojson.writeGeometry(geojson.readGeometry(field.value), Object.assign({decimals: 9}, lonlat));
        }
      };
      field.value = initial;
      window[module] = widget;  // the global GeoDjango's template would have made
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
