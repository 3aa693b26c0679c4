/* Sipanah field app's service worker (scope: the app's URL). The app shell and Leaflet come from the cache when the
   network fails, the package is kept in IndexedDB by the page; results are never cached here (the page queues
   them). */
"use strict";
var CACHE = "sipanah-field-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

// The page sends the shell's URLs; each is fetched and kept, then the page is told how many are kept ("cached"), so
// that it (and a test) knows when the app can open with no network: counting the cache's keys does not tell, the
// fetch handler below also keeps the API reads it passes through.
self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "cache") {
    var urls = event.data.urls;
    event.waitUntil(caches.open(CACHE).then(function (cache) {
      return Promise.all(urls.map(function (url) {
        return fetch(url, { credentials: "same-origin" }).then(function (r) {
          return r.ok ? cache.put(url, r).then(function () { return true; }) : false;
        }).catch(function () { return false; });
      }));
    }).then(function (kept) {
      var done = kept.filter(Boolean).length;
      if (event.source) { event.source.postMessage({ type: "cached", done: done, total: urls.length }); }
    }));
  }
});

function fromNetwork(request) {
  return fetch(request).then(function (response) {
    if (response.status >= 500) { throw new Error("server error " + response.status); }
    if (response.ok && response.type === "basic" && !response.redirected) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) { return; }
  if (url.pathname.indexOf("/static/") === 0) {  // static files: the cache first (their names change with them)
    event.respondWith(caches.match(request).then(function (hit) { return hit || fromNetwork(request); }));
    return;
  }
  // The app page and its API reads: the network first, the cache when it fails (offline, or the server is down).
  event.respondWith(fromNetwork(request).catch(function (error) {
    return caches.match(request, { ignoreSearch: true }).then(function (hit) {
      if (hit) { return hit; }
      throw error;
    });
  }));
});
