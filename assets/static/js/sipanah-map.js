/* Sipanah maps: styles, popups and the basemaps (note, fallback, remembered choice) of every Leaflet map.
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
  var stats = window.sipanahMapStats = { tilesLoaded: 0, painted: 0, firstPaintMs: null, allLoadedMs: null, popups: 0,
                                         basemap: null, basemapTiles: 0, basemapFailed: null, basemapSaved: null };

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

  function csrfToken() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // The basemaps of a map (assets/maps/builders.py BasemapSwitch). layers: {key: Leaflet layer}; blank: the
  // "no basemap" layer; cfg: {current, stored, saveUrl, note}.
  // - One line under the map whenever it has no basemap: none configured, "no basemap" chosen, or tiles failing.
  // - Tiles failing (offline, blocked): quietly switch to "no basemap" (not remembered: the choice stays).
  // - A base layer chosen in the layer control is remembered for the user (POST cfg.saveUrl).
  function basemaps(map, layers, blank, cfg) {
    var note = null, automatic = false;
    stats.basemap = cfg.current;
    function showNote(on) {
      if (on && !note) {
        note = L.control({ position: "bottomleft" });
        note.onAdd = function () {
          var div = L.DomUtil.create("div", "map-note"); div.textContent = cfg.note; return div;
        };
        note.addTo(map);
      } else if (!on && note) {
        note.remove(); note = null;
      }
    }
    function save(key) {
      if (!cfg.saveUrl) return;
      fetch(cfg.saveUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
        body: "basemap=" + encodeURIComponent(key)
      }).then(function (r) { if (r.ok) stats.basemapSaved = key; });
    }
    Object.keys(layers).forEach(function (key) {
      var layer = layers[key], errors = 0, loaded = 0;
      layer.on("tileload", function () { loaded += 1; stats.basemapTiles += 1; });
      layer.on("tileerror", function () {
        errors += 1;
        if (loaded || errors < 3 || !map.hasLayer(layer)) return;
        automatic = true;
        map.removeLayer(layer);
        blank.addTo(map);
        automatic = false;
        stats.basemapFailed = key;
        stats.basemap = "none";
        showNote(true);
      });
    });
    map.on("baselayerchange", function (e) {
      var key = "none";
      Object.keys(layers).forEach(function (k) { if (layers[k] === e.layer) key = k; });
      stats.basemap = key;
      showNote(key === "none");
      if (!automatic) save(key);
    });
    showNote(cfg.current === "none");
    if (cfg.current !== cfg.stored) save(cfg.current);  // chosen through the page's URL (?basemap=none)
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
                        basemaps: basemaps, watchPaint: watchPaint, photoLayer: photoLayer };
})();
