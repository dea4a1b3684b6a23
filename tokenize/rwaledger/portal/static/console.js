// The officer console's one script: a confirmed batch is sent part by part, the page showing "n of N".
// Without this script the confirm form posts once and the server sends every part in that request.
(function () {
  "use strict";
  var form = document.getElementById("confirm");
  if (!form) { return; }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var pid = form.getAttribute("data-pending");
    var parts = Number(form.getAttribute("data-parts") || "1");
    var csrf = form.querySelector("input[name=csrf]").value;
    var button = form.querySelector("button");
    var bar = document.getElementById("progress");
    var text = document.getElementById("progress-text");
    button.disabled = true;
    bar.hidden = false;
    bar.max = parts;
    var done = function () { window.location.assign("/officer/pending/" + encodeURIComponent(pid)); };
    var send = function (i) {
      if (i >= parts) { done(); return; }
      text.textContent = "Sending part " + (i + 1) + " of " + parts + "…";
      var body = new FormData();
      body.append("csrf", csrf);
      fetch("/officer/pending/" + encodeURIComponent(pid) + "/parts/" + i,
            { method: "POST", body: body, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (answer) {
          bar.value = i + 1;
          text.textContent = (i + 1) + " of " + parts + " sent";
          if (answer.ok) { send(i + 1); } else { done(); }
        })
        .catch(function () { done(); });
    };
    send(0);
  });
})();
