// "See the chart" links to a chart by its anchor (/trends?by=week#trend-referrals, /team?team=T08#spc-...).
// The page draws its charts after the address changes, so the browser found no such element to scroll to
// and the page stayed at its top, the chart thousands of pixels below (a dashboard audit). Wait for the
// element (up to 20 s), scroll it into view, and keep it there while the content above it is still
// drawn (up to 3 s), unless the reader scrolls or types first.
(function () {
  var timer = null;
  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
  }
  function seek() {
    stop();
    var id = decodeURIComponent(window.location.hash.slice(1));
    if (!id) { return; }
    var started = Date.now(), found = null, lastTop = null;
    timer = setInterval(function () {
      var el = document.getElementById(id);
      if (!el) {
        if (Date.now() - started > 20000) { stop(); }
        return;
      }
      var top = el.getBoundingClientRect().top;
      if (found === null) {
        found = Date.now();
        if (!el.hasAttribute("tabindex")) { el.setAttribute("tabindex", "-1"); }
        el.focus({preventScroll: true});  // a keyboard or screen-reader user lands on the chart too
      }
      if (lastTop === null || Math.abs(top) > 2) { el.scrollIntoView({block: "start"}); }
      lastTop = top;
      if (Date.now() - found > 3000) { stop(); }
    }, 150);
  }
  ["wheel", "keydown", "touchstart", "mousedown"].forEach(function (kind) {
    window.addEventListener(kind, stop, {passive: true, capture: true});
  });
  var push = window.history.pushState;
  window.history.pushState = function () {
    var result = push.apply(window.history, arguments);
    seek();
    return result;
  };
  window.addEventListener("popstate", seek);
  window.addEventListener("load", seek);
})();
