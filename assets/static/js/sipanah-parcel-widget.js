/* Sipanah's parcel widget (assets/templates/gis/sipanah_parcel_widget.html, assets.register.forms.ParcelMapWidget).
 *
 * OpenLayers (vendored), no GeoDjango script. The field holds a GeoJSON MultiPolygon in lon/lat (EPSG:4326); the map
 * draws in Web Mercator. Each part of the parcel is one feature (a Polygon, holes included). Context comes from
 * Sipanah itself, so the widget is useful without a basemap: the kecamatan/kelurahan boundaries of the map page
 * (/map/boundaries/) and the neighbouring parcels of the register's vector tiles (/tiles/), which the drawing
 * snaps to. Every check is the server's (the geometry check endpoint, the same rules as a save): after each change
 * the widget posts the outline and shows the geodesic area, the errors (with a marker where they are) and the
 * parcels it overlaps. Corner lists, WKT/GeoJSON and survey files are read by the same endpoint.
 * Texts come translated from the template (data-t-* attributes); values from the server go in as text. */
(function () {
  "use strict";

  var GEOJSON = new ol.format.GeoJSON();
  var LONLAT = {dataProjection: "EPSG:4326", featureProjection: "EPSG:3857"};
  var HISTORY_LIMIT = 100;

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match;
    });
  }

  function debounce(fn, ms) {
    var timer = null;
    var call = function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
    call.cancel = function () { clearTimeout(timer); };
    return call;
  }

  function csrfToken(wrapper) {
    var form = wrapper.closest("form");
    var input = (form || document).querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // ---- styles ----
  function partStyle(selected) {
    var color = selected ? "#e65100" : "#0d47a1";
    return [
      new ol.style.Style({
        stroke: new ol.style.Stroke({color: color, width: selected ? 3 : 2.5}),
        fill: new ol.style.Fill({color: selected ? "rgba(230, 81, 0, 0.25)" : "rgba(25, 118, 210, 0.3)"})
      }),
      new ol.style.Style({  // the corners, so they can be seen and grabbed
        image: new ol.style.Circle({
          radius: 3.5, fill: new ol.style.Fill({color: "#ffffff"}), stroke: new ol.style.Stroke({color: color, width: 1.5})
        }),
        geometry: function (feature) {
          var coords = [];
          feature.getGeometry().getCoordinates().forEach(function (ring) { coords = coords.concat(ring.slice(0, -1)); });
          return new ol.geom.MultiPoint(coords);
        }
      })
    ];
  }

  var PREVIEW_STYLE = new ol.style.Style({
    stroke: new ol.style.Stroke({color: "#e65100", width: 2, lineDash: [8, 5]}),
    fill: new ol.style.Fill({color: "rgba(230, 81, 0, 0.12)"})
  });

  var MARKER_STYLE = new ol.style.Style({
    image: new ol.style.RegularShape({
      points: 4, radius: 9, radius2: 0, angle: Math.PI / 4,
      stroke: new ol.style.Stroke({color: "#b71c1c", width: 3})
    })
  });
  var MARKER_RING = new ol.style.Style({
    image: new ol.style.Circle({radius: 11, stroke: new ol.style.Stroke({color: "#b71c1c", width: 2})})
  });

  function boundaryStyle(feature, resolution) {
    var kecamatan = feature.get("level") === "kecamatan";
    // Names in the middle of the area: kecamatan when zoomed out, kelurahan from about zoom 13 (19 m/px). Zoomed in
    // to a parcel the middle is off screen: the line above the map names the kelurahan and kecamatan there.
    var label = kecamatan ? resolution > 19 : resolution <= 19;
    return new ol.style.Style({
      stroke: new ol.style.Stroke({color: "#37474f", width: kecamatan ? 2.5 : 1.2, lineDash: [6, 4]}),
      text: label ? new ol.style.Text({
        text: feature.get("name"),
        font: (kecamatan ? "600 13px " : "12px ") + "system-ui, sans-serif",
        fill: new ol.style.Fill({color: "#263238"}),
        stroke: new ol.style.Stroke({color: "rgba(255, 255, 255, 0.9)", width: 3}),
        overflow: true
      }) : undefined
    });
  }

  var NEIGHBOUR = new ol.style.Style({
    stroke: new ol.style.Stroke({color: "rgba(69, 90, 100, 0.75)", width: 1}),
    fill: new ol.style.Fill({color: "rgba(120, 144, 156, 0.18)"})
  });
  var NEIGHBOUR_POINT = new ol.style.Style({
    image: new ol.style.Circle({radius: 3, fill: new ol.style.Fill({color: "rgba(69, 90, 100, 0.5)"})})
  });

  // ---- the widget ----
  function ParcelWidget(wrapper, options) {
    var self = this;
    this.wrapper = wrapper;
    this.options = options;
    this.t = wrapper.dataset;
    this.field = document.getElementById(options.id);
    this.history = [];
    this.sketching = false;
    this.checkSeq = 0;
    this.previewSeq = 0;
    this.preview = null;  // {geometry (map projection), area_m2}
    this.state = "idle";  // the check: idle | pending | checking | done | failed (tests wait for "done")

    this.parts = new ol.Collection();
    this.partSource = new ol.source.Vector({features: this.parts});
    this.partLayer = new ol.layer.Vector({source: this.partSource, style: partStyle(false)});
    this.previewSource = new ol.source.Vector();
    this.markerSource = new ol.source.Vector();
    this.snapSource = new ol.source.Vector();

    var layers = [];
    this.basemap = this.basemapLayer();
    if (this.basemap) layers.push(this.basemap);
    if (options.boundaries_url) {
      this.boundarySource = new ol.source.Vector({url: options.boundaries_url, format: new ol.format.GeoJSON()});
      layers.push(new ol.layer.Vector({source: this.boundarySource, style: boundaryStyle, declutter: true}));
    }
    if (options.tiles_url) {
      this.tileSource = new ol.source.VectorTile({
        format: new ol.format.MVT({featureClass: ol.Feature}),  // full features: snapping needs their geometry
        url: options.tiles_url,
        tileGrid: ol.tilegrid.createXYZ({maxZoom: 22, tileSize: 256}),  // the zoom bands of the tiles (docs/maps.md)
        overlaps: false
      });
      this.tileLayer = new ol.layer.VectorTile({source: this.tileSource, style: this.neighbourStyle.bind(this)});
      layers.push(this.tileLayer);
    }
    layers.push(this.partLayer);
    layers.push(new ol.layer.Vector({source: this.previewSource, style: PREVIEW_STYLE}));
    layers.push(new ol.layer.Vector({source: this.markerSource, style: [MARKER_RING, MARKER_STYLE]}));

    this.map = new ol.Map({
      target: options.id + "_map",
      layers: layers,
      // No double-click zoom: a double click finishes a part, and quick clicks of corners must not zoom.
      interactions: ol.interaction.defaults.defaults({doubleClickZoom: false}),
      controls: ol.control.defaults.defaults({
        zoomOptions: {zoomInTipLabel: this.t.tZoomIn, zoomOutTipLabel: this.t.tZoomOut},
        attributionOptions: {tipLabel: this.t.tAttributions},
        rotateOptions: {tipLabel: this.t.tRotate}
      }).extend([new ol.control.ScaleLine()]),
      view: new ol.View({center: ol.proj.fromLonLat(options.center), zoom: options.zoom, maxZoom: 22})
    });

    this.read();
    this.buildInteractions();
    this.bindToolbar();
    this.bindEntry();
    if (this.boundarySource) {
      var place = debounce(this.showPlace.bind(this), 100);
      this.map.on("moveend", place);
      this.boundarySource.on("featuresloadend", place);
    }
    if (this.tileSource) {
      // Once the view's tiles are all drawn: the tile cache then answers with the tiles of the view's zoom (while
      // they load it may answer with another zoom's, whose points are no snapping target).
      this.map.on("rendercomplete", debounce(this.refreshSnapTargets.bind(this), 150));
    }
    if (this.parts.getLength()) {
      this.map.getView().fit(this.extentOf(this.parts.getArray()), {padding: [40, 40, 40, 40], maxZoom: 19});
      this.setTool(this.disabled() ? null : "edit");
    } else {
      this.setTool(this.disabled() ? null : "draw");  // polygon first: an empty parcel opens on the draw tool
    }
    this.updateButtons();
    this.check();
  }

  ParcelWidget.prototype.disabled = function () {
    return !this.wrapper.querySelector("[data-tool]");
  };

  ParcelWidget.prototype.basemapLayer = function () {
    // The user's basemap (assets/register/basemaps.py: the choice remembered on every map), XYZ or WMS; none: null
    var basemap = this.options.basemap;
    var note = this.wrapper.querySelector("[data-basemap-note]");
    if (!basemap || !basemap.url) return null;
    var source = basemap.kind === "wms" ? new ol.source.TileWMS({
      url: basemap.url,
      params: {LAYERS: basemap.layers, FORMAT: basemap.format, VERSION: basemap.version, STYLES: basemap.styles,
               TRANSPARENT: basemap.transparent},
      attributions: basemap.attribution || undefined
    }) : new ol.source.XYZ({
      url: basemap.url.replace("{s}", "{a-c}"),  // Leaflet's subdomain placeholder in OpenLayers' spelling
      attributions: basemap.attribution || undefined,
      maxZoom: 19
    });
    var layer = new ol.layer.Tile({source: source});
    // As on the map page: after three failed tiles and none loaded, the basemap is dropped and the note shown.
    var errors = 0, loaded = 0;
    source.on("tileloadend", function () { loaded += 1; });
    source.on("tileloaderror", function () {
      errors += 1;
      if (loaded || errors < 3 || !layer.getVisible()) return;
      layer.setVisible(false);
      if (note) note.hidden = false;
    });
    return layer;
  };

  ParcelWidget.prototype.showPlace = function () {
    // The kelurahan and kecamatan at the centre of the map, named above it.
    var line = this.wrapper.querySelector("[data-place]");
    var names = {kelurahan: "", kecamatan: ""};
    this.boundarySource.getFeaturesAtCoordinate(this.map.getView().getCenter()).forEach(function (f) {
      if (f.get("level") in names && !names[f.get("level")]) names[f.get("level")] = f.get("name");
    });
    line.textContent = names.kelurahan || names.kecamatan ? fill(this.t.tPlace, {
      kelurahan: names.kelurahan || "—", kecamatan: names.kecamatan || "—"
    }) : this.t.tOutside;
  };

  ParcelWidget.prototype.neighbourStyle = function (feature) {
    if (this.options.asset && feature.get("id") === this.options.asset) return null;  // the parcel being edited
    var type = feature.getGeometry().getType();
    if (type === "Polygon" || type === "MultiPolygon") return NEIGHBOUR;
    return feature.get("n") === undefined ? NEIGHBOUR_POINT : null;  // one point per parcel at z14, no aggregates
  };

  // ---- the field ----
  ParcelWidget.prototype.read = function () {
    var text = this.field.value.trim();
    var self = this;
    this.parts.clear();
    if (!text) return;
    var geometry;
    try {
      geometry = GEOJSON.readGeometry(text, LONLAT);
    } catch (e) {
      return;  // not GeoJSON (the field's error says what was wrong); the map starts empty
    }
    this.polygonsOf(geometry).forEach(function (polygon) { self.parts.push(new ol.Feature(polygon)); });
  };

  ParcelWidget.prototype.polygonsOf = function (geometry) {
    if (!geometry) return [];
    var type = geometry.getType();
    if (type === "Polygon") return [geometry];
    if (type === "MultiPolygon") return geometry.getPolygons();
    if (type === "GeometryCollection") {
      var self = this;
      return geometry.getGeometries().reduce(function (all, g) { return all.concat(self.polygonsOf(g)); }, []);
    }
    return [];
  };

  ParcelWidget.prototype.multiPolygon = function () {
    var polygons = this.parts.getArray().map(function (f) { return f.getGeometry().getCoordinates(); });
    return polygons.length ? new ol.geom.MultiPolygon(polygons) : null;
  };

  ParcelWidget.prototype.write = function () {
    var geometry = this.multiPolygon();
    this.field.value = geometry ? GEOJSON.writeGeometry(geometry, Object.assign({decimals: 9}, LONLAT)) : "";
    this.field.dispatchEvent(new Event("change", {bubbles: true}));
    this.updateButtons();
    this.check();
  };

  ParcelWidget.prototype.extentOf = function (features) {
    var extent = ol.extent.createEmpty();
    features.forEach(function (f) { ol.extent.extend(extent, f.getGeometry().getExtent()); });
    return extent;
  };

  // ---- history ----
  ParcelWidget.prototype.snapshot = function () {
    return this.parts.getArray().map(function (f) { return f.getGeometry().getCoordinates(); });
  };

  ParcelWidget.prototype.remember = function (state) {
    this.history.push(state || this.snapshot());
    if (this.history.length > HISTORY_LIMIT) this.history.shift();
  };

  ParcelWidget.prototype.restore = function (state) {
    this.select.getFeatures().clear();
    this.parts.clear();
    var self = this;
    state.forEach(function (coords) { self.parts.push(new ol.Feature(new ol.geom.Polygon(coords))); });
  };

  ParcelWidget.prototype.undo = function () {
    if (this.sketching) {  // while drawing: the last corner
      this.activeDraw().removeLastPoint();
      return;
    }
    if (!this.history.length) return;
    this.restore(this.history.pop());
    this.write();
  };

  // ---- interactions ----
  ParcelWidget.prototype.buildInteractions = function () {
    var self = this;
    var map = this.map;
    this.drawPart = new ol.interaction.Draw({type: "Polygon", stopClick: true});
    this.drawHole = new ol.interaction.Draw({
      type: "Polygon", stopClick: true,
      style: new ol.style.Style({
        stroke: new ol.style.Stroke({color: "#6a1b9a", width: 2, lineDash: [4, 4]}),
        fill: new ol.style.Fill({color: "rgba(255, 255, 255, 0.5)"}),
        image: new ol.style.Circle({radius: 4, fill: new ol.style.Fill({color: "#6a1b9a"})})
      })
    });
    [this.drawPart, this.drawHole].forEach(function (draw) {
      draw.on("drawstart", function () { self.sketching = true; self.updateButtons(); });
      draw.on("drawabort", function () { self.sketching = false; self.updateButtons(); });
      draw.on("drawend", function () { self.sketching = false; });
    });
    this.drawPart.on("drawend", function (event) {
      self.remember();
      self.parts.push(new ol.Feature(event.feature.getGeometry()));
      self.write();
    });
    this.drawHole.on("drawend", function (event) {
      var ring = event.feature.getGeometry().getCoordinates()[0];
      var part = self.parts.getArray().find(function (f) {
        var polygon = f.getGeometry();
        return ring.every(function (c) { return polygon.intersectsCoordinate(c); });
      });
      if (!part) {
        self.hint(self.t.tHoleOutside, true);
        self.updateButtons();
        return;
      }
      self.remember();
      part.getGeometry().appendLinearRing(new ol.geom.LinearRing(ring));
      self.write();
    });
    this.select = new ol.interaction.Select({layers: [this.partLayer], style: partStyle(true)});
    this.select.on("select", function () { self.updateButtons(); });
    this.modify = new ol.interaction.Modify({features: this.parts});
    var before = null;
    this.modify.on("modifystart", function () { before = self.snapshot(); });
    this.modify.on("modifyend", function () {
      self.remember(before);
      self.write();
    });
    [this.drawPart, this.drawHole, this.select, this.modify].forEach(function (i) {
      i.setActive(false);
      map.addInteraction(i);
    });
    // Snapping last: OpenLayers asks the interactions added last first. To the parcel's own corners and edges,
    // and to the neighbouring parcels of the vector tiles.
    map.addInteraction(new ol.interaction.Snap({features: this.parts}));
    map.addInteraction(new ol.interaction.Snap({source: this.snapSource}));
    this.wrapper.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && self.sketching) {
        self.activeDraw().abortDrawing();
        event.preventDefault();
      } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z" && !event.shiftKey &&
                 !/^(TEXTAREA|INPUT|SELECT)$/.test(event.target.tagName)) {  // text fields keep their own undo
        self.undo();
        event.preventDefault();
      }
    });
  };

  ParcelWidget.prototype.activeDraw = function () {
    return this.drawHole.getActive() ? this.drawHole : this.drawPart;
  };

  ParcelWidget.prototype.refreshSnapTargets = function () {
    // The neighbours' polygons in view (tiles of the current zoom, clipped at tile edges with a buffer).
    var extent = this.map.getView().calculateExtent(this.map.getSize());
    var asset = this.options.asset;
    var features = this.tileSource.getFeaturesInExtent(extent).filter(function (f) {
      var type = f.getGeometry().getType();
      return (type === "Polygon" || type === "MultiPolygon") && !(asset && f.get("id") === asset);
    });
    var signature = features.length + "|" + extent.join(",");
    if (signature === this.snapSignature) return;  // nothing new (rendercomplete also follows every sketch move)
    this.snapSignature = signature;
    this.snapSource.clear(true);
    this.snapSource.addFeatures(features);
  };

  ParcelWidget.prototype.setTool = function (tool) {
    if (this.sketching) this.activeDraw().abortDrawing();
    this.tool = tool;
    this.drawPart.setActive(tool === "draw");
    this.drawHole.setActive(tool === "hole");
    this.modify.setActive(tool === "edit");
    this.select.setActive(tool === "edit");
    if (tool !== "edit") this.select.getFeatures().clear();
    var hint = "";
    this.wrapper.querySelectorAll("[data-tool]").forEach(function (button) {
      var on = button.dataset.tool === tool;
      button.setAttribute("aria-pressed", on ? "true" : "false");
      if (on) hint = button.dataset.hint;
    });
    this.wrapper.dataset.tool = tool || "";
    this.hint(hint, false);
    this.updateButtons();
  };

  ParcelWidget.prototype.hint = function (text, warning) {
    var hint = this.wrapper.querySelector("[data-hint-line]");
    if (!hint) return;
    hint.textContent = text || "";
    hint.classList.toggle("parcel-widget__hint--warning", !!warning);
  };

  ParcelWidget.prototype.bindToolbar = function () {
    var self = this;
    this.wrapper.querySelectorAll("[data-tool]").forEach(function (button) {
      button.addEventListener("click", function () { self.setTool(button.dataset.tool); });
    });
    var actions = {
      undo: function () { self.undo(); },
      "delete": function () {
        var chosen = self.select.getFeatures().getArray().slice();
        if (!chosen.length) return;
        self.remember();
        self.select.getFeatures().clear();
        chosen.forEach(function (f) { self.parts.remove(f); });
        self.write();
      },
      clear: function () {
        if (!self.parts.getLength()) return;
        self.remember();
        self.select.getFeatures().clear();
        self.parts.clear();
        self.write();
        self.setTool("draw");
      }
    };
    this.wrapper.querySelectorAll("[data-action]").forEach(function (button) {
      button.addEventListener("click", actions[button.dataset.action]);
    });
  };

  ParcelWidget.prototype.updateButtons = function () {
    var enable = {
      undo: this.sketching || this.history.length > 0,
      "delete": this.select && this.select.getFeatures().getLength() > 0,
      clear: this.parts.getLength() > 0
    };
    this.wrapper.querySelectorAll("[data-action]").forEach(function (button) {
      button.disabled = !enable[button.dataset.action];
    });
    var holes = 0;
    this.parts.forEach(function (f) { holes += f.getGeometry().getLinearRingCount() - 1; });
    var parts = this.wrapper.querySelector("[data-parts]");
    parts.textContent = this.parts.getLength() ? fill(this.t.tParts, {parts: this.parts.getLength(), holes: holes}) : "";
  };

  // ---- the server's check ----
  ParcelWidget.prototype.post = function (body, signal) {
    if (this.options.asset) body.append("asset", this.options.asset);
    return fetch(this.options.check_url, {
      method: "POST", body: body, credentials: "same-origin", signal: signal,
      headers: {"X-CSRFToken": csrfToken(this.wrapper), "Accept": "application/json"}
    }).then(function (response) {
      if (response.status !== 200 && response.status !== 400) throw new Error("HTTP " + response.status);
      return response.json();
    });
  };

  ParcelWidget.prototype.setState = function (state) {
    this.state = state;
    this.wrapper.dataset.check = state;
  };

  ParcelWidget.prototype.check = function () {
    var self = this;
    var status = this.wrapper.querySelector("[data-status]");
    if (!this.runCheck) {
      this.runCheck = debounce(function () { self.sendCheck(); }, this.options.debounce_ms);
    }
    if (this.controller) this.controller.abort();
    this.checkSeq += 1;
    if (!this.field.value) {
      this.runCheck.cancel();
      this.showResult({geometry: null, area_m2: null, valid: true, errors: [], overlaps: []});
      status.textContent = this.disabled() ? "" : this.t.tEmpty;
      this.setState("idle");
      return;
    }
    if (!this.options.check_url) {
      status.textContent = this.options.tiles_url ? this.t.tNoCheck : "";
      this.setState("idle");
      return;
    }
    this.setState("pending");
    status.textContent = this.t.tChecking;
    this.runCheck();
  };

  ParcelWidget.prototype.sendCheck = function () {
    var self = this;
    var seq = this.checkSeq;
    var status = this.wrapper.querySelector("[data-status]");
    var body = new FormData();
    body.append("geometry", this.field.value);
    this.controller = new AbortController();
    this.setState("checking");
    this.post(body, this.controller.signal).then(function (result) {
      if (seq !== self.checkSeq) return;
      status.textContent = "";
      self.showResult(result);
      self.setState("done");
    }).catch(function (error) {
      if (seq !== self.checkSeq || error.name === "AbortError") return;
      status.textContent = self.t.tUnavailable;
      self.setState("failed");
    });
  };

  ParcelWidget.prototype.number = function (value, digits) {
    var lang = document.documentElement.lang || undefined;
    return new Intl.NumberFormat(lang, {minimumFractionDigits: digits, maximumFractionDigits: digits}).format(value);
  };

  ParcelWidget.prototype.areaText = function (template, m2) {
    return fill(template, {m2: this.number(m2, 2), ha: this.number(m2 / 10000, 4)});
  };

  ParcelWidget.prototype.showErrors = function (box, errors, markers) {
    var list = box.querySelector("ul");
    list.textContent = "";
    markers.clear();
    (errors || []).forEach(function (error) {
      var li = document.createElement("li");
      li.textContent = error.message;
      list.appendChild(li);
      if (error.location) {
        markers.addFeature(new ol.Feature(new ol.geom.Point(ol.proj.fromLonLat(error.location))));
      }
    });
    box.hidden = !(errors && errors.length);
  };

  ParcelWidget.prototype.showResult = function (result) {
    var self = this;
    var area = this.wrapper.querySelector("[data-area]");
    area.textContent = result.area_m2 === null || result.area_m2 === undefined ? "" : this.areaText(this.t.tArea, result.area_m2);
    area.dataset.areaM2 = result.area_m2 === null || result.area_m2 === undefined ? "" : String(result.area_m2);
    var errors = this.wrapper.querySelector("[data-errors]");
    errors.querySelector("[data-errors-title]").textContent = this.t.tInvalid;
    this.showErrors(errors, result.errors, this.markerSource);
    area.classList.toggle("pw-area--valid", !!result.valid && result.area_m2 !== null && result.area_m2 !== undefined);
    var overlaps = this.wrapper.querySelector("[data-overlaps]");
    overlaps.querySelector("[data-overlaps-title]").textContent = this.t.tOverlaps;
    var list = overlaps.querySelector("ul");
    list.textContent = "";
    (result.overlaps || []).forEach(function (overlap) {
      var li = document.createElement("li");
      var parts = self.t.tOverlap.split("%(label)s");
      var link = document.createElement("a");
      link.href = overlap.url;
      link.textContent = overlap.label;
      link.target = "_blank";
      link.rel = "noopener";
      li.appendChild(document.createTextNode(fill(parts[0], {m2: self.number(overlap.area_m2, 2)})));
      li.appendChild(link);
      li.appendChild(document.createTextNode(fill(parts.slice(1).join(""), {m2: self.number(overlap.area_m2, 2)})));
      li.dataset.assetId = overlap.id;
      list.appendChild(li);
    });
    overlaps.hidden = !(result.overlaps && result.overlaps.length);
  };

  // ---- corners, WKT/GeoJSON and survey files ----
  ParcelWidget.prototype.bindEntry = function () {
    var entry = this.wrapper.querySelector("[data-entry]");
    if (!entry) return;
    var self = this;
    this.entry = entry;
    this.previewMarkers = new ol.source.Vector();
    this.map.addLayer(new ol.layer.Vector({source: this.previewMarkers, style: [MARKER_RING, MARKER_STYLE]}));
    var corners = entry.querySelector("[data-corners]");
    var crs = entry.querySelector("[data-crs]");
    var text = entry.querySelector("[data-geometry-text]");
    var file = entry.querySelector("[data-file]");
    var last = null;  // what was read last: the CRS applies to a corner list and to a file that declares none
    var readCorners = debounce(function () {
      text.value = "";
      last = "corners";
      self.readEntry(corners.value.trim() ? {corners: corners.value, crs: crs.value} : null);
    }, this.options.debounce_ms);
    var readFile = function () {
      last = "file";
      if (file.files.length) self.readEntry({file: file.files[0], crs: crs.value});
    };
    corners.addEventListener("input", readCorners);
    crs.addEventListener("change", function () {
      if (last === "file") readFile(); else readCorners();
    });
    text.addEventListener("input", debounce(function () {
      corners.value = "";
      last = "text";
      self.readEntry(text.value.trim() ? {geometry: text.value} : null);
    }, this.options.debounce_ms));
    file.addEventListener("change", readFile);
    entry.querySelectorAll("[data-apply]").forEach(function (button) {
      button.addEventListener("click", function () { self.apply(button.dataset.apply); });
    });
  };

  ParcelWidget.prototype.readEntry = function (fields) {
    var self = this;
    var seq = ++this.previewSeq;
    var box = this.entry.querySelector("[data-preview]");
    var candidates = this.entry.querySelector("[data-candidates]");
    this.setPreview(null);
    candidates.hidden = true;
    candidates.textContent = "";
    box.textContent = "";
    if (!fields) {
      this.wrapper.dataset.preview = "idle";
      return;
    }
    if (!this.options.check_url) {
      box.textContent = this.t.tNoCheck;
      return;
    }
    var body = new FormData();
    Object.keys(fields).forEach(function (key) { body.append(key, fields[key]); });
    box.textContent = this.t.tReading;
    this.wrapper.dataset.preview = "reading";
    this.post(body).then(function (result) {
      if (seq !== self.previewSeq) return;
      box.textContent = "";
      if (result.candidates && result.candidates.length) {
        self.showCandidates(result.candidates);
      } else if (result.geometry) {
        self.setPreview(result);
      }
      var errors = document.createElement("div");
      errors.className = "pw-errors";
      errors.appendChild(document.createElement("ul"));
      // Several outlines in a file: the server's error asks to choose one, which the list above already does.
      var several = result.candidates && result.candidates.length > 1;
      self.showErrors(errors, several ? [] : result.errors, self.previewMarkers);
      if (!errors.hidden) box.appendChild(errors);
      if (!result.geometry && !(result.candidates && result.candidates.length) && !(result.errors || []).length) {
        box.textContent = self.t.tNoOutline;
      }
      self.wrapper.dataset.preview = "done";
    }).catch(function () {
      if (seq !== self.previewSeq) return;
      box.textContent = self.t.tUnavailable;
      self.wrapper.dataset.preview = "failed";
    });
  };

  ParcelWidget.prototype.showCandidates = function (candidates) {
    var self = this;
    var box = this.entry.querySelector("[data-candidates]");
    var title = document.createElement("p");
    title.textContent = this.t.tChoose;
    box.appendChild(title);
    candidates.forEach(function (candidate, index) {
      var label = document.createElement("label");
      var radio = document.createElement("input");
      radio.type = "radio";
      radio.name = self.options.id + "_candidate";
      radio.value = String(index);
      radio.addEventListener("change", function () { self.setPreview(candidate); });
      label.appendChild(radio);
      label.appendChild(document.createTextNode(" " + fill(self.t.tCandidate, {
        label: candidate.label, m2: self.number(candidate.area_m2, 2)
      })));
      box.appendChild(label);
      if (candidates.length === 1) {
        radio.checked = true;
        self.setPreview(candidate);
      }
    });
    box.hidden = false;
  };

  ParcelWidget.prototype.setPreview = function (result) {
    this.previewSource.clear();
    if (this.previewMarkers) this.previewMarkers.clear();
    var box = this.entry && this.entry.querySelector("[data-preview]");
    var geometry = result && result.geometry ? GEOJSON.readGeometry(result.geometry, LONLAT) : null;
    var polygons = this.polygonsOf(geometry);
    this.preview = polygons.length ? polygons : null;
    var self = this;
    polygons.forEach(function (p) { self.previewSource.addFeature(new ol.Feature(p)); });
    if (this.entry) {
      this.entry.querySelectorAll("[data-apply]").forEach(function (b) { b.disabled = !polygons.length; });
    }
    if (!polygons.length) return;
    if (box && result.area_m2 !== null && result.area_m2 !== undefined) {
      var line = document.createElement("p");
      line.className = "pw-preview__area";
      line.dataset.areaM2 = String(result.area_m2);
      line.textContent = this.areaText(this.t.tPreview, result.area_m2);
      box.insertBefore(line, box.firstChild);
    }
    // Shown where it lies, large enough to see (a parcel read at the city's zoom would be a dot).
    this.map.getView().fit(this.previewSource.getExtent(), {padding: [60, 60, 60, 60], maxZoom: 19});
  };

  ParcelWidget.prototype.apply = function (how) {
    if (!this.preview) return;
    var self = this;
    this.remember();
    if (how === "replace") {
      this.select.getFeatures().clear();
      this.parts.clear();
    }
    this.preview.forEach(function (p) { self.parts.push(new ol.Feature(p.clone())); });
    this.write();
    this.setTool("edit");
  };

  function start() {
    var widgets = window.sipanahParcelWidgets = window.sipanahParcelWidgets || {};
    document.querySelectorAll("[data-sipanah-parcel-widget]").forEach(function (wrapper) {
      if (wrapper.sipanahWidget) return;
      var options = JSON.parse(document.getElementById(wrapper.dataset.sipanahParcelWidget).textContent);
      wrapper.sipanahWidget = widgets[options.id] = new ParcelWidget(wrapper, options);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
