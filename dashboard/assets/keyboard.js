// Keyboard use of the records dialog: focus moves into it when it opens, Tab and Shift+Tab stay inside it
// (it is modal), Escape closes it as its Close button does, and focus returns to the button that opened it.
(function () {
  var FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]), select, textarea, [tabindex]";
  function drawerOpen() {
    var drawer = document.getElementById("drawer");
    return !!drawer && drawer.style.display !== "none";
  }
  function tabbable(root) {
    return Array.prototype.filter.call(root.querySelectorAll(FOCUSABLE), function (el) {
      return el.tabIndex >= 0 && el.getClientRects().length > 0 && !el.closest("[aria-hidden=true]");
    });
  }
  document.addEventListener("keydown", function (event) {
    if (!drawerOpen()) { return; }
    if (event.key === "Escape") {
      var close = document.getElementById("drawer-close");
      if (close) { close.click(); }
      return;
    }
    if (event.key !== "Tab") { return; }
    var dialog = document.querySelector("#drawer .drawer");
    var stops = tabbable(dialog);
    if (!stops.length) { return; }
    var first = stops[0], last = stops[stops.length - 1], here = document.activeElement;
    if (!dialog.contains(here) || (event.shiftKey && here === first) || (!event.shiftKey && here === last)) {
      event.preventDefault();
      (event.shiftKey ? last : first).focus();
    }
  }, true);
  var seenOpen = false, opener = null;
  new MutationObserver(function () {
    var open = drawerOpen();
    if (open && !seenOpen) {
      var drawer = document.getElementById("drawer");
      opener = drawer.contains(document.activeElement) ? opener : document.activeElement;
      var close = document.getElementById("drawer-close");
      if (close) { close.focus(); }
    } else if (!open && seenOpen && opener && document.contains(opener)) {
      opener.focus();
    }
    seenOpen = open;
  }).observe(document.documentElement, { subtree: true, attributes: true, attributeFilter: ["style"] });
})();
// Dash's dropdown keeps a hidden, focusable input beside its button (aria-hidden, tabindex 0): a Tab stop
// that screen readers cannot see. The button (labelled by the control's label) is the only stop we want.
(function () {
  function untab() {
    var targets = document.querySelectorAll(".dash-dropdown-focus-target[tabindex='0']");
    for (var i = 0; i < targets.length; i++) { targets[i].tabIndex = -1; }
  }
  new MutationObserver(untab).observe(document.documentElement, { subtree: true, childList: true });
  untab();
})();
// A title per view: the page's main heading (and the unit it shows, when it names one), then "kpidash",
// so a browser tab, a bookmark and a screen reader's first words say where you are.
(function () {
  function retitle() {
    var h1 = document.querySelector("#page h1");
    if (!h1) { return; }
    var title = h1.textContent.trim() + " · kpidash";
    if (document.title !== title) { document.title = title; }
  }
  new MutationObserver(retitle).observe(document.documentElement, { subtree: true, childList: true, characterData: true });
  retitle();
})();
