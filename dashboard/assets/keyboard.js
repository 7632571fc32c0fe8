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
// Dash's dropdowns, made one labelled Tab stop: Dash 4 puts a hidden (aria-hidden) input in the Tab order that
// hands focus to the button, and names the button by its value alone. Here the button itself is the Tab stop
// and is named by the control's <label> and then its value ("Show figures for: Whole trust"); typing on it
// filters the options (Dash's own search box, given a name here).
(function () {
  function mend() {
    var targets = document.querySelectorAll(".dash-dropdown-focus-target");
    for (var i = 0; i < targets.length; i++) {
      if (targets[i].tabIndex !== -1) { targets[i].tabIndex = -1; }
    }
    var buttons = document.querySelectorAll("button.dash-dropdown[id]");
    for (var j = 0; j < buttons.length; j++) {
      var button = buttons[j];
      if (button.tabIndex !== 0) { button.tabIndex = 0; }
      var label = document.querySelector("label[for='" + button.id + "']");
      if (!label) { continue; }
      if (!label.id) { label.id = button.id + "-label"; }
      var named = button.getAttribute("aria-labelledby") || "";
      if (named.indexOf(label.id) !== 0) {
        button.setAttribute("aria-labelledby", (label.id + " " + named.replace(label.id, "")).trim());
      }
    }
    var searches = document.querySelectorAll("input.dash-dropdown-search:not([aria-label])");
    for (var k = 0; k < searches.length; k++) { searches[k].setAttribute("aria-label", "Type to filter the choices"); }
  }
  new MutationObserver(mend).observe(document.documentElement,
    { subtree: true, childList: true, attributes: true, attributeFilter: ["tabindex", "aria-labelledby"] });
  mend();
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
// Typing on a dropdown's button filters its choices in order, however fast. Dash reads a letter typed on the
// button when its key comes up, then moves focus to the search box on the next frame: a letter whose key went
// down before the move and came up after it (a fast typist's overlapping keys) reached neither, and was lost.
// Here the button's letters are taken as their keys go down, in order, and written into the search box once
// it shows; Space (which opens the dropdown) and shortcuts are left as they were.
// Dash also focuses a dropdown's chosen option on the frame after it opens; where that frame comes after the
// letters were written (a busy machine), the next letters went to the option and Enter chose the old value. So
// focus stays in a search box typed into until the user moves on: a key that moves (arrows, Page, Home, End,
// Tab, Enter, Escape), a pointer pressed, or the box gone.
(function () {
  var typed = "", before = "", opening = null, swallowed = {}, holding = null;
  var MOVES = ["ArrowDown", "ArrowUp", "PageDown", "PageUp", "Home", "End", "Tab", "Enter", "Escape"];
  function searchBox() { return document.querySelector(".dash-dropdown-content input.dash-dropdown-search"); }
  function letter(event) {
    return event.key.length === 1 && event.key !== " " && !event.ctrlKey && !event.metaKey && !event.altKey;
  }
  function write(tries) {
    var search = searchBox();
    if (!search) {
      if (tries > 0) { window.requestAnimationFrame(function () { write(tries - 1); }); } else { typed = ""; opening = null; }
      return;
    }
    // letters typed into the box itself meanwhile (it shows, and takes focus, before this runs) came after these
    var now = search.value, kept = now.indexOf(before) === 0;
    var setter = Object.getOwnPropertyDescriptor(window.HTMLInputElement.prototype, "value").set;
    setter.call(search, (kept ? before : "") + typed + (kept ? now.slice(before.length) : now));
    search.dispatchEvent(new Event("input", { bubbles: true }));  // React's own event: it filters as if typed
    search.focus();
    holding = search;
    typed = "";
    opening = null;
  }
  document.addEventListener("focusin", function (event) {
    if (!holding) { return; }
    if (!document.contains(holding)) { holding = null; return; }
    var moved = event.target;
    if (moved !== holding && moved instanceof Element && moved.closest(".dash-dropdown-content")) { holding.focus(); }
  }, true);
  document.addEventListener("pointerdown", function () { holding = null; }, true);
  document.addEventListener("keydown", function (event) {
    if (MOVES.indexOf(event.key) >= 0) { holding = null; }
    var button = event.target;
    if (!(button instanceof HTMLElement) || !button.matches("button.dash-dropdown") || !letter(event)) { return; }
    event.preventDefault();
    event.stopPropagation();
    swallowed[event.code || event.key] = true;  // and its key coming up is not read a second time
    typed += event.key;
    if (opening === button) { return; }  // the search box is not there yet: written with the first letter
    opening = button;
    var shown = searchBox();
    before = shown ? shown.value : "";
    if (button.getAttribute("aria-expanded") !== "true") { button.click(); }
    write(60);
  }, true);
  document.addEventListener("keyup", function (event) {
    var key = event.code || event.key;
    if (swallowed[key]) {
      delete swallowed[key];
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);
})();
