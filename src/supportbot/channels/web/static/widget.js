/* supportbot web chat widget: one script, one stylesheet, no build step.
 *
 * Added to a page by one tag: <script src="https://SUPPORTBOT/widget/widget.js" defer></script>
 * Optional attributes: data-lang="fr|en" (else the page's lang, then the browser's),
 * data-transport="poll" (long polling instead of server-sent events),
 * data-identity="CUSTOMER.EXPIRES.HMAC" (a logged-in customer, signed by the marketplace:
 * the same conversation on every device).
 *
 * Text from the server is always inserted with textContent, never as HTML.
 * Each message carries a client id: sent again after a network failure, it is applied once.
 * Each message from the bot carries its outbox id: shown once, acknowledged, and the
 * stream resumes after the last one shown.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || document.querySelector(".sb-root")) { return; }
  var BASE = new URL(".", script.src).href.replace(/\/widget\/$/, "/");
  var TRANSPORT = script.getAttribute("data-transport") === "poll" ? "poll" : "sse";
  var IDENTITY = script.getAttribute("data-identity") || null;

  var TEXTS = {
    fr: {
      open: "Ouvrir le chat du Support", close: "Fermer le chat", title: "Support 3DWorksPrints",
      input: "Votre message", send: "Envoyer", attach: "Joindre un fichier",
      conversation: "Conversation avec le Support", more: "Plus d'options",
      mydata: "Télécharger mes données", forget: "Effacer mes données",
      other: "English", otherLang: "en", otherName: "Switch the chat to English",
      online: "En ligne", connecting: "Connexion…",
      retrying: "Le Support est injoignable pour le moment : nouvel essai dans un instant.",
      offline: "Hors ligne : vos messages partiront au retour de la connexion.",
      sending: "envoi…", failed: "Échec de l'envoi.", retry: "Réessayer",
      typing: "Le Support écrit…", download: "Télécharger", me: "Vous", bot: "Support", agent: "Conseiller",
      welcome: "Bonjour ! Posez votre question, nous vous répondons ici.",
      newOne: "nouveau message", newMany: "nouveaux messages",
      count: "{n} / 4 000 caractères", notSent: "Non envoyé.", stars: "{n} sur 5",
      tooLong: "Message trop long : {n} caractères pour 4 000 au plus. Raccourcissez-le ou envoyez-le en plusieurs fois.",
      uploaded: "envoyé"
    },
    en: {
      open: "Open the Support chat", close: "Close the chat", title: "3DWorksPrints Support",
      input: "Your message", send: "Send", attach: "Attach a file",
      conversation: "Conversation with Support", more: "More options",
      mydata: "Download my data", forget: "Erase my data",
      other: "Français", otherLang: "fr", otherName: "Passer le chat en français",
      online: "Online", connecting: "Connecting…",
      retrying: "Support cannot be reached right now: trying again in a moment.",
      offline: "Offline: your messages will go when the connection is back.",
      sending: "sending…", failed: "Sending failed.", retry: "Retry",
      typing: "Support is typing…", download: "Download", me: "You", bot: "Support", agent: "Agent",
      welcome: "Hello! Ask your question, we answer here.",
      newOne: "new message", newMany: "new messages",
      count: "{n} / 4,000 characters", notSent: "Not sent.", stars: "{n} out of 5",
      tooLong: "Message too long: {n} characters for 4,000 at most. Shorten it or send it in several parts.",
      uploaded: "sent"
    }
  };

  // -- storage that may be refused (private modes, blocked cookies): memory then ----------
  var memory = {};
  var store = {
    get: function (k) { try { return window.localStorage.getItem(k); } catch (e) { return memory[k] || null; } },
    set: function (k, v) { try { window.localStorage.setItem(k, v); } catch (e) { memory[k] = v; } },
    drop: function (k) { try { window.localStorage.removeItem(k); } catch (e) { delete memory[k]; } }
  };

  function pickLang() {
    var wanted = [store.get("sb-lang"), script.getAttribute("data-lang"),
      document.documentElement.lang, navigator.language];
    for (var i = 0; i < wanted.length; i++) {
      var code = (wanted[i] || "").toLowerCase().slice(0, 2);
      if (code === "fr" || code === "en") { return code; }
    }
    return "fr";
  }

  function newId() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  // -- state -------------------------------------------------------------------------------
  var lang = pickLang();
  var token = store.get("sb-token");
  var cursor = 0;               // the last bot message shown (outbox id)
  var acked = 0;
  var shownBot = {};            // outbox ids shown
  var shownMine = {};           // client ids shown
  var queue = [];               // sends not yet accepted by the server, in order
  try { queue = JSON.parse(store.get("sb-queue") || "[]"); } catch (e) { queue = []; }
  var pumping = false, connected = false, listening = false, started = false;
  var unreachable = false;      // the last send failed though the browser is online
  var blocked = false;          // the server refused this page a visitor: no retrying
  // A token belongs to whoever it was issued for: another customer, or none, starts afresh.
  var who = IDENTITY ? IDENTITY.split(".")[0] : "";
  if ((store.get("sb-who") || "") !== who) {
    token = null;
    store.drop("sb-token");
    store.drop("sb-queue");
    queue = [];
    if (who) { store.set("sb-who", who); } else { store.drop("sb-who"); }
  }
  var stopListening = null;     // aborts the open stream or poll
  var unread = 0;               // messages come while the panel was closed
  var replaying = false;        // the conversation shown again on load is not news
  var pageTitle = document.title;

  // -- the widget's tree -------------------------------------------------------------------
  var css = el("link", { rel: "stylesheet", href: BASE + "widget/widget.css" });
  document.head.appendChild(css);
  var root = el("div", { "class": "sb-root" });
  var launcher = el("button", { type: "button", "class": "sb-launcher", "aria-expanded": "false", "aria-controls": "sb-panel" });
  var panel = el("section", { id: "sb-panel", "class": "sb-panel", hidden: "" });
  var head = el("div", { "class": "sb-head" });
  var title = el("h2", { "class": "sb-title", id: "sb-title" });
  var state = el("p", { "class": "sb-state", role: "status" });
  var langButton = el("button", { type: "button", "class": "sb-lang" });
  var moreButton = el("button", { type: "button", "class": "sb-more", "aria-expanded": "false", "aria-controls": "sb-menu" });
  var closeButton = el("button", { type: "button", "class": "sb-close" });
  var menu = el("div", { id: "sb-menu", "class": "sb-menu", hidden: "" });
  var mydataButton = el("button", { type: "button" });
  var forgetButton = el("button", { type: "button" });
  var log = el("div", { "class": "sb-log", role: "log", "aria-live": "polite", tabindex: "0" });
  var typing = el("p", { "class": "sb-typing", hidden: "" });
  var form = el("form", { "class": "sb-form" });
  var label = el("label", { "for": "sb-input", "class": "sb-label" });
  // No maxlength: a pasted text is never cut silently; the counter says the limit first.
  var MAX_TEXT = 4000, WARN_TEXT = 3600;
  var input = el("textarea", { id: "sb-input", rows: "2", autocomplete: "off", enterkeyhint: "send", "aria-describedby": "sb-count" });
  var counter = el("p", { id: "sb-count", "class": "sb-count", "aria-live": "polite", hidden: "" });
  var attachButton = el("button", { type: "button", "class": "sb-attach" });
  var fileInput = el("input", { type: "file", hidden: "", multiple: "", accept: "image/*,application/pdf,video/mp4,.heic,.heif" });
  var sendButton = el("button", { type: "submit", "class": "sb-send" });

  menu.append(mydataButton, forgetButton);
  head.append(title, state, langButton, moreButton, closeButton, menu);
  form.append(label, input, attachButton, fileInput, sendButton, counter);
  panel.append(head, log, typing, form);
  root.append(launcher, panel);
  panel.setAttribute("aria-labelledby", "sb-title");
  document.body.appendChild(root);

  function t(key) { return TEXTS[lang][key]; }

  function applyLang() {
    root.setAttribute("lang", lang);
    showUnread();
    title.textContent = t("title");
    langButton.textContent = t("other");
    langButton.setAttribute("lang", t("otherLang"));
    langButton.setAttribute("aria-label", t("otherName"));
    moreButton.textContent = "⋯";
    moreButton.setAttribute("aria-label", t("more"));
    closeButton.textContent = "×";
    closeButton.setAttribute("aria-label", t("close"));
    mydataButton.textContent = t("mydata");
    forgetButton.textContent = t("forget");
    log.setAttribute("aria-label", t("conversation"));
    label.textContent = t("input");
    // The emoji is decoration; the name is text (read, translated, found by voice control).
    attachButton.textContent = "";
    attachButton.append(el("span", { "aria-hidden": "true" }, "📎"), el("span", { "class": "sb-sr" }, t("attach")));
    attachButton.setAttribute("title", t("attach"));
    sendButton.textContent = t("send");
    typing.textContent = t("typing");
    showCount();
    showState();
  }

  // The launcher and the page's title say how many messages came while the chat was closed.
  function showUnread() {
    var count = unread ? " (" + unread + " " + (unread > 1 ? t("newMany") : t("newOne")) + ")" : "";
    launcher.textContent = t("open");
    launcher.setAttribute("aria-label", t("open") + count);
    if (unread) { launcher.appendChild(el("span", { "class": "sb-badge", "aria-hidden": "true" }, String(unread))); }
    document.title = unread ? "(" + unread + ") " + pageTitle : pageTitle;
  }

  // The length is said near the limit, and a text over it is refused before it goes.
  function showCount() {
    var n = input.value.length;
    counter.hidden = n <= WARN_TEXT;
    counter.textContent = t(n > MAX_TEXT ? "tooLong" : "count").replace("{n}", String(n));
    root.classList.toggle("sb-too-long", n > MAX_TEXT);
    return n <= MAX_TEXT;
  }

  function showState() {
    if (!navigator.onLine) { state.textContent = t("offline"); root.classList.add("sb-offline"); return; }
    root.classList.remove("sb-offline");
    if (unreachable) { state.textContent = t("retrying"); return; }
    state.textContent = (connected || !token) ? t("online") : t("connecting");
  }

  // -- the conversation --------------------------------------------------------------------
  function scrollDown() { log.scrollTop = log.scrollHeight; }

  // hh:mm in the visitor's own locale; a line without a time (the welcome) has none.
  function clock(at) {
    var when = new Date(at);
    if (isNaN(when.getTime())) { return null; }
    var shown = when.toLocaleTimeString(navigator.language || undefined, { hour: "2-digit", minute: "2-digit" });
    return el("time", { "class": "sb-time", datetime: when.toISOString() }, shown);
  }

  function addLine(who, text, at) {
    var line = el("div", { "class": "sb-msg sb-" + (who === "agent" ? "bot sb-agent" : who) });
    if (who === "agent") {
      line.append(el("span", { "class": "sb-who" }, t("agent")));
    } else {
      line.append(el("span", { "class": "sb-sr" }, (who === "me" ? t("me") : t("bot")) + " : "));
    }
    var body = el("p", { "class": "sb-text" }, text);
    line.append(body);
    var time = at ? clock(at) : null;
    if (time) { line.appendChild(time); }
    log.appendChild(line);
    scrollDown();
    return line;
  }

  function showBot(message) {
    if (shownBot[message.id]) { return; }
    shownBot[message.id] = true;
    typing.hidden = true;
    var line = addLine(message.from === "agent" ? "agent" : "bot", message.text, message.at);
    line.setAttribute("data-id", String(message.id));
    if (message.buttons && message.buttons.length) {
      settle(log);  // a newer question: the buttons of earlier ones answer nothing now
      var group = el("div", { "class": "sb-buttons", role: "group" });
      message.buttons.forEach(function (b) {
        var button = el("button", { type: "button", "class": "sb-choice" });
        var stars = /^rate:/.test(b.payload || "") && /^★+$/.test(b.label);
        if (stars) {  // "★★★★" is read as "4 sur 5"
          button.append(el("span", { "aria-hidden": "true" }, b.label), el("span", { "class": "sb-sr" }, t("stars").replace("{n}", String(b.label.length))));
        } else {
          button.textContent = b.label;
        }
        button.addEventListener("click", function () { settle(group); send(b.label, b.payload); });
        group.appendChild(button);
      });
      line.appendChild(group);
      scrollDown();
    }
    if (message.id > cursor) { cursor = message.id; }
    if (panel.hidden && !replaying) { unread += 1; showUnread(); }
    scheduleAck();
  }

  // Buttons already answered, or of a question since replaced, can no longer be pressed.
  function settle(within) {
    Array.prototype.forEach.call(within.querySelectorAll(".sb-choice"), function (b) { b.disabled = true; });
  }

  function showMine(item) {
    if (shownMine[item.client_id]) { return shownMine[item.client_id]; }
    var line = addLine("me", item.text, item.at || new Date().toISOString());
    line.setAttribute("data-client-id", item.client_id);
    shownMine[item.client_id] = line;
    return line;
  }

  // The visitor's own lines come too (written in another tab): each shown once.
  function showAny(message) { if (message.from === "me") { showMine(message); } else { showBot(message); } }

  function note(text) { addLine("note", text); }

  // The server keeps the text masked (a card number): the bubble shows what was kept.
  function kept(item, text) {
    var line = shownMine[item.client_id];
    if (!line || typeof text !== "string" || !text) { return; }
    line.querySelector(".sb-text").textContent = text;
  }

  function setPending(item, pending) {
    var line = shownMine[item.client_id];
    if (!line) { return; }
    var mark = line.querySelector(".sb-pending");
    if (pending && !mark) { line.appendChild(el("span", { "class": "sb-pending" }, t("sending"))); }
    if (!pending && mark) { mark.remove(); }
  }

  // Refused for now (too many messages): the line says it did not go, with a retry.
  function unsent(item) {
    var line = shownMine[item.client_id];
    if (!line) { return; }
    var mark = el("span", { "class": "sb-failed" }, t("notSent") + " ");
    var retry = el("button", { type: "button", "class": "sb-retry" }, t("retry"));
    retry.addEventListener("click", function () {
      mark.remove();
      retry.remove();
      line.classList.remove("sb-unsent");
      queue.push(item);
      saveQueue();
      setPending(item, true);
      pump();
    });
    line.classList.add("sb-unsent");
    line.append(mark, retry);
  }

  // -- talking to the server ---------------------------------------------------------------
  function call(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (token) { headers.Authorization = "Bearer " + token; }
    return fetch(BASE + path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "omit" });
  }

  function refused(response) {
    return response.json().then(function (data) {
      if (data && data.message) { note(data.message[lang]); }
    }, function () { note(t("failed")); });
  }

  function forgetToken() { token = null; store.drop("sb-token"); connected = false; }

  function ensureToken() {
    if (token) { return Promise.resolve(token); }
    return call("POST", "api/visitor", IDENTITY ? { identity: IDENTITY } : {}).then(function (response) {
      if (!response.ok) {
        return refused(response).then(function () { blocked = true; throw new Error("visitor " + response.status); });
      }
      return response.json();
    }).then(function (data) {
      token = data.token;
      store.set("sb-token", token);
      return token;
    });
  }

  function saveQueue() { store.set("sb-queue", JSON.stringify(queue)); }

  function send(text, payload) {
    text = (text || "").trim();
    if (!text && !payload) { return; }
    var item = { client_id: newId(), text: text, payload: payload || null };
    queue.push(item);
    saveQueue();
    showMine(item);
    setPending(item, true);
    pump();
  }

  function pump() {
    if (pumping || !queue.length) { return; }
    pumping = true;
    var item = queue[0];
    typing.hidden = !navigator.onLine;
    ensureToken().then(function () {
      return call("POST", "api/messages", { client_id: item.client_id, text: item.text, payload: item.payload, language: lang });
    }).then(function (response) {
      if (response.status === 401) { forgetToken(); throw new Error("token"); }
      var done = function () { queue.shift(); saveQueue(); setPending(item, false); };
      if (!response.ok) {
        done();
        typing.hidden = true;
        if (response.status === 429) { unsent(item); }
        return refused(response);
      }
      return response.json().then(function (data) { done(); kept(item, data.text); follow(data.language); received(data); listen(); });
    }).then(function () {
      pumping = false;
      if (unreachable) { unreachable = false; showState(); }
      pump();
    }, function () {
      pumping = false;      // offline or the server out of reach: the same item, same id, later
      connected = false;
      typing.hidden = true; // no one is writing back while the message has not gone
      unreachable = navigator.onLine && !blocked;
      showState();
      if (!blocked) { window.setTimeout(pump, 2000); }
    });
  }

  function received(data) {
    if (data.erased) { restart(); }
    (data.notices || []).forEach(note);
    (data.documents || []).forEach(function (doc) {
      var bytes = Uint8Array.from(atob(doc.data), function (c) { return c.charCodeAt(0); });
      var link = el("a", { href: URL.createObjectURL(new Blob([bytes], { type: "application/json" })), download: doc.name, "class": "sb-download" }, t("download") + " " + doc.name);
      var line = addLine("bot", doc.caption);
      line.appendChild(link);
    });
  }

  // The visitor's data was erased: what was shown goes, and the chat is read from its start.
  function restart() {
    while (log.firstChild) { log.removeChild(log.firstChild); }
    shownBot = {};
    shownMine = {};
    cursor = 0;
    acked = 0;
    note(t("welcome"));
    if (stopListening) { stopListening(); }
  }

  function upload(file, item) {
    item = item || { client_id: newId(), text: "📎 " + file.name };
    var line = showMine(item);
    var old = line.querySelector(".sb-progress, .sb-retry, .sb-failed");
    while (old) { old.remove(); old = line.querySelector(".sb-progress, .sb-retry, .sb-failed"); }
    var progress = el("progress", { "class": "sb-progress", max: "100", value: "0", "aria-label": item.text });
    line.appendChild(progress);
    var fail = function () {
      progress.remove();
      line.appendChild(el("span", { "class": "sb-failed" }, t("failed") + " "));
      var retry = el("button", { type: "button", "class": "sb-retry" }, t("retry"));
      retry.addEventListener("click", function () { upload(file, item); });
      line.appendChild(retry);
    };
    ensureToken().then(function () {
      var xhr = new XMLHttpRequest();
      var query = "?client_id=" + encodeURIComponent(item.client_id) + "&name=" + encodeURIComponent(file.name) + "&language=" + lang;
      xhr.open("POST", BASE + "api/files" + query);
      xhr.setRequestHeader("Authorization", "Bearer " + token);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.onprogress = function (e) { if (e.lengthComputable) { progress.value = Math.round(100 * e.loaded / e.total); } };
      xhr.onerror = fail;
      xhr.onload = function () {
        progress.remove();
        var data = {};
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = {}; }
        if (xhr.status !== 200) { if (data.message) { note(data.message[lang]); } else { fail(); } return; }
        received(data);
        listen();
      };
      xhr.send(file);
    }, fail);
  }

  var ackTimer = null;
  function scheduleAck() {
    if (ackTimer || cursor <= acked || !token) { return; }
    ackTimer = window.setTimeout(function () {
      ackTimer = null;
      var upTo = cursor;
      call("POST", "api/ack", { up_to: upTo }).then(function (r) { if (r.ok && upTo > acked) { acked = upTo; } }, function () {});
    }, 300);
  }

  // -- what the bot says: server-sent events read with fetch (the token goes in a header,
  // never in a URL), or long polling on the same cursor ------------------------------------
  function listen() {
    if (listening || !token) { return; }
    listening = true;
    (TRANSPORT === "poll" ? pollOnce() : streamOnce()).then(function () {}, function () {}).then(function () {
      listening = false;
      connected = false;
      showState();
      stopListening = null;
      if (token) { window.setTimeout(listen, navigator.onLine ? 300 : 3000); }
    });
  }

  function handleStatus(response) {
    if (response.status === 401) { forgetToken(); throw new Error("token"); }
    if (!response.ok) { throw new Error("status " + response.status); }
    connected = true;
    showState();
    return response;
  }

  function abortable() {
    var controller = new AbortController();
    stopListening = function () { controller.abort(); };
    return controller.signal;
  }

  function streamOnce() {
    var headers = { Authorization: "Bearer " + token, Accept: "text/event-stream" };
    if (cursor) { headers["Last-Event-ID"] = String(cursor); }
    return fetch(BASE + "api/events", { headers: headers, credentials: "omit", cache: "no-store", signal: abortable() }).then(handleStatus).then(function (response) {
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      function read() {
        return reader.read().then(function (chunk) {
          if (chunk.done) { return; }
          buffer += decoder.decode(chunk.value, { stream: true });
          var parts = buffer.split("\n\n");
          buffer = parts.pop();
          parts.forEach(dispatch);
          return read();
        });
      }
      return read();
    });
  }

  function dispatch(block) {
    var data = [];
    block.split("\n").forEach(function (line) {
      if (line.indexOf("data:") === 0) { data.push(line.slice(5).trim()); }
    });
    if (data.length) { showAny(JSON.parse(data.join("\n"))); }
  }

  function pollOnce() {
    return fetch(BASE + "api/poll?after=" + cursor, { headers: { Authorization: "Bearer " + token }, credentials: "omit", cache: "no-store", signal: abortable() })
      .then(handleStatus)
      .then(function (response) { return response.json(); })
      .then(function (data) { data.messages.forEach(showAny); return pollOnce(); });
  }

  // The conversation shown again is not news: the live region announces only what comes after.
  function loadHistory() {
    log.setAttribute("aria-busy", "true");
    var done = function () { log.setAttribute("aria-busy", "false"); };
    return call("GET", "api/history").then(function (response) {
      if (response.status === 401) { forgetToken(); return; }
      if (!response.ok) { return; }
      return response.json().then(function (data) {
        replaying = true;
        data.messages.forEach(showAny);
        replaying = false;
        if (data.cursor > cursor) { cursor = data.cursor; }
      });
    }).then(done, function (err) { done(); throw err; });
  }

  function start() {
    if (started) { return; }
    started = true;
    note(t("welcome"));
    // A signed-in customer has a conversation to find again: asked for at once.
    var ready = (token || IDENTITY) ? ensureToken().then(loadHistory) : Promise.resolve();
    ready.then(function () {}, function () {}).then(function () {
      queue.forEach(function (item) { showMine(item); setPending(item, true); });
      listen();
      pump();
    });
  }

  // -- opening, closing, keys --------------------------------------------------------------
  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    root.classList.add("sb-open");
    if (unread) { unread = 0; showUnread(); }
    start();
    input.focus();
    scrollDown();
  }

  function close() {
    panel.hidden = true;
    menu.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    root.classList.remove("sb-open");
    launcher.focus();
  }

  launcher.addEventListener("click", function () { if (panel.hidden) { open(); } else { close(); } });
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { close(); } });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!showCount()) { input.focus(); return; }
    send(input.value);
    input.value = "";
    showCount();
    input.focus();
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });
  input.addEventListener("input", showCount);
  input.addEventListener("focus", function () { window.setTimeout(scrollDown, 300); }); // phone keyboards
  attachButton.addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    Array.prototype.forEach.call(fileInput.files, function (file) { upload(file); });
    fileInput.value = "";
  });
  // The customer wrote in English (or switched): the widget's own words follow the chat.
  function follow(language) {
    if ((language !== "fr" && language !== "en") || language === lang) { return; }
    lang = language;
    store.set("sb-lang", lang);
    applyLang();
  }

  langButton.addEventListener("click", function () {
    lang = t("otherLang");
    store.set("sb-lang", lang);
    applyLang();
  });
  moreButton.addEventListener("click", function () {
    menu.hidden = !menu.hidden;
    moreButton.setAttribute("aria-expanded", String(!menu.hidden));
    if (!menu.hidden) { mydataButton.focus(); }
  });
  mydataButton.addEventListener("click", function () { menu.hidden = true; send("/mydata"); });
  forgetButton.addEventListener("click", function () { menu.hidden = true; send("/forget"); });
  window.addEventListener("online", function () { showState(); pump(); listen(); });
  window.addEventListener("offline", function () { typing.hidden = true; showState(); });

  applyLang();
  if (token || queue.length) { start(); }
}());
