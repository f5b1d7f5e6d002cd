// Guildhall lesson player: resume a video where the learner left it and report what was
// actually played. Finds <video data-gh-video> elements (the page may render them after
// this script loads, and swap the source on client-side navigation), seeks to their
// data-position once metadata is loaded, and every few seconds while playing (and on pause,
// end, hiding the tab, closing it, and following an in-app link, so leaving never loses
// the last seconds) fills the hidden form #video-progress-form with
// {position, ranges (JSON of video.played), duration} and submits it to the server.
(function () {
  if (window.__ghPlayer) return;
  window.__ghPlayer = true;
  var INTERVAL_MS = 5000;

  function playedRanges(video) {
    var out = [];
    for (var i = 0; i < video.played.length; i++) {
      out.push([video.played.start(i), video.played.end(i)]);
    }
    return out;
  }

  function report(video) {
    var form = document.getElementById("video-progress-form");
    if (!form || !isFinite(video.duration) || video.duration <= 0) return;
    if (video.__ghLast === video.currentTime) return;  // nothing new since the last report
    video.__ghLast = video.currentTime;
    var set = function (id, value) {
      var input = document.getElementById(id);
      if (input) input.value = value;
    };
    set("video-position", String(video.currentTime || 0));
    set("video-ranges", JSON.stringify(playedRanges(video)));
    set("video-duration", String(video.duration));
    if (typeof form.requestSubmit === "function") form.requestSubmit();
    else form.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
  }

  function resume(video) {
    var saved = parseFloat(video.getAttribute("data-position") || "0");
    if (saved > 0 && isFinite(video.duration) && saved < video.duration - 1) {
      video.currentTime = saved;
    }
  }

  function bind(video) {
    if (video.__ghBound) return;
    video.__ghBound = true;
    var timer = null;
    video.addEventListener("loadedmetadata", function () { resume(video); });
    if (video.readyState >= 1) resume(video);
    video.addEventListener("play", function () {
      if (timer) clearInterval(timer);
      timer = setInterval(function () { report(video); }, INTERVAL_MS);
    });
    var stop = function () {
      if (timer) clearInterval(timer);
      timer = null;
      report(video);
    };
    video.addEventListener("pause", stop);
    video.addEventListener("ended", stop);
  }

  function scan() {
    var videos = document.querySelectorAll("video[data-gh-video]");
    for (var i = 0; i < videos.length; i++) bind(videos[i]);
  }

  function reportAll() {
    var videos = document.querySelectorAll("video[data-gh-video]");
    for (var i = 0; i < videos.length; i++) report(videos[i]);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") reportAll();
  });
  window.addEventListener("pagehide", reportAll);
  // An in-app link swaps the page without unloading it: report before the player goes
  // (capture phase, so this runs before the router handles the click).
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target && target.closest && target.closest("a[href]")) reportAll();
  }, true);
  new MutationObserver(scan).observe(document.documentElement, { childList: true, subtree: true });
  scan();
})();
