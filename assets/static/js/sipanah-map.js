/* Sipanah maps: styles, popups and the basemap fallback shared by the overview and the detail map.
 * Every value from the server reaches the page through textContent, never as HTML. */
(function () {
  "use strict";
  // Leaflet 1.8 removed DomEvent.fakeStop, which VectorGrid 1.3's canvas renderer still calls on click.
  if (L.DomEvent && !L.DomEvent.fakeStop) {
    L.DomEvent.fakeStop = function (e) { e._stopped = true; };
  }

  var COLORS = { belum: "#d73027", proses: "#f39c12", terbit: "#1a9850" };
  var DISPUTE = "#5e3c99";

  function majority(p) {
    if (p.nt >= p.np && p.nt >= p.nb) return "terbit";
    return p.np >= p.nb ? "proses" : "belum";
  }

  function assetStyle(p, zoom, dim) {
    if (p.n !== undefined) { // grid aggregate
      var r = Math.min(16, 3 + 2 * Math.log2(p.n));
      return { radius: r, weight: p.nd ? 2 : 1, color: p.nd ? DISPUTE : "#ffffff", fill: true,
               fillColor: COLORS[majority(p)], fillOpacity: 0.75, opacity: 1 };
    }
    var base = COLORS[p.s] || "#777777";
    var style = { weight: p.d ? 3 : 1, color: p.d ? DISPUTE : base, fill: true, fillColor: base,
                  fillOpacity: 0.55, opacity: 1 };
    if (p.d === "DIBLOKIR") style.dashArray = "4 3";
    if (dim === 1) style.radius = p.d ? 4 : 3;
    return style;
  }

  function faintStyle(p, zoom, dim) {
    var s = assetStyle(p, zoom, dim);
    s.fillOpacity = 0.12; s.opacity = 0.35; s.weight = 1;
    return s;
  }

  function row(table, label, value) {
    var tr = document.createElement("tr");
    var th = document.createElement("th"); th.textContent = label;
    var td = document.createElement("td"); td.textContent = value === null || value === "" ? "—" : value;
    tr.appendChild(th); tr.appendChild(td); table.appendChild(tr);
  }

  function popupContent(data, labels) {
    var box = document.createElement("div");
    box.className = "map-popup";
    var title = document.createElement("strong"); title.textContent = data.nama; box.appendChild(title);
    var table = document.createElement("table");
    row(table, labels.code, data.kode_barang + " / " + data.nomor_register);
    row(table, labels.agency, data.agency);
    row(table, labels.luas_kib, data.luas_kib);
    row(table, labels.luas_sertifikat, data.luas_sertifikat);
    row(table, labels.luas_gis, data.luas_gis);
    row(table, labels.status, data.status);
    row(table, labels.stage, data.stage);
    box.appendChild(table);
    var link = document.createElement("a"); link.href = data.url; link.textContent = labels.open;
    box.appendChild(link);
    return box;
  }

  // Counts what the vector layers painted: the browser tests and the bench read window.sipanahMapStats.
  var stats = window.sipanahMapStats = { tilesLoaded: 0, painted: 0, firstPaintMs: null, allLoadedMs: null, popups: 0 };

  function watchPaint(layer) {
    layer.on("load", function () { stats.allLoadedMs = performance.now(); });
    layer.on("tileload", function (e) {
      stats.tilesLoaded += 1;
      var n = e.tile && e.tile.querySelectorAll ? e.tile.querySelectorAll("path").length : 0;
      stats.painted += n;
      if (n && stats.firstPaintMs === null) stats.firstPaintMs = performance.now();
    });
  }

  function attachAssets(map, layer, cfg) {
    watchPaint(layer);
    layer.on("click", function (e) {
      var p = e.layer && e.layer.properties;
      if (!p) return;
      if (p.n !== undefined) { map.setView(e.latlng, Math.min(map.getZoom() + 2, 18)); return; }
      fetch(cfg.popupUrl.replace("/0/", "/" + encodeURIComponent(p.id) + "/"), { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (data) {
          stats.popups += 1;
          L.popup({ maxWidth: 320 }).setLatLng(e.latlng).setContent(popupContent(data, cfg.labels)).openOn(map);
        })
        .catch(function () {
          var msg = document.createElement("span"); msg.textContent = cfg.labels.unavailable;
          L.popup().setLatLng(e.latlng).setContent(msg).openOn(map);
        });
    });
  }

  // Quiet fallback: when the basemap cannot load (offline, blocked), switch to "no basemap" and say so once.
  function basemapFallback(map, basemap, blank, message) {
    var errors = 0, loaded = 0, done = false;
    basemap.on("tileload", function () { loaded += 1; });
    basemap.on("tileerror", function () {
      errors += 1;
      if (done || loaded || errors < 3) return;
      done = true;
      map.removeLayer(basemap);
      blank.addTo(map);
      var note = L.control({ position: "bottomleft" });
      note.onAdd = function () {
        var div = L.DomUtil.create("div", "map-note"); div.textContent = message; return div;
      };
      note.addTo(map);
    });
  }

  // An asset's photos (assets/maps/builders.py PhotoLayer): a GeoJSON FeatureCollection of points with properties
  // label, direction (degrees from north, or null) and far; each drawn as an arrow pointing where the camera faced.
  function photoLayer(map, data) {
    return L.geoJSON(data, {
      pointToLayer: function (feature, latlng) {
        var p = feature.properties;
        var span = document.createElement("span");
        span.className = p.far ? "photo-marker photo-marker--far" : "photo-marker";
        span.dataset.direction = p.direction === null ? "" : String(Math.round(p.direction));
        if (p.direction === null) {
          span.textContent = "\u25CF";
        } else {
          span.textContent = "\u21E7";
          span.style.transform = "rotate(" + p.direction + "deg)";
        }
        var icon = L.divIcon({ html: span, className: "photo-icon", iconSize: [22, 22], iconAnchor: [11, 11] });
        var tooltip = document.createElement("span");
        tooltip.textContent = p.label;
        return L.marker(latlng, { icon: icon, title: p.label }).bindTooltip(tooltip);
      }
    });
  }

  window.SipanahMap = { assetStyle: assetStyle, faintStyle: faintStyle, attachAssets: attachAssets,
                        basemapFallback: basemapFallback, watchPaint: watchPaint, photoLayer: photoLayer };
})();
