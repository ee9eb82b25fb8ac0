// Holdspace: live updates and small comforts. The pages work without this script (forms post,
// pages reload); with it, new messages appear by themselves. No data is stored in the browser.
"use strict";
(function () {
  const body = document.body;
  const announce = document.getElementById("announce");
  const statusText = document.getElementById("status-text");
  const list = document.getElementById("messages");

  // Fill the time-zone field with the browser's zone (IANA name) where a form asks for it.
  document.querySelectorAll("[data-local-zone]").forEach(function (input) {
    try {
      const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (zone) { input.value = zone; }
    } catch (e) { /* keep the server's default */ }
  });

  // "Copy" buttons.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      const source = document.getElementById(button.dataset.copy);
      source.select();
      const done = function () { announce.textContent = "Copied."; };
      if (navigator.clipboard) { navigator.clipboard.writeText(source.value).then(done, done); }
      else { document.execCommand("copy"); done(); }
    });
  });

  if (!body.dataset.live || !window.EventSource) { return; }

  let refreshing = false;
  function refreshMessages() {
    if (!list || refreshing) { return; }
    // Do not replace the list under a reader who is using it (an open menu or a focused control).
    if (list.contains(document.activeElement) || list.querySelector("details[open]")) { return; }
    refreshing = true;
    const before = list.querySelectorAll("li.message").length;
    fetch(list.dataset.src, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        list.innerHTML = html;
        const after = list.querySelectorAll("li.message").length;
        if (after > before) { announce.textContent = (after - before) + " new in the conversation."; }
      })
      .catch(function () { /* the next change will try again */ })
      .finally(function () { refreshing = false; });
  }

  const events = new EventSource("/events");
  events.addEventListener("change", function (event) {
    const data = JSON.parse(event.data);
    if (statusText) { statusText.textContent = data.text; }
    body.dataset.connection = data.status;
    if (body.dataset.group && (data.groups.length === 0 || data.groups.indexOf(body.dataset.group) >= 0)) {
      refreshMessages();
    }
  });
  events.addEventListener("error", function () {
    if (statusText) {
      statusText.textContent = "The Holdspace app on this device is not responding. Start it again to send and receive.";
    }
    body.dataset.connection = "app-stopped";
  });
  // A list left alone because someone was using it is refreshed once they leave it.
  if (list) { list.addEventListener("focusout", function () { setTimeout(refreshMessages, 300); }); }
})();
