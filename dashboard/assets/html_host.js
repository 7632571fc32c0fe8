// Server-built HTML fragments (dashboard/components/spc_chart.py: XmR charts as SVG, their legends and
// tables). Dash has no SVG components, and hundreds of Dash components per chart make a page slow, so a
// fragment arrives as text in the data-html attribute of a .html-host element and is drawn here: its
// points keep their titles (shown on hover, read by screen readers) and the chart its text alternative.
// The server escapes every value it puts in a fragment.
(function () {
  function draw() {
    var hosts = document.querySelectorAll(".html-host[data-html]");
    for (var i = 0; i < hosts.length; i++) {
      var host = hosts[i];
      var fragment = host.getAttribute("data-html");
      if (host.__kpidashDrawn !== fragment) {
        host.innerHTML = fragment;
        host.__kpidashDrawn = fragment;
      }
    }
  }
  new MutationObserver(draw).observe(document.documentElement,
    { subtree: true, childList: true, attributes: true, attributeFilter: ["data-html"] });
  draw();
})();
