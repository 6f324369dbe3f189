// /lookup keyboard use: "/" focuses the search box, j/k move between results, c copies the
// selected result's answer text with its citation, o opens the full document at the passage.
(function () {
  "use strict";
  var results = Array.prototype.slice.call(document.querySelectorAll(".result"));
  var status = document.getElementById("status");
  var current = -1;

  function select(i) {
    if (!results.length) return;
    i = Math.max(0, Math.min(results.length - 1, i));
    if (current >= 0) results[current].classList.remove("selected");
    current = i;
    results[i].classList.add("selected");
    results[i].scrollIntoView({ block: "nearest" });
  }

  function say(text) {
    status.textContent = text;
  }

  function copyFallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  function copy(i) {
    if (i < 0 || i >= results.length) return;
    var text = results[i].querySelector(".copy-text").value;
    var done = function () {
      document.body.dataset.lastCopied = text;
      say(document.body.dataset.copied);
    };
    var failed = function () {
      if (copyFallback(text)) { done(); } else { say(document.body.dataset.copyFailed); }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, failed);
    } else {
      failed();
    }
  }

  results.forEach(function (li, i) {
    li.querySelector("button.copy").addEventListener("click", function () { select(i); copy(i); });
    li.addEventListener("click", function (e) { if (e.target.tagName !== "A" && e.target.tagName !== "BUTTON") select(i); });
  });

  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea") {
      if (e.key === "Escape") e.target.blur();
      if (e.key === "ArrowDown" && tag === "input" && results.length) { e.preventDefault(); e.target.blur(); select(0); }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "j" || e.key === "ArrowDown") { e.preventDefault(); select(current + 1); }
    else if (e.key === "k" || e.key === "ArrowUp") { e.preventDefault(); select(current - 1); }
    else if (e.key === "c") { e.preventDefault(); copy(current < 0 ? 0 : current); }
    else if (e.key === "o" || e.key === "Enter") {
      if (current >= 0) { window.location.href = results[current].querySelector("a.title").href; }
    }
    else if (e.key === "/") { e.preventDefault(); var q = document.getElementById("q"); q.focus(); q.select(); }
  });

  // After a search, start on the first result so j/k/c work without reaching for the mouse.
  if (results.length) {
    document.getElementById("q").blur();
    select(0);
  }
})();
