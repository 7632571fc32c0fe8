// Keyboard use of the records dialog: Escape closes it (as its Close button does) and focus moves to
// the dialog when it opens, so keyboard and screen-reader users land inside it.
(function () {
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var drawer = document.getElementById("drawer");
    var close = document.getElementById("drawer-close");
    if (drawer && close && drawer.style.display !== "none") { close.click(); }
  });
  var seenOpen = false;
  new MutationObserver(function () {
    var drawer = document.getElementById("drawer");
    var open = !!drawer && drawer.style.display !== "none";
    if (open && !seenOpen) {
      var close = document.getElementById("drawer-close");
      if (close) { close.focus(); }
    }
    seenOpen = open;
  }).observe(document.documentElement, { subtree: true, attributes: true, attributeFilter: ["style"] });
})();
