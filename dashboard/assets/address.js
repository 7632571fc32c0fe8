// A page opened at a bare address (/team) fills in the view it shows (/team?team=T01) in place of that
// address, not after it. Dash's address component only ever adds history entries, so Back from the view
// returned to the bare address, whose page filled in the same view again: Back never left the page. A
// push that only gives a bare address its query string replaces the entry instead; every other push (a
// choice made on the page, a link to another page) adds one, as before.
(function () {
  var push = window.history.pushState;
  window.history.pushState = function (state, title, url) {
    if (url !== undefined && url !== null && !window.location.search) {
      var next = new URL(String(url), window.location.href);
      if (next.origin === window.location.origin && next.pathname === window.location.pathname && next.search
          && next.hash === window.location.hash) {
        return window.history.replaceState(state, title, url);
      }
    }
    return push.apply(window.history, arguments);
  };
})();
