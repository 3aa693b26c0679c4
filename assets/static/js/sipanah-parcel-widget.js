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
      window[module] = new MapWidget(options);  // the global GeoDjango's template would have made
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
