// /lookup keyboard use: "/" focuses the search box, j/k move between results, c copies the
// selected result's answer text with its citation, o opens the full document at the passage,
// f copies the FAQ's 标准口径 with its sources (when the page shows one).
(function () {
  "use strict";
  var results = Array.prototype.slice.call(document.querySelectorAll(".result"));
  var status = document.getElementById("status");
  var current = -1;

  function select(i, still) {
    if (!results.length) return;
    i = Math.max(0, Math.min(results.length - 1, i));
    if (current >= 0) results[current].classList.remove("selected");
    current = i;
    results[i].classList.add("selected");
    if (!still) results[i].scrollIntoView({ block: "nearest" });
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
    copyText(results[i].querySelector(".copy-text").value, document.body.dataset.copied);
  }

  function copyFaq() {
    var area = document.getElementById("faq-copy");
    if (area) copyText(area.value, document.body.dataset.copiedFaq);
  }

  function copyText(text, message) {
    var done = function () {
      document.body.dataset.lastCopied = text;
      say(message);
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

  // A short URL to share: filters left at 全部 are not sent (the page reads a missing one as 全部).
  var form = document.querySelector("form.search");
  if (form) form.addEventListener("submit", function () {
    Array.prototype.forEach.call(form.querySelectorAll("select"), function (s) { if (!s.value) s.disabled = true; });
  });
  window.addEventListener("pageshow", function () {  // coming back: the form is usable again
    Array.prototype.forEach.call(document.querySelectorAll("form.search select"), function (s) { s.disabled = false; });
  });

  var faqButton = document.getElementById("faq-copy-button");
  if (faqButton) faqButton.addEventListener("click", copyFaq);

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
    else if (e.key === "f") { e.preventDefault(); copyFaq(); }
    // Enter on a focused link, button or 原文 toggle (a filter chip, reached with Tab) is that control's own.
    else if (e.key === "o" || (e.key === "Enter" && tag !== "a" && tag !== "button" && tag !== "summary")) {
      if (current >= 0) { window.location.href = results[current].querySelector("a.title").href; }
    }
    else if (e.key === "/") { e.preventDefault(); var q = document.getElementById("q"); q.focus(); q.select(); }
  });

  // After a search, start on the first result so j/k/c work without reaching for the mouse,
  // without scrolling: the 标准口径 above it (and the filters) stay in view, on a phone too.
  if (results.length) {
    document.getElementById("q").blur();
    select(0, true);
  }
})();
