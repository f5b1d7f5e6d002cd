// Install Guildhall's service worker (assets/sw.js): an offline page instead of the
// browser's error when the phone has no connection.
if ("serviceWorker" in navigator) {
  window.addEventListener("load", function () {
    navigator.serviceWorker.register("/sw.js").catch(function () {});
  });
}
