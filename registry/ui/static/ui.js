// Podium's only script: plain enhancements; every page works without it.
(function () {
  "use strict";

  // The MLflow client prints links such as /#/experiments/1/runs/<id> (or /#/ml/..., or with
  // ?o=<workspace>): the fragment never reaches the server, so send the browser to the page.
  var hash = window.location.hash;
  if (hash.indexOf("#/") === 0) {
    var parts = hash.slice(1).split("?");
    var path = parts[0].replace(/^\/ml(?=\/)/, "");
    if (path === "/compare-runs") {
      // MLflow's form: #/compare-runs?runs=["<id>","<id>"]&experiments=["1"]
      var runs = new URLSearchParams(parts[1] || "").get("runs") || "[]";
      try {
        path = "/compare?" + JSON.parse(runs).map(function (id) {
          return "run=" + encodeURIComponent(id);
        }).join("&");
      } catch (error) {
        path = "/experiments";
      }
    }
    if (/^\/(experiments|models|runs|compare)(\/|\?|$)/.test(path)) {
      window.location.replace(path);
      return;
    }
  }

  // Forms that destroy something say so first.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
})();
