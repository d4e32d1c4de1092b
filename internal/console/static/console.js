// Aether console: the only script (the Content-Security-Policy allows no
// inline script). It refreshes live panels and confirms deletes.
(function () {
  "use strict";
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (f.classList && f.classList.contains("confirm") && !window.confirm("Delete this? It cannot be undone.")) {
      e.preventDefault();
    }
  });
  var live = document.getElementById("live");
  if (!live) { return; }
  var every = parseInt(live.getAttribute("data-refresh"), 10) * 1000;
  if (!(every > 0)) { return; }
  window.setInterval(function () {
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var next = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        if (next) { live.replaceChildren.apply(live, Array.prototype.slice.call(next.childNodes)); }
      })
      .catch(function () {});
  }, every);
})();
