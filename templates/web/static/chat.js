// Citizen web chat. Posts a question to /chat/api/ask and shows the answer with its sources folded
// away, "did you mean" buttons, feedback (a reason with 没帮助) and the 12345 hand-off. Every word
// comes from the page (data-* on <body> and the <template> elements of chat.html); answers are
// put in with textContent only, so nothing from the server is ever parsed as HTML. The
// conversation is kept in this browser's localStorage and never sent back to the server.
(function () {
  "use strict";
  var HISTORY_KEY = "mz_chat_history";
  var LARGE_KEY = "mz_chat_large_text";
  var MAX_ITEMS = 80;  // questions, answers and topic cards kept; older ones drop off

  var words = document.body.dataset;
  var earlier = document.getElementById("history");
  var box = document.getElementById("messages");
  var form = document.getElementById("ask");
  var input = document.getElementById("question");
  var send = document.getElementById("send");
  var busy = false;

  // -- storage: a blocked or full localStorage only means nothing is remembered -------------------
  function store() {
    try { return window.localStorage; } catch (e) { return null; }
  }
  function read(key) {
    var s = store();
    try { return s ? s.getItem(key) : null; } catch (e) { return null; }
  }
  function write(key, value) {
    var s = store();
    try { if (s) { if (value === null) s.removeItem(key); else s.setItem(key, value); } } catch (e) { /* full or denied */ }
  }
  function loadItems() {
    try {
      var items = JSON.parse(read(HISTORY_KEY) || "[]");
      return Array.isArray(items) ? items.filter(function (i) { return i && typeof i === "object"; }) : [];
    } catch (e) { return []; }
  }
  var items = loadItems();
  function saveItems() {
    if (items.length > MAX_ITEMS) items = items.slice(-MAX_ITEMS);
    write(HISTORY_KEY, JSON.stringify(items));
  }
  function remember(item) {
    items.push(item);
    saveItems();
    return item;
  }

  // -- DOM helpers ------------------------------------------------------------------------------
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function copy(id) {
    var tpl = document.getElementById(id);
    return tpl ? tpl.content.firstElementChild.cloneNode(true) : null;
  }
  function fill(root, cls, text) {
    var node = root.querySelector("." + cls);
    if (node) node.textContent = text;
    return node;
  }
  function show(node) {
    node.scrollIntoView({ block: "start" });
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) { return { status: r.status, data: data }; }, function () { return { status: r.status, data: {} }; });
    });
  }

  // -- the answer text without the parts shown below it again --------------------------------------
  // The core's text lists the sources under "出处:" and the suggestions under "您是不是想问:";
  // the page shows both as their own (folded, clickable) parts, so those paragraphs are left out.
  // Text without them (a channel that no longer sends them) is shown whole.
  // The follow-up line (templates/_followup.txt.j2, in brackets) is shown on its own above.
  function answerText(data, followupLine) {
    var hasSources = Array.isArray(data.sources) && data.sources.length > 0;
    var hasSuggestions = Array.isArray(data.suggestions) && data.suggestions.length > 0;
    return String(data.text || "").split(/\n[ \t]*\n/).filter(function (block) {
      var first = block.replace(/^\s+/, "").split("\n")[0].trim();
      if (hasSources && first === words.textSources) return false;
      if (hasSuggestions && first.indexOf(words.textSuggest) === 0) return false;
      if (followupLine && block.trim().replace(/^\((.*)\)$/, "$1") === followupLine) return false;
      return true;
    }).join("\n\n").trim();
  }

  function passage(text) {
    var body = el("div", "passage");
    String(text || "").split("\n").forEach(function (line) {
      if (line.trim()) body.appendChild(el("p", null, line.trim()));
    });
    return body;
  }

  function cnDate(day, format) {  // 2026-03-30 in the page's date format (data-date-format)
    var p = day.split("-");
    return format.replace("{y}", +p[0]).replace("{m}", +p[1]).replace("{d}", +p[2]);
  }

  function sourceItem(s) {
    var li = copy("tpl-source");
    fill(li, "src-number", "[" + s.number + "] ");
    fill(li, "src-name", s.title || "");
    fill(li, "src-section", s.section || "");
    var date = fill(li, "src-date", s.date || "");
    if (!s.date && date) date.hidden = true;
    var issuer = li.querySelector(".src-issuer");
    if (s.issuer) fill(li, "src-issuer-name", s.issuer); else issuer.hidden = true;
    if (s.issuer && s.order) fill(li, "src-issuer-name", s.issuer + "(" + s.order + ")");
    var status = li.querySelector(".src-status");
    // The validity as of the question's date: a rule not yet in force, or one repealed since.
    var label = s.validity === "not_yet" && s.effective ? (s.validity_now === "in_force" ? status.dataset.laterThanAsked : status.dataset.notYet).replace("{date}", cnDate(s.effective, status.dataset.dateFormat))
      : s.repealed_on ? status.dataset.repealed.replace("{date}", cnDate(s.repealed_on, status.dataset.dateFormat))
      : s.status ? status.dataset[s.status] : "";
    if (label) {
      status.textContent = label;
      status.hidden = false;
    }
    li.querySelector(".passage").replaceWith(passage(s.text));
    return li;
  }

  function suggestionButton(question) {
    var li = el("li");
    var b = el("button", "suggestion", question);
    b.type = "button";
    li.appendChild(b);
    return li;
  }

  // -- feedback -----------------------------------------------------------------------------------
  function rated(item, msg, message, live) {
    var status = msg.querySelector(".fb-status");
    // A disabled or removed button drops the focus to <body>: keep keyboard users where they were.
    var focused = live && document.activeElement === document.body;
    msg.querySelectorAll(".rate, form.reason").forEach(function (gone) {
      focused = focused || (live && gone.contains(document.activeElement));
      gone.remove();
    });
    status.textContent = message;
    if (focused) {
      status.tabIndex = -1;
      status.focus({ preventScroll: true });
    }
  }

  function sendFeedback(item, msg, value, comment) {
    var status = msg.querySelector(".fb-status");
    var body = { query_id: item.data.query_id, token: item.data.feedback_token, value: value };
    if (comment) body.comment = comment;
    var buttons = msg.querySelectorAll("button.fb");
    function enable(on) { buttons.forEach(function (b) { b.disabled = !on; }); }
    status.textContent = words.labelSending;
    enable(false);  // one vote per answer: a double tap sends it once
    return post("/chat/api/feedback", body).then(function (r) {
      // 403/404: a token from before a server restart (kept in the history) or a purged answer.
      var expired = r.status === 403 || r.status === 404;
      var message = expired ? words.labelExpired : (r.data && r.data.message) || words.labelFailed;
      if (r.status === 200 || r.status === 409 || expired) {  // 409: this answer was rated before
        item.rated = message;
        saveItems();
        rated(item, msg, message, true);
      } else {
        status.textContent = message;  // rate limited or failed: the buttons stay for another try
        enable(true);
      }
    }, function () { status.textContent = words.labelFailed; enable(true); });
  }

  function openReason(item, msg, down) {
    var existing = msg.querySelector("form.reason");
    if (existing) { existing.querySelector("input").focus(); return; }
    var reason = copy("tpl-reason");
    var name = "reason-" + (item.data.query_id || Date.now());
    reason.querySelectorAll("input[type=radio]").forEach(function (r) { r.name = name; });
    function close() {
      reason.remove();
      down.setAttribute("aria-expanded", "false");
      down.focus();
    }
    reason.addEventListener("submit", function (e) {
      e.preventDefault();
      var picked = reason.querySelector("input[type=radio]:checked");
      var extra = reason.querySelector("textarea").value.trim();
      var parts = [];
      if (picked) parts.push(picked.value);
      if (extra) parts.push(extra);
      reason.querySelector("button[type=submit]").disabled = true;
      sendFeedback(item, msg, -1, parts.join(": ")).then(function () {
        if (reason.isConnected) reason.querySelector("button[type=submit]").disabled = false;
      });
    });
    reason.querySelector(".cancel").addEventListener("click", close);
    reason.addEventListener("keydown", function (e) { if (e.key === "Escape") close(); });
    msg.querySelector(".actions").after(reason);
    down.setAttribute("aria-expanded", "true");
    reason.querySelector("input").focus();
  }

  // -- messages -----------------------------------------------------------------------------------
  function userMessage(item, where) {
    var msg = el("div", "msg user", item.text);
    where.appendChild(msg);
    return msg;
  }

  function answerMessage(item, where) {
    var data = item.data;
    var msg = copy("tpl-answer");
    msg.dataset.kind = data.kind;
    if (typeof data.asked === "string" && data.asked.trim()) {  // "1" picked a suggestion: which one
      fill(msg, "asked-text", data.asked);
      msg.querySelector(".asked").hidden = false;
    }
    var followupLine = null;
    if (typeof data.followup === "string" && data.followup.trim()) {  // the previous question it was read with
      var line = msg.querySelector(".followup");
      fill(line, "followup-text", data.followup);
      line.hidden = false;
      followupLine = line.textContent;
    }
    fill(msg, "text", answerText(data, followupLine));
    if (Array.isArray(data.sources) && data.sources.length) {
      var list = msg.querySelector(".source-list");
      data.sources.forEach(function (s) { list.appendChild(sourceItem(s)); });
      msg.querySelector(".sources").hidden = false;
    }
    if (Array.isArray(data.suggestions) && data.suggestions.length) {
      var sug = msg.querySelector(".suggestions .suggestion-list");
      data.suggestions.forEach(function (q) { sug.appendChild(suggestionButton(q)); });
      msg.querySelector(".suggestions").hidden = false;
    }
    if (data.check && Array.isArray(data.check.options) && data.check.options.length) {  // a guided check's answers
      var opts = msg.querySelector(".check-options .option-list");
      data.check.options.forEach(function (label) {
        var li = el("li");
        var b = el("button", "check-option", label);
        b.type = "button";
        li.appendChild(b);
        opts.appendChild(li);
      });
      msg.querySelector(".check-options").hidden = false;
    }
    if (item.rated) {
      rated(item, msg, item.rated, false);
    } else if (!data.query_id || !data.feedback_token) {
      msg.querySelector(".rate").remove();  // nothing to rate: the log did not keep this answer
    } else {
      msg.querySelectorAll("button.fb").forEach(function (b) {
        b.addEventListener("click", function () {
          if (b.dataset.value === "1") sendFeedback(item, msg, 1, null);
          else openReason(item, msg, b);
        });
      });
    }
    where.appendChild(msg);
    return msg;
  }

  function cardMessage(item, where) {
    var msg = item.t === "handoff" ? copy("tpl-handoff") : copy("tpl-topic-" + item.key);
    if (!msg) return null;  // a topic the menu no longer has
    where.appendChild(msg);
    return msg;
  }

  function render(item, where) {
    if (item.t === "q") return userMessage(item, where);
    if (item.t === "a" && item.data && typeof item.data === "object") return answerMessage(item, where);
    if (item.t === "handoff" || item.t === "topic") return cardMessage(item, where);
    return null;
  }

  function card(item) {
    var msg = render(remember(item), box);
    if (msg) { show(msg); msg.focus({ preventScroll: true }); }
  }

  // follow=false: a tapped suggestion or example is a question of its own, never a follow-up.
  function ask(question, follow) {
    question = String(question || "").trim();
    if (!question || busy) return;
    busy = true;
    send.disabled = true;
    var asked = render(remember({ t: "q", text: question }), box);
    var wait = el("div", "msg bot pending", words.labelWait);
    box.setAttribute("aria-busy", "true");
    box.appendChild(wait);
    function done() {
      busy = false;
      send.disabled = false;
      box.removeAttribute("aria-busy");
    }
    post("/chat/api/ask", follow === false ? { question: question, follow: false } : { question: question }).then(function (r) {
      if (!r.data || typeof r.data.text !== "string") throw new Error("no answer");
      wait.remove();
      render(remember({ t: "a", data: r.data }), box);
      show(asked);  // the question on top, its answer below it
      done();
    }).catch(function () {
      wait.textContent = words.labelFailed;
      wait.classList.remove("pending");
      done();
    });
  }

  // -- wiring -------------------------------------------------------------------------------------
  // Restored history goes above the live region, so a screen reader does not read it all out again.
  var lastAsked = null;
  items.forEach(function (item) {
    var node = render(item, earlier);
    if (item.t === "q") lastAsked = node;
  });
  if (lastAsked) show(lastAsked);

  document.addEventListener("click", function (e) {
    var target = e.target.closest("button");
    if (!target) return;
    if (target.classList.contains("suggestion")) ask(target.textContent, false);
    else if (target.classList.contains("check-option")) ask(target.textContent, true);  // answers the check's question
    else if (target.classList.contains("handoff-button")) card({ t: "handoff" });
    else if (target.classList.contains("chip")) card({ t: "topic", key: target.dataset.topic });
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (busy) return;
    var q = input.value;
    input.value = "";
    ask(q);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });

  var large = document.getElementById("large-text");
  function setLarge(on) {
    document.documentElement.classList.toggle("large-text", on);
    large.setAttribute("aria-pressed", on ? "true" : "false");
  }
  setLarge(read(LARGE_KEY) === "1");
  large.addEventListener("click", function () {
    var on = large.getAttribute("aria-pressed") !== "true";
    setLarge(on);
    write(LARGE_KEY, on ? "1" : null);
  });

  document.getElementById("clear").addEventListener("click", function () {
    if (!window.confirm(words.confirmClear)) return;
    items = [];
    write(HISTORY_KEY, null);
    earlier.textContent = "";
    box.textContent = "";
    input.focus();
  });
})();
