// Citizen web chat: posts the question to /chat/api/ask and shows the answer, its sources (with
// the full passage on demand), "did you mean" buttons and thumbs feedback. DOM built with
// textContent only, so nothing from an answer is ever parsed as HTML.
(function () {
  "use strict";
  var labels = document.body.dataset;
  var box = document.getElementById("messages");
  var form = document.getElementById("ask");
  var input = document.getElementById("question");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body)
    }).then(function (r) { return r.json(); });
  }

  function feedbackRow(data) {
    var row = el("div", "feedback");
    [[1, labels.labelUp], [-1, labels.labelDown]].forEach(function (pair) {
      var b = el("button", "fb", pair[1]);
      b.type = "button";
      b.dataset.value = String(pair[0]);
      b.addEventListener("click", function () {
        post("/chat/api/feedback", { query_id: data.query_id, token: data.feedback_token, value: pair[0] })
          .then(function (r) { row.textContent = r.message || labels.labelFailed; })
          .catch(function () { row.textContent = labels.labelFailed; });
      });
      row.appendChild(b);
    });
    return row;
  }

  function show(data) {
    var msg = el("div", "msg bot", data.text);
    msg.dataset.kind = data.kind;
    if (data.sources && data.sources.length) {
      var list = el("ol", "sources");
      data.sources.forEach(function (s) {
        var li = el("li");
        var details = el("details");
        var summary = el("summary", null, "[" + s.number + "] " + labels.labelOriginal + " · 《" + s.title + "》" + s.section);
        details.appendChild(summary);
        details.appendChild(el("p", "original", s.text));
        li.appendChild(details);
        list.appendChild(li);
      });
      msg.appendChild(list);
    }
    if (data.suggestions && data.suggestions.length) {
      var sug = el("div", "suggestions");
      sug.appendChild(el("span", null, labels.labelSuggest));
      data.suggestions.forEach(function (q) {
        var b = el("button", "suggestion", q);
        b.type = "button";
        b.addEventListener("click", function () { ask(q); });
        sug.appendChild(b);
      });
      msg.appendChild(sug);
    }
    if (data.query_id) msg.appendChild(feedbackRow(data));
    box.appendChild(msg);
    msg.scrollIntoView({ block: "start", behavior: "smooth" });
  }

  function ask(question) {
    question = question.trim();
    if (!question) return;
    box.appendChild(el("div", "msg user", question));
    var wait = el("div", "msg bot pending", labels.labelWait);
    box.appendChild(wait);
    post("/chat/api/ask", { question: question })
      .then(function (data) { box.removeChild(wait); show(data); })
      .catch(function () { wait.textContent = labels.labelFailed; wait.classList.remove("pending"); });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var q = input.value;
    input.value = "";
    ask(q);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });
})();
