// The agent desk's one script: live updates (server-sent events), presence on a ticket,
// drafts kept across reloads and keyboard shortcuts. The pages work without it.
"use strict";
(function () {
  var params = new URLSearchParams(window.location.search);
  var live = document.getElementById("live");

  // -- drafts: what an agent typed survives a reload (localStorage), gone once sent
  var store = null;
  var sent = null;
  try { store = window.localStorage; sent = window.sessionStorage; } catch (e) { store = null; }
  if (store && sent) {
    var justSent = sent.getItem("desk-sent");
    if (justSent && params.get("done")) { store.removeItem(justSent); }
    sent.removeItem("desk-sent");
    document.querySelectorAll("textarea[data-draft]").forEach(function (box) {
      var key = "desk-draft:" + box.getAttribute("data-draft");
      if (!box.value && store.getItem(key)) { box.value = store.getItem(key); }
      box.addEventListener("input", function () {
        if (box.value) { store.setItem(key, box.value); } else { store.removeItem(key); }
      });
      box.form.addEventListener("submit", function () { sent.setItem("desk-sent", key); });
    });
  }

  // -- the inbox: a customer's news appears without a reload, with a notice
  var list = document.getElementById("inbox-list");
  var fresh = {};
  var refreshing = null;
  function refreshList() {
    if (refreshing) { return; }
    refreshing = window.setTimeout(function () {
      window.fetch(window.location.href, { credentials: "same-origin" })
        .then(function (answer) { return answer.ok ? answer.text() : null; })
        .then(function (html) {
          refreshing = null;
          if (!html) { return; }
          var found = new DOMParser().parseFromString(html, "text/html").getElementById("inbox-list");
          if (!found) { return; }
          list.innerHTML = found.innerHTML;
          list.querySelectorAll("tr[data-ref]").forEach(function (row) {
            if (!fresh[row.getAttribute("data-ref")]) { return; }
            row.classList.add("fresh");
            var mark = document.createElement("span");
            mark.className = "mark fresh";
            mark.textContent = list.getAttribute("data-fresh");
            row.querySelector("td.marks").appendChild(mark);
          });
          rows = collectRows();
        })
        .catch(function () { refreshing = null; });
    }, 150);
  }

  // -- a ticket: its new events appear, and a warning that the page is behind
  var events = document.getElementById("events");
  var changed = document.getElementById("changed");
  function showEvent(data) {
    var item = document.createElement("li");
    item.className = "event " + data["class"] + " fresh";
    var meta = document.createElement("p");
    meta.className = "meta";
    var time = document.createElement("time");
    time.setAttribute("datetime", data.at);
    time.textContent = data.time;
    meta.appendChild(time);
    meta.appendChild(document.createTextNode(" · " + data.label));
    item.appendChild(meta);
    if (data.text) {
      var text = document.createElement("p");
      text.className = "text";
      text.textContent = data.text;
      item.appendChild(text);
    }
    events.appendChild(item);
    if (changed) { changed.hidden = false; }
  }

  if (live && window.EventSource) {
    var source = new EventSource(live.getAttribute("data-stream"));
    var notice = document.getElementById("live-notice");
    var outsideNotice = document.getElementById("live-outside");
    var outside = 0;
    source.addEventListener("ticket", function (message) {
      var data = JSON.parse(message.data);
      if (events) { showEvent(data); return; }
      if (!list) { return; }
      if (data.notice) {
        fresh[data.ref] = true;
        notice.textContent = data.notice;
      } else if (data.outside) {  // news of a ticket the filters leave out: only counted
        outside += 1;
        var count = String(outside);
        outsideNotice.textContent = outside === 1 ? outsideNotice.getAttribute("data-one")
          : outsideNotice.getAttribute("data-many").replace("{count}", count);
        return;
      }
      refreshList();
    });
    var presence = document.getElementById("presence");
    source.addEventListener("presence", function (message) {
      if (presence) { presence.textContent = JSON.parse(message.data).text; }
    });
  }

  // -- presence: this page says its agent is here, and when they type
  var presenceUrl = live && live.getAttribute("data-presence");
  if (presenceUrl) {
    var csrf = live.getAttribute("data-csrf");
    var lastTyped = 0;
    var lastSaid = 0;
    var say = function (state) {
      var body = new URLSearchParams({ csrf: csrf, state: state });
      lastSaid = Date.now();
      if (state === "gone") { navigator.sendBeacon(presenceUrl, body); return; }
      window.fetch(presenceUrl, { method: "POST", body: body, credentials: "same-origin" })
        .catch(function () { return null; });
    };
    say("viewing");
    window.setInterval(function () {
      say(Date.now() - lastTyped < 8000 ? "writing" : "viewing");
    }, 10000);
    document.querySelectorAll("form.action textarea").forEach(function (box) {
      box.addEventListener("input", function () {
        var quiet = Date.now() - lastTyped > 8000;
        lastTyped = Date.now();
        if (quiet || Date.now() - lastSaid > 4000) { say("writing"); }
      });
    });
    window.addEventListener("pagehide", function () { say("gone"); });
  }

  // -- shortcuts: j / k move in the inbox, Enter opens, r replies, t takes
  function typing(target) {
    var name = target && target.tagName;
    return name === "INPUT" || name === "TEXTAREA" || name === "SELECT" || (target && target.isContentEditable);
  }
  function collectRows() {
    return Array.prototype.slice.call(document.querySelectorAll("tr[data-ref]"));
  }
  var rows = collectRows();
  var current = -1;
  function focusRow(index) {
    if (!rows.length) { return; }
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows[current].querySelector("a").focus();
  }
  function chosenRow() {
    var row = document.activeElement && document.activeElement.closest("tr[data-ref]");
    return row || rows[Math.max(current, 0)] || null;
  }
  if (window.location.hash === "#reply") {
    var box = document.getElementById("text-reply");
    if (box) { box.focus(); }
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var row;
    if (event.key === "j") { focusRow(current + 1); event.preventDefault(); }
    else if (event.key === "k") { focusRow(current - 1); event.preventDefault(); }
    else if (event.key === "r") {
      var reply = document.getElementById("text-reply");
      row = rows.length ? chosenRow() : null;
      if (reply) { reply.focus(); event.preventDefault(); }
      else if (row) { window.location.href = row.querySelector("a").href + "#reply"; event.preventDefault(); }
    } else if (event.key === "t") {
      var take = document.querySelector("form.action[data-action=take]");
      row = rows.length ? chosenRow() : null;
      if (!take && row) { take = row.querySelector("form[data-action=take]"); }
      if (take) { take.requestSubmit(); event.preventDefault(); }
    }
  });
  document.body.setAttribute("data-ready", "true");  // the shortcuts listen from now on
})();
