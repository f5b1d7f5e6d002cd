// Two gaps the component library leaves for keyboard and screen-reader users:
// - file inputs of upload zones get a name: react-dropzone renders its own <input type=file>
//   and Reflex passes it no props, so the zone carries the name in data-file-label and this
//   copies it onto the input (again whenever React re-renders it);
// - a table that scrolls sideways inside its box (phones) can be scrolled from the keyboard:
//   its scroll viewport joins the tab order while, and only while, it scrolls.
(function () {
  function scrollers() {
    var views = document.querySelectorAll(".rt-ScrollAreaViewport");
    for (var i = 0; i < views.length; i++) {
      var scrolls = views[i].scrollWidth > views[i].clientWidth + 1;
      if (scrolls && !views[i].hasAttribute("tabindex")) views[i].setAttribute("tabindex", "0");
      if (!scrolls && views[i].getAttribute("tabindex") === "0") views[i].removeAttribute("tabindex");
    }
  }
  function label() {
    var zones = document.querySelectorAll("[data-file-label]");
    for (var i = 0; i < zones.length; i++) {
      var input = zones[i].querySelector("input[type=file]");
      var name = zones[i].getAttribute("data-file-label");
      if (input && input.getAttribute("aria-label") !== name) input.setAttribute("aria-label", name);
    }
  }
  function all() { label(); scrollers(); }
  new MutationObserver(all).observe(document.documentElement, { childList: true, subtree: true });
  window.addEventListener("resize", scrollers);
  all();
})();
