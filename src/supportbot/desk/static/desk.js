// The agent desk's one script: drafts kept across reloads and keyboard shortcuts.
// The pages work without it.
"use strict";
(function () {
  // -- drafts: what an agent typed survives a reload (this tab only), gone once sent
  var store = null;
  try { store = window.sessionStorage; } catch (e) { store = null; }
  var done = new URLSearchParams(window.location.search).get("done");
  if (store) {
    document.querySelectorAll("textarea[data-draft]").forEach(function (box) {
      var key = "desk-draft:" + box.getAttribute("data-draft");
      if (done) { store.removeItem(key); }
      if (!box.value && store.getItem(key)) { box.value = store.getItem(key); }
      box.addEventListener("input", function () { store.setItem(key, box.value); });
    });
  }

  // -- shortcuts: j / k move in the inbox, Enter opens; r reply, t take on a ticket
  function typing(target) {
    var name = target && target.tagName;
    return name === "INPUT" || name === "TEXTAREA" || name === "SELECT" || (target && target.isContentEditable);
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-ref] a"));
  var current = -1;
  function focusRow(index) {
    if (!rows.length) { return; }
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows[current].focus();
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (event.key === "j") { focusRow(current + 1); event.preventDefault(); }
    else if (event.key === "k") { focusRow(current - 1); event.preventDefault(); }
    else if (event.key === "r") {
      var reply = document.getElementById("text-reply");
      if (reply) { reply.focus(); event.preventDefault(); }
    } else if (event.key === "t") {
      var take = document.querySelector("form[data-action=take] button");
      if (take) { take.focus(); event.preventDefault(); }
    }
  });
})();
