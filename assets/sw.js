// Guildhall's service worker: when a page cannot be loaded because the device is offline,
// show our offline page instead of the browser's error. Nothing else is cached: every page
// and file comes from the server as before (learning data must be fresh and private).
var CACHE = "guildhall-offline-v1";
var OFFLINE = ["/offline.html", "/icon-192.png", "/favicon.ico"];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) { return cache.addAll(OFFLINE); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k !== CACHE; })
        .map(function (k) { return caches.delete(k); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(function () {
      return caches.match("/offline.html");
    }));
  } else if (OFFLINE.indexOf(new URL(request.url).pathname) !== -1) {
    event.respondWith(fetch(request).catch(function () { return caches.match(request); }));
  }
});
