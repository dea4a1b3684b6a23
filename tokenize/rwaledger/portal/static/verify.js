// Document verification: the file's SHA-256 is computed here, in the browser (Web Crypto); only the hash is sent.
(function () {
  "use strict";
  var input = document.getElementById("file");
  var drop = document.getElementById("drop");
  var out = document.getElementById("result");
  if (!input || !out) return;

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function day(unix) { return unix ? new Date(unix * 1000).toISOString().slice(0, 10) : "?"; }
  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error("the registry answered " + r.status);
      return r.json();
    });
  }
  function show(cls, verdict, lines, started) {
    out.replaceChildren();
    out.className = "result " + cls;
    out.appendChild(el("p", verdict, "verdict"));
    lines.forEach(function (l) { out.appendChild(typeof l === "string" ? el("p", l) : l); });
    if (started) out.dataset.ms = String(Math.round(performance.now() - started));
  }

  function describe(match, started, digest) {
    var id = match.asset_id;
    return Promise.all([getJSON("/api/assets/" + id), getJSON("/api/assets/" + id + "/documents")]).then(function (r) {
      var asset = r[0], docs = r[1];
      var later = docs.filter(function (d) { return d.document_id === match.superseded_by; })[0];
      var verdict = match.current ? "Genuine, current." :
        "Genuine, but superseded by v" + (later ? later.version : "?") + ".";
      var link = el("p");
      link.appendChild(document.createTextNode("Asset: "));
      var a = el("a", (asset.symbol || "#" + id) + " — " + (asset.name || ""));
      a.href = "/assets/" + encodeURIComponent(asset.symbol || id);
      link.appendChild(a);
      var lines = [link,
        "Document: “" + match.name + "”, version " + match.version + " (effective " + day(match.effective_date) + ").",
        "Registered on the chain in block " + match.block_number + "."];
      if (!match.current && later) {
        lines.push("This is an older version: version " + later.version + " replaced it in block " + later.block_number +
                   ". Ask for the current document.");
      } else {
        lines.push("This is the current version of this document.");
      }
      lines.push(el("p", "SHA-256 " + digest, "small mono break"));
      show(match.current ? "genuine" : "superseded", verdict, lines, started);
    });
  }

  function check(file) {
    if (!file) return;
    var started = performance.now();
    show("", "Computing the fingerprint of " + file.name + "…", [], 0);
    if (!window.crypto || !window.crypto.subtle) {
      show("unknown", "Cannot compute the fingerprint here.", ["This browser offers no Web Crypto (open the page over "
        + "https or on localhost)."], 0);
      return;
    }
    file.arrayBuffer().then(function (buf) { return crypto.subtle.digest("SHA-256", buf); }).then(function (h) {
      var digest = hex(h);
      return getJSON("/api/documents/verify?sha256=" + digest).then(function (answer) {
        if (!answer.registered) {
          show("unknown", "Not registered.", [
            "No document with this exact content is registered in this ledger. The file may have been altered "
            + "(even one character changes its fingerprint), or it is not the registered copy.",
            el("p", "SHA-256 " + digest, "small mono break")], started);
          return;
        }
        var current = answer.matches.filter(function (m) { return m.current; })[0];
        return describe(current || answer.matches[answer.matches.length - 1], started, digest);
      });
    }).catch(function (err) {
      show("unknown", "The check failed.", [String(err && err.message || err)], 0);
    });
  }

  input.addEventListener("change", function () { check(input.files[0]); });
  ["dragenter", "dragover"].forEach(function (t) {
    drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (t) {
    drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (e) {
    if (e.dataTransfer && e.dataTransfer.files.length) check(e.dataTransfer.files[0]);
  });
})();
