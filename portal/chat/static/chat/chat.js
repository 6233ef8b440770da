// The support chat's small client side (htmx's ws extension does the rest): tell the server the
// last message this page has after every (re)connect, give each sent message an id of its own so
// a resend is harmless, typing, read receipts, and keeping the newest message in view.
(function () {
  "use strict";

  function panelOf(elt) { return elt && elt.closest ? elt.closest("[data-chat-viewer]") : null; }

  function messageId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") { return window.crypto.randomUUID(); }
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  function lastSeq(panel) {
    var input = panel.querySelector("#chat-last-seq");
    return input ? parseInt(input.value, 10) || 0 : 0;
  }

  function send(panel, body) {
    if (panel._chatSocket) { panel._chatSocket.send(JSON.stringify(body)); }
  }

  // Read receipts: the newest message of the other side, once the page is visible.
  function acknowledge(panel) {
    if (document.visibilityState !== "visible") { return; }
    var viewer = panel.getAttribute("data-chat-viewer");
    var others = panel.querySelectorAll("[data-seq]:not([data-sender='" + viewer + "'])");
    if (!others.length) { return; }
    var seq = parseInt(others[others.length - 1].getAttribute("data-seq"), 10);
    if (seq > (panel._chatReadSeq || 0)) {
      panel._chatReadSeq = seq;
      send(panel, { type: "read", seq: seq });
    }
  }

  document.addEventListener("htmx:wsOpen", function (evt) {
    var panel = panelOf(evt.target);
    if (!panel) { return; }
    panel._chatSocket = evt.detail.socketWrapper;
    // Sent before anything queued while the socket was closed.
    panel._chatSocket.sendImmediately(JSON.stringify({ type: "sync", after: lastSeq(panel) }));
  });

  document.addEventListener("htmx:wsConfigSend", function (evt) {
    var form = evt.target.closest ? evt.target.closest("[data-chat-compose]") : null;
    if (!form) { return; }
    evt.detail.parameters.client_msg_id = messageId();
    var text = form.querySelector("textarea");
    setTimeout(function () { text.value = ""; text.focus(); }, 0);
  });

  document.addEventListener("htmx:wsAfterMessage", function (evt) {
    var panel = panelOf(evt.target);
    if (!panel) { return; }
    var list = panel.querySelector("#chat-messages");
    if (list) { list.scrollTop = list.scrollHeight; }
    var typing = panel.querySelector("#chat-typing.active");
    if (typing) {
      clearTimeout(panel._chatTypingTimer);
      panel._chatTypingTimer = setTimeout(function () {
        var current = panel.querySelector("#chat-typing");
        if (current) { current.textContent = ""; current.classList.remove("active"); }
      }, 4000);
    }
    acknowledge(panel);
  });

  document.addEventListener("visibilitychange", function () {
    document.querySelectorAll("[data-chat-viewer]").forEach(acknowledge);
  });

  document.addEventListener("input", function (evt) {
    var panel = panelOf(evt.target);
    if (!panel || evt.target.id !== "chat-text") { return; }
    var now = Date.now();
    if (now - (panel._chatTypingSent || 0) > 2000) {
      panel._chatTypingSent = now;
      send(panel, { type: "typing" });
    }
  });

  document.addEventListener("keydown", function (evt) {
    if (evt.key === "Enter" && !evt.shiftKey && evt.target.id === "chat-text") {
      evt.preventDefault();
      var form = evt.target.form;
      if (form && evt.target.value.trim()) { form.requestSubmit(); }
    }
  });

  document.addEventListener("click", function (evt) {
    var target = evt.target;
    if (!target.closest) { return; }
    var close = target.closest("[data-chat-close]");
    if (close) {
      var panel = panelOf(close);
      if (panel) { panel.remove(); }
      return;
    }
    var canned = target.closest("[data-canned]");
    if (canned) {
      var text = document.getElementById("chat-text");
      if (text) { text.value = canned.getAttribute("data-canned"); text.focus(); }
    }
  });
})();
