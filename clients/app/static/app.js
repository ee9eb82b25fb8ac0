// Holdspace: live updates and small comforts. The pages work without this script (forms post,
// pages reload); with it, new messages appear by themselves, and, if the person chose them, notices
// without words appear while the page is in the background. The only thing stored in the browser is
// which session dates were already reminded of (ids, no words).
"use strict";
(function () {
  const body = document.body;
  // The sentences this script shows, in the person's language: the page carries them (clients/app/
  // page_words.py) as a JSON data block, so they are there even once the app has stopped. English is
  // the fallback; {name} is filled from `values`.
  let words = {};
  try { words = JSON.parse((document.getElementById("words") || {}).textContent || "{}"); } catch (e) { words = {}; }
  function say(english, values) {
    const text = typeof words[english] === "string" && words[english] ? words[english] : english;
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }
  const announce = document.getElementById("announce");
  // The status line is a live region: it is changed only when what it says changes, so that a
  // screen reader announces a lost or regained connection, not every message that arrives.
  function showStatus(state, text) {
    const box = document.getElementById("status");
    const line = document.getElementById("status-text");
    const retry = document.getElementById("reconnect");
    if (box) { box.className = "status status-" + state; }
    if (line && line.textContent !== text) { line.textContent = text; }
    if (retry) { retry.hidden = state !== "offline"; }
  }

  // Fill the time-zone field with the browser's zone (IANA name) where a form asks for it.
  document.querySelectorAll("[data-local-zone]").forEach(function (input) {
    try {
      const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (zone) { input.value = zone; }
    } catch (e) { /* keep the server's default */ }
  });

  // "Copy" buttons.
  // A correction starts from the words as sent (not repeated in the page: they are read from the message).
  document.addEventListener("toggle", function (event) {
    const box = event.target;
    if (!(box instanceof HTMLDetailsElement) || !box.open || !box.classList.contains("edit")) { return; }
    const area = box.querySelector("textarea");
    const body = box.closest("article") && box.closest("article").querySelector(".body");
    if (area && body && !area.value) { area.value = body.textContent; }
  }, true);

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      const source = document.getElementById(button.dataset.copy);
      source.select();
      const done = function () { announce.textContent = say("Copied."); };
      if (navigator.clipboard) { navigator.clipboard.writeText(source.value).then(done, done); }
      else { document.execCommand("copy"); done(); }
    });
  });

  // Notices (Settings): turning them on asks the browser's permission first, and only then.
  const choice = document.getElementById("notify-choice");
  if (choice && window.Notification) {
    choice.hidden = false;
    choice.addEventListener("submit", function (event) {
      const on = choice.querySelector("input[name=on]");
      if (!on || on.value !== "yes" || Notification.permission === "granted") { return; }
      event.preventDefault();
      const said = document.getElementById("notify-said");
      const asked = Notification.permission === "default" ? Notification.requestPermission() : Promise.resolve(Notification.permission);
      asked.then(function (answer) {
        if (answer === "granted") { choice.submit(); return; }
        said.textContent = say("Your browser blocks notifications for this page. Allow them in the browser's settings for this site, then choose again.");
      });
    });
  }

  // A notice names the group, never who wrote or what: at most one a minute per group, only while
  // the page is hidden (on screen, the page itself shows what is new).
  const noticed = {};
  function notice(group, title, text) {
    if (!body.dataset.notify || !window.Notification || Notification.permission !== "granted") { return false; }
    if (document.visibilityState !== "hidden") { return false; }
    const now = Date.now();
    if (noticed[group] && now - noticed[group] < 60000) { return false; }
    noticed[group] = now;
    try {
      const options = { tag: "holdspace-" + group.slice(0, 16) };
      if (text) { options.body = text; }
      const n = new Notification(title, options);
      n.onclick = function () { window.focus(); n.close(); };
      return true;
    } catch (e) { return false; }
  }
  const REMINDED = "holdspace-reminded";
  function remind(list) {
    let done = [];
    try { done = JSON.parse(localStorage.getItem(REMINDED) || "[]"); } catch (e) { done = []; }
    (list || []).forEach(function (s) {
      if (done.indexOf(s.key) >= 0) { return; }
      const minutes = Math.max(1, Math.ceil((s.start - Date.now()) / 60000));
      if (notice(s.g, minutes === 1 ? say("The session starts in 1 minute") : say("The session starts in {n} minutes", { n: minutes }), s.name)) {
        done.push(s.key);
        try { localStorage.setItem(REMINDED, JSON.stringify(done.slice(-64))); } catch (e) { /* kept for this page only */ }
      }
    });
  }

  if (!body.dataset.root || !window.EventSource) { return; }
  const live = Boolean(body.dataset.live);

  // When the app on this device is closed (or stops), the page says so itself, with help still one
  // tap away, rather than leaving words on screen and a browser error at the next click.
  function showClosed() {
    const make = function (tag, text, attrs) {
      const e = document.createElement(tag);
      if (text) { e.textContent = text; }
      Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
      return e;
    };
    const header = make("header", "", { class: "top" });
    header.append(make("span", "Holdspace", { class: "brand" }));
    const main = make("main", "", { id: "main", tabindex: "-1" });
    const help = make("section", "", { class: "card crisis", "aria-labelledby": "closed-help" });
    const call = make("p", say("If you are in danger, call your local emergency number now: "));
    [["112", say("in the EU")], ["911", say("in the US and Canada")], ["999", say("in the UK")]].forEach(function (n, i) {
      call.append(make("a", n[0], { href: "tel:" + n[0] }), document.createTextNode(" " + n[1] + (i < 2 ? ", " : ".")));
    });
    const line = make("p", say("To talk with someone, find a free, confidential helpline in your country at "));
    line.append(make("a", "findahelpline.com", { href: "https://findahelpline.com", rel: "noopener noreferrer" }));
    help.append(make("h2", say("If you need help right now"), { id: "closed-help" }), call, line);
    main.append(
      make("h1", say("Holdspace is closed")),
      make("p", say("The Holdspace app on this device was closed, so this page can do nothing more. Your groups and messages are safe on this device, locked with your passphrase.")),
      make("p", say("To come back, start Holdspace again: it opens a new page.")),
      help
    );
    document.title = say("Closed · Holdspace");
    body.replaceChildren(header, main);  // no words of any conversation are left on screen
    main.focus();
  }
  let probing = false;
  function probe() {  // the live stream failed: is the app gone, or did the stream only drop?
    if (probing) { return; }
    probing = true;
    const once = function () { return fetch("/static/app.css", { method: "HEAD", cache: "no-store" }); };
    setTimeout(function () {
      once().catch(function () {
        return new Promise(function (resolve) { setTimeout(resolve, 1500); }).then(once);
      }).then(function () { probing = false; }, showClosed);
    }, 500);
  }

  // Parts of a page marked data-live (each with an id) are fetched again when something changed,
  // unless the reader is using them (focus inside, or a menu open): then once they leave.
  let refreshing = false;
  let again = false;  // a change arrived during a refresh: refresh once more when it ends
  function refresh() {
    const parts = Array.prototype.slice.call(document.querySelectorAll("[data-live][id]"));
    if (parts.length === 0) { return; }
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(location.pathname, { credentials: "same-origin", headers: {
      "Accept": "text/html", "X-Holdspace-Refresh": "1",
      "X-Holdspace-Seen": document.visibilityState === "hidden" ? "0" : "1"  // a hidden page reads nothing
    } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        const fresh = new DOMParser().parseFromString(html, "text/html");
        parts.forEach(function (part) {
          const next = fresh.getElementById(part.id);
          if (!next || part.contains(document.activeElement) || part.querySelector("details[open]")) { return; }
          if (part.innerHTML === next.innerHTML) { return; }  // unchanged: leave a reader's place alone
          const before = part.querySelectorAll("li").length;
          if (!mergeList(part, next)) { part.innerHTML = next.innerHTML; }
          const after = part.querySelectorAll("li").length;
          if (part.id === "messages" && after > before) { announce.textContent = say("New in the conversation."); }
        });
      })
      .catch(function () { /* the next change will try again */ })
      .finally(function () {
        refreshing = false;
        if (again) { again = false; refresh(); }
      });
  }

  // A list that only gained or changed a few items keeps the unchanged ones as they are (the same
  // nodes), so that a screen reader's place in the conversation is not lost.
  function mergeList(part, next) {
    const list = part.querySelector("ol, ul");
    const fresh = next.querySelector("ol, ul");
    if (!list || !fresh || part.children.length !== next.children.length) { return false; }
    for (let i = 0; i < part.children.length; i++) {
      if (part.children[i] !== list && part.children[i].outerHTML !== next.children[i].outerHTML) { return false; }
    }
    const kept = {};
    Array.prototype.forEach.call(list.children, function (item) { if (item.id) { kept[item.id] = item; } });
    const items = Array.prototype.map.call(fresh.children, function (item) {
      const old = item.id ? kept[item.id] : null;
      return old && old.outerHTML === item.outerHTML ? old : document.importNode(item, true);
    });
    list.replaceChildren.apply(list, items);
    return true;
  }

  const events = new EventSource(body.dataset.root + "/events");
  events.addEventListener("change", function (event) {
    const data = JSON.parse(event.data);
    if (data.status === "closed") { events.close(); showClosed(); return; }
    if (!live) { return; }
    if (data.status === "locked") { location.reload(); return; }  // no words left on screen once locked
    showStatus(data.status, data.text);
    body.dataset.connection = data.status;
    if (!body.dataset.group || data.groups.length === 0 || data.groups.indexOf(body.dataset.group) >= 0) {
      refresh();
    }
    remind(data.soon);  // a date already reminded of leaves the minute to the message
    (data.new || []).forEach(function (g) { notice(g.g, say("New message in {group}", { group: g.name })); });
  });
  events.addEventListener("soon", function (event) {
    if (live) { remind(JSON.parse(event.data).soon); }
  });
  // Back on screen: what the page shows now was seen (the conversation's mark moves on).
  document.addEventListener("visibilitychange", function () {
    if (live && document.visibilityState === "visible") { refresh(); }
  });
  events.addEventListener("error", function () {
    if (live) {
      showStatus("offline", say("The Holdspace app on this device is not responding. Start it again to send and receive."));
      body.dataset.connection = "app-stopped";
    }
    probe();
  });
  // A list left alone because someone was using it is refreshed once they leave it.
  if (live) {
    document.querySelectorAll("[data-live][id]").forEach(function (part) {
      part.addEventListener("focusout", function () { setTimeout(refresh, 300); });
    });
  }
})();
