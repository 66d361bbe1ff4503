// Podium's only script: plain enhancements; every page works without it.
(function () {
  "use strict";

  // The MLflow client prints links such as /#/experiments/1/runs/<id> (or /#/ml/..., or with
  // ?o=<workspace>): the fragment never reaches the server, so send the browser to the page.
  var hash = window.location.hash;
  if (hash.indexOf("#/") === 0) {
    var path = hash.slice(1).split("?")[0].replace(/^\/ml(?=\/)/, "");
    if (/^\/(experiments|models|runs)(\/|$)/.test(path)) {
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
