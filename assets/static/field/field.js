/* Sipanah's field app: the team's package and the results recorded offline live in IndexedDB; the service worker
   (sw.js) keeps the app shell; results and photos go to the server when the phone is online (one request each,
   every one idempotent by the UUID the phone gave it, so a cut connection only means sending again). */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("field-config").textContent);
  var words = JSON.parse(document.getElementById("field-words").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var db, pkg = null, current = null, position = null, corners = [], map, parcelLayer, syncing = false;

  // --- IndexedDB -------------------------------------------------------------------------------------------------
  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open("sipanah-field", 1);
      req.onupgradeneeded = function () {
        var d = req.result;
        d.createObjectStore("meta");
        d.createObjectStore("results", { keyPath: "client_id" });
        d.createObjectStore("photos", { keyPath: "photo_id" });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function tx(store, mode, fn) {
    return new Promise(function (resolve, reject) {
      var t = db.transaction(store, mode), s = t.objectStore(store), out = fn(s);
      t.oncomplete = function () { resolve(out instanceof IDBRequest ? out.result : out); };
      t.onerror = function () { reject(t.error); };
    });
  }
  function all(store) { return tx(store, "readonly", function (s) { return s.getAll(); }); }
  function put(store, value, key) { return tx(store, "readwrite", function (s) { return key ? s.put(value, key) : s.put(value); }); }
  function uuid() {
    if (crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16)); b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  // --- network state ---------------------------------------------------------------------------------------------
  function showNet() {
    $("net").textContent = navigator.onLine ? words.online : words.offline;
    $("net").classList.toggle("is-offline", !navigator.onLine);
  }

  // --- package -----------------------------------------------------------------------------------------------------
  function loadTeams() {
    return fetch(config.teamsUrl, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.json();
    }).then(function (data) {
      var select = $("team"); select.textContent = "";
      data.teams.forEach(function (t) {
        var o = document.createElement("option");
        o.value = t.package; o.textContent = t.campaign + " · " + t.name + " (" + t.parcels + ")";
        select.appendChild(o);
      });
    }).catch(function () { /* offline: the package on the phone is used */ });
  }
  function download() {
    var url = $("team").value;
    if (!url) { $("package-info").textContent = words.noTeam; return; }
    $("package-info").textContent = words.downloading;
    fetch(url, { credentials: "same-origin" }).then(function (r) {
      return r.text().then(function (text) {
        if (!r.ok) { throw new Error(JSON.parse(text).error || r.status); }
        var data = JSON.parse(text); data.size_bytes = text.length;
        return put("meta", data, "package").then(function () { return data; });
      });
    }).then(function (data) { pkg = data; showPackage(); }).catch(function (e) {
      $("package-info").textContent = words.downloadFailed + " " + e.message;
    });
  }
  function showPackage() {
    if (!pkg) { return; }
    $("package-info").textContent = words.packageInfo
      .replace("%(team)s", pkg.team.name).replace("%(campaign)s", pkg.campaign.name)
      .replace("%(n)s", pkg.parcels.features.length).replace("%(size)s", (pkg.size_bytes / 1048576).toFixed(2))
      .replace("%(expires)s", new Date(pkg.expires_at).toLocaleString());
    if (new Date(pkg.expires_at) < new Date()) {
      $("package-info").textContent += " " + words.expired;
    }
    if (parcelLayer) { map.removeLayer(parcelLayer); }
    var group = L.featureGroup().addTo(map);
    L.geoJSON(pkg.kelurahan, { style: { color: "#777", weight: 1, fill: false, dashArray: "4 3" }, interactive: false }).addTo(group);
    var parcels = L.geoJSON(pkg.parcels, {
      style: { color: "#1d4e89", weight: 2, fillOpacity: 0.25 },
      onEachFeature: function (f, layer) { layer.on("click", function () { openParcel(f); }); }
    }).addTo(group);
    parcelLayer = group;
    if (parcels.getLayers().length) { map.fitBounds(parcels.getBounds()); }
    var list = $("parcels"); list.textContent = "";
    pkg.parcels.features.forEach(function (f) {
      var li = document.createElement("li"), b = document.createElement("button");
      b.type = "button"; b.className = "parcel"; b.dataset.asset = f.id;
      b.textContent = f.properties.label + " · " + f.properties.name;
      b.addEventListener("click", function () { openParcel(f); });
      li.appendChild(b); list.appendChild(li);
    });
    if (db) { showResults(); }
  }

  // --- one parcel's form -------------------------------------------------------------------------------------------
  function openParcel(f) {
    current = f; position = null; corners = [];
    $("form-box").hidden = false;
    $("form-title").textContent = f.properties.label + " · " + f.properties.name;
    var kib = $("kib"); kib.textContent = "";
    f.properties.kib.forEach(function (pair) {
      var dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = pair[0]; dd.textContent = pair[1]; kib.appendChild(dt); kib.appendChild(dd);
    });
    $("result-form").reset(); $("position").textContent = ""; $("corners").textContent = "";
    $("form-box").scrollIntoView();
  }
  function locate(then) {
    if (!navigator.geolocation) { $("position").textContent = words.noGps; return; }
    $("position").textContent = words.locating;
    navigator.geolocation.getCurrentPosition(function (p) {
      var here = { lon: p.coords.longitude, lat: p.coords.latitude, accuracy: p.coords.accuracy };
      $("position").textContent = here.lat.toFixed(6) + ", " + here.lon.toFixed(6) + " ± " + Math.round(here.accuracy) + " m";
      if (then) { then(here); } else { position = here; }
    }, function (e) { $("position").textContent = words.noGps + " " + e.message; },
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
  }
  function save(ev) {
    ev.preventDefault();
    if (!current) { return; }
    var boundary = null;
    if (corners.length >= 3) {
      var ring = corners.map(function (c) { return [c.lon, c.lat]; }); ring.push(ring[0]);
      boundary = { type: "Polygon", coordinates: [ring] };
    }
    var result = {
      client_id: uuid(), assignment: current.properties.assignment, asset: current.id, label: current.properties.label,
      base_version: current.properties.version, found: $("found").value, condition: $("condition").value,
      use: $("use").value, occupation: $("occupation").value, patok: $("patok").checked, notes: $("notes").value,
      lon: position ? position.lon : null, lat: position ? position.lat : null,
      accuracy: position ? position.accuracy : null, boundary: boundary, recorded_at: new Date().toISOString(),
      status: "pending", message: "", user: config.user
    };
    var files = Array.prototype.slice.call($("photos").files || []);
    var writes = files.map(function (file) {
      return put("photos", { photo_id: uuid(), client_id: result.client_id, name: file.name, blob: file, status: "pending" });
    });
    Promise.all(writes).then(function () { return put("results", result); }).then(function () {
      $("form-box").hidden = true; current = null; showResults();
      if (navigator.onLine) { sync(); }
    });
  }

  // --- results and synchronisation ---------------------------------------------------------------------------------
  function showResults() {
    return all("results").then(function (results) {
      results = results.filter(function (r) { return r.user === config.user; });  // the phone may be shared
      var list = $("results"); list.textContent = "";
      results.sort(function (a, b) { return a.recorded_at < b.recorded_at ? 1 : -1; });
      results.forEach(function (r) {
        var li = document.createElement("li"), s = document.createElement("span");
        li.className = "result"; li.dataset.status = r.status;
        s.className = "field-status field-status--" + r.status; s.textContent = words[r.status] || r.status;
        li.appendChild(s);
        li.appendChild(document.createTextNode(" " + r.label + " · " + (words[r.found] || r.found) + (r.message ? " · " + r.message : "")));
        list.appendChild(li);
      });
      var done = {};
      results.forEach(function (r) { done[r.asset] = r.status; });
      Array.prototype.forEach.call(document.querySelectorAll("#parcels button"), function (b) {
        var status = done[b.dataset.asset];
        b.dataset.status = status || "";
        b.dataset.label = b.dataset.label || b.textContent;
        b.textContent = (status ? "✓ " : "") + b.dataset.label + (status ? " (" + (words[status] || status) + ")" : "");
      });
      var pending = results.filter(function (r) { return r.status === "pending"; }).length;
      $("sync-info").textContent = words.pendingCount.replace("%(n)s", pending);
    });
  }
  function post(url, body, json) {
    var headers = { "X-CSRFToken": csrf() || config.csrf, "X-Package": pkg ? pkg.package : "" };
    if (json) { headers["Content-Type"] = "application/json"; }
    return fetch(url, { method: "POST", credentials: "same-origin", headers: headers, body: body });
  }
  function sendPhotos(result) {
    return all("photos").then(function (photos) {
      var mine = photos.filter(function (p) { return p.client_id === result.client_id && p.status !== "synced"; });
      return mine.reduce(function (chain, p) {
        return chain.then(function () {
          var form = new FormData(); form.append("photo", p.blob, p.name);
          var url = config.resultsUrl + result.client_id + "/photos/" + p.photo_id + "/";
          return post(url, form, false).then(function (r) {
            return r.json().then(function (body) {
              p.status = r.ok ? "synced" : "error"; p.message = r.ok ? "" : body.error;
              return put("photos", p);
            });
          });
        });
      }, Promise.resolve());
    });
  }
  function sync() {
    if (syncing || !pkg) { return Promise.resolve(); }
    syncing = true; $("sync-info").textContent = words.syncing;
    document.body.dataset.sync = "running";
    return all("results").then(function (results) {
      var todo = results.filter(function (r) {
        return r.user === config.user && (r.status === "pending" || r.photos_pending);
      });
      return todo.reduce(function (chain, r) {
        return chain.then(function () {
          var body = {};
          Object.keys(r).forEach(function (k) { if (["status", "message", "user"].indexOf(k) < 0) { body[k] = r[k]; } });
          return post(config.resultsUrl, JSON.stringify(body), true).then(function (resp) {
            return resp.json().then(function (answer) {
              if (!resp.ok) { r.status = "error"; r.message = answer.error || String(resp.status); return put("results", r); }
              r.status = answer.conflict ? "conflict" : "synced"; r.message = answer.conflict ? words.conflictNote : "";
              r.photos_pending = true;
              return put("results", r).then(function () { return sendPhotos(r); }).then(function () {
                r.photos_pending = false; return put("results", r);
              });
            });
          });
        });
      }, Promise.resolve());
    }).catch(function () { /* the network went away: everything not sent stays pending */ })
      .then(function () { syncing = false; return showResults(); })
      .then(function () { document.body.dataset.sync = "idle"; });
  }

  // --- start -------------------------------------------------------------------------------------------------------
  function start() {
    showNet();
    map = L.map("map", { preferCanvas: false }).setView([-1.24, 116.85], 12);
    $("download").addEventListener("click", download);
    $("sync").addEventListener("click", sync);
    $("locate").addEventListener("click", function () { locate(); });
    $("corner").addEventListener("click", function () {
      locate(function (here) { corners.push(here); $("corners").textContent = words.corners.replace("%(n)s", corners.length); });
    });
    $("result-form").addEventListener("submit", save);
    $("cancel").addEventListener("click", function () { $("form-box").hidden = true; current = null; });
    window.addEventListener("online", function () { showNet(); sync(); });
    window.addEventListener("offline", showNet);
    openDb().then(function (d) {
      db = d;
      return tx("meta", "readonly", function (s) { return s.get("package"); });
    }).then(function (stored) {
      pkg = stored && stored.user === config.user ? stored : null;  // a package is bound to its user
      showPackage();
      return showResults();
    }).then(function () {
      // Ready once the package AND the queue read back from IndexedDB are on the page (showResults is
      // asynchronous: marking the page ready before it resolved let a reader see an empty queue).
      document.body.dataset.ready = "1";
    });
    loadTeams();
    if ("serviceWorker" in navigator) {
      // The worker answers the shell's caching: body[data-shell] = "cached" once every file is kept ("partial" else).
      navigator.serviceWorker.addEventListener("message", function (event) {
        if (event.data && event.data.type === "cached") {
          document.body.dataset.shell = event.data.done === event.data.total ? "cached" : "partial";
        }
      });
      navigator.serviceWorker.register(config.swUrl, { scope: config.scope }).then(function () {
        return navigator.serviceWorker.ready;
      }).then(function (reg) {
        // Refresh the kept shell only when online: offline, the worker's own fetches (which the browser's offline
        // state does not cover) would only fail, or reach a server that answers 5xx.
        if (navigator.onLine) { reg.active.postMessage({ type: "cache", urls: config.shell }); }
      }).catch(function () { /* no service worker: the app works while online */ });
    }
  }
  start();
})();
