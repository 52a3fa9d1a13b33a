/* Szpak web UI: progressive enhancement only. Every page works without this file.
 *
 * - relative times ("5 minut temu") kept fresh, in the reader's language (Intl);
 * - the compose box: a character counter, and posting through the REST API without a reload;
 * - live updates over the Mastodon streaming API (WebSocket): the home, public and hashtag
 *   timelines grow, a thread gains its replies, notifications arrive and the badge counts them.
 *
 * New posts are drawn by the server (GET /_web/statuses/:id, the same template as the page),
 * so there is one way to render a post and user content is always escaped by the server.
 */
"use strict";

(function () {
  const body = document.body;
  const lang = body.dataset.lang || document.documentElement.lang || "pl";
  const token = body.dataset.token || "";
  const messages = parseJSON(body.dataset.messages) || {};
  const live = body.dataset.live || "";
  const numbers = new Intl.NumberFormat(lang);
  const plurals = new Intl.PluralRules(lang);
  const known = new Set(Array.from(document.querySelectorAll("article.status[data-id]"), (el) => el.dataset.id));
  const waiting = [];

  function parseJSON(text) {
    try { return text ? JSON.parse(text) : null; } catch (e) { return null; }
  }

  function plural(forms, n) {
    const text = (forms && (forms[plurals.select(n)] || forms.other || forms.many)) || "%(num)s";
    return text.replace("%(num)s", numbers.format(n));
  }

  function announce(text) {
    const el = document.getElementById("announcer");
    if (el) { el.textContent = ""; window.setTimeout(() => { el.textContent = text; }, 50); }
  }

  /* ---- time zone and relative times -------------------------------------------------- */

  function rememberTimeZone() {
    try {
      const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (tz && /^[A-Za-z0-9_+\-\/]{1,60}$/.test(tz) && document.cookie.indexOf("szpak_tz=" + tz) === -1) {
        document.cookie = "szpak_tz=" + tz + "; path=/; max-age=31536000; samesite=lax";
      }
    } catch (e) { /* an old browser: the server's default zone stays */ }
  }

  const relativeFormat = new Intl.RelativeTimeFormat(lang, { numeric: "always" });
  const dateFormat = new Intl.DateTimeFormat(lang, { dateStyle: "medium" });
  const longDate = new Intl.DateTimeFormat(lang, { dateStyle: "long" });
  const shortTime = new Intl.DateTimeFormat(lang, { timeStyle: "short" });
  const full = (date) => longDate.format(date) + ", " + shortTime.format(date); // as Formatter.full

  /* The same thresholds as szpak/web/i18n.py Formatter.relative. */
  function relative(date) {
    const age = (Date.now() - date.getTime()) / 1000;
    if (age < 45) return messages.justNow || "";
    if (age >= 7 * 86400) return dateFormat.format(date);
    if (age < 45 * 60) return relativeFormat.format(-Math.max(1, Math.floor(age / 60 + 0.5)), "minute");
    if (age < 22 * 3600) return relativeFormat.format(-Math.max(1, Math.floor(age / 3600 + 0.5)), "hour");
    return relativeFormat.format(-Math.max(1, Math.floor(age / 86400 + 0.5)), "day");
  }

  function refreshTimes(root) {
    for (const el of (root || document).querySelectorAll("time[data-relative]")) {
      const date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) continue;
      el.textContent = relative(date);
      el.title = full(date);
    }
  }

  /* ---- the REST API and server-drawn fragments --------------------------------------- */

  async function api(method, path, payload, headers) {
    const init = { method: method, headers: Object.assign({ Authorization: "Bearer " + token }, headers || {}) };
    if (payload instanceof FormData) {
      init.body = payload;
    } else if (payload !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    return fetch(path, init);
  }

  /* A fragment's forms return to this page after they post, so it is told where it goes. */
  async function fragment(url) {
    const here = encodeURIComponent(window.location.pathname + window.location.search);
    const res = await fetch(url + (url.indexOf("?") === -1 ? "?" : "&") + "next=" + here, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!res.ok) return null;
    const template = document.createElement("template");
    template.innerHTML = (await res.text()).trim();
    return template.content.firstElementChild;
  }

  /* ---- inserting posts ----------------------------------------------------------------- */

  function dropEmptyNote(container) {
    const empty = container.parentElement && container.parentElement.querySelector(".empty");
    if (empty) empty.remove();
    const inner = container.querySelector(".empty");
    if (inner) inner.remove();
  }

  async function insertStatus(id, place) {
    if (known.has(id)) return;
    known.add(id);
    // Filters apply as where the post lands: a "hide" filter gets a 404, and nothing is inserted.
    const context = place === "replies" ? "thread" : (live === "home" ? "home" : "public");
    const el = await fragment("/_web/statuses/" + encodeURIComponent(id) + "?context=" + context);
    if (!el) { known.delete(id); return; }
    refreshTimes(el);
    el.classList.add("fresh");
    if (place === "replies") {
      const replies = document.getElementById("replies");
      if (replies) { el.classList.add("depth-1"); replies.appendChild(el); }
      return;
    }
    const timeline = document.getElementById("timeline");
    if (!timeline) return;
    dropEmptyNote(timeline);
    timeline.prepend(el);
  }

  function showWaiting() {
    const button = document.getElementById("new-posts");
    if (!button) return;
    button.hidden = waiting.length === 0;
    button.textContent = plural(messages.newPosts, waiting.length);
  }

  async function flushWaiting() {
    const ids = waiting.splice(0, waiting.length);
    showWaiting();
    for (const id of ids.reverse()) await insertStatus(id, "timeline");
    window.scrollTo({ top: 0 });
    const first = document.querySelector("#timeline article.status");
    if (first) { first.setAttribute("tabindex", "-1"); first.focus(); }
  }

  /* A reader scrolled down into older posts keeps their place: new posts wait behind a button. */
  function arrive(id) {
    if (known.has(id) || waiting.indexOf(id) !== -1) return;
    if (window.scrollY > 300) {
      waiting.push(id);
      showWaiting();
      announce(plural(messages.newPosts, waiting.length));
      return;
    }
    insertStatus(id, "timeline").then(() => announce(plural(messages.newPosts, 1)));
  }

  /* ---- the compose box ----------------------------------------------------------------- */

  const URL_PATTERN = /https?:\/\/[^\s<>"']+/gi;
  const URL_LENGTH = 23;

  function counted(text) {
    return Array.from(text.replace(URL_PATTERN, "x".repeat(URL_LENGTH))).length;
  }

  const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];

  function imageRows(form) {
    return Array.from(form.querySelectorAll(".compose-image"));
  }

  /* Checked before anything is sent, so the message comes at once and in the reader's language. */
  function checkImage(form, file) {
    if (IMAGE_TYPES.indexOf(file.type) === -1) return messages.imageInvalid || "";
    const limit = Number(form.dataset.maxImage || 0);
    if (limit && file.size > limit) return messages.imageTooLarge || "";
    return "";
  }

  /* Each chosen image is uploaded (POST /api/v2/media, with its description); the ids go with the post. */
  async function uploadImages(form) {
    const ids = [];
    for (const row of imageRows(form)) {
      const input = row.querySelector("input[type=file]");
      const file = input && input.files && input.files[0];
      if (!file) continue;
      const problem = checkImage(form, file);
      if (problem) throw new Error(problem);
      const data = new FormData();
      data.append("file", file);
      const description = row.querySelector("input[type=text]");
      if (description && description.value) data.append("description", description.value);
      const res = await api("POST", "/api/v2/media", data);
      if (res.status === 404 || res.status === 405) return undefined; // no upload API: post the form instead
      if (res.status === 413) throw new Error(messages.imageTooLarge || "");
      if (!res.ok) throw new Error(res.status === 422 ? (messages.imageInvalid || "") : (messages.failed || ""));
      ids.push((await res.json()).id);
    }
    return ids;
  }

  /* Rows after the first stay hidden until the one before has a file; a chosen file shows a preview. */
  function setupImages(form, error) {
    const rows = imageRows(form);
    if (!rows.length) return function () {};
    function refresh() {
      let open = true;
      for (const row of rows) {
        const input = row.querySelector("input[type=file]");
        row.hidden = !open;
        open = !!(input.files && input.files.length);
      }
    }
    for (const row of rows) {
      const input = row.querySelector("input[type=file]");
      input.addEventListener("change", () => {
        let preview = row.querySelector(".compose-preview");
        if (preview) { URL.revokeObjectURL(preview.src); preview.remove(); }
        const file = input.files && input.files[0];
        error.hidden = true;
        if (file) {
          const problem = checkImage(form, file);
          if (problem) {
            error.textContent = problem;
            error.hidden = false;
            input.value = "";
          } else {
            preview = document.createElement("img");
            preview.className = "compose-preview";
            preview.alt = "";
            preview.src = URL.createObjectURL(file);
            row.appendChild(preview);
          }
        }
        refresh();
      });
    }
    refresh();
    return function clear() {
      for (const preview of form.querySelectorAll(".compose-preview")) { URL.revokeObjectURL(preview.src); preview.remove(); }
      refresh();
    };
  }

  function setupCompose(form) {
    const textarea = form.elements.namedItem("status");
    const warning = form.elements.namedItem("spoiler_text");
    const counter = form.querySelector(".counter");
    const submit = form.querySelector("button[type=submit]");
    const error = form.querySelector(".form-error");
    const max = Number(form.dataset.max || body.dataset.maxChars || 500);

    function update() {
      const left = max - counted(textarea.value) - (warning ? Array.from(warning.value).length : 0);
      counter.textContent = numbers.format(left);
      counter.setAttribute("aria-label", numbers.format(left) + " " + (counter.dataset.label || ""));
      counter.classList.toggle("low", left >= 0 && left < 20);
      counter.classList.toggle("over", left < 0);
      submit.disabled = left < 0;
    }

    textarea.addEventListener("input", update);
    if (warning) warning.addEventListener("input", update);
    textarea.addEventListener("keydown", (event) => {
      if ((event.ctrlKey || event.metaKey) && event.key === "Enter") form.requestSubmit();
    });
    update();
    const clearImages = setupImages(form, error);
    if (!token) return;

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      const label = submit.textContent;
      submit.disabled = true;
      submit.textContent = messages.sending || label;
      form.setAttribute("aria-busy", "true");
      try {
        const mediaIds = await uploadImages(form);
        if (mediaIds === undefined) { form.submit(); return; }
        const reply = form.elements.namedItem("in_reply_to_id");
        const payload = {
          status: textarea.value,
          visibility: form.elements.namedItem("visibility").value,
          spoiler_text: warning ? warning.value : "",
        };
        if (reply && reply.value) payload.in_reply_to_id = reply.value;
        if (mediaIds.length) payload.media_ids = mediaIds;
        const sensitive = form.elements.namedItem("sensitive");
        if (sensitive && sensitive.checked) payload.sensitive = true;
        const key = window.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Date.now());
        const res = await api("POST", "/api/v1/statuses", payload, { "Idempotency-Key": key });
        const status = await res.json();
        if (!res.ok) throw new Error((messages.failed || "") + (status.error ? " (" + status.error + ")" : ""));
        const visibility = payload.visibility;
        form.reset();
        clearImages();
        if (reply) {
          textarea.value = textarea.defaultValue;
          form.elements.namedItem("visibility").value = visibility;
        }
        const place = reply && reply.value ? "replies" : "timeline";
        if (!document.getElementById(place)) {
          window.location.assign(form.elements.namedItem("next").value || "/home");
          return;
        }
        await insertStatus(status.id, place);
        textarea.focus();
      } catch (err) {
        error.textContent = (err && err.message) || messages.failed || "";
        error.hidden = false;
      } finally {
        form.removeAttribute("aria-busy");
        submit.textContent = label;
        update();
      }
    });
  }

  /* ---- notifications --------------------------------------------------------------------- */

  let unseen = 0;

  async function onNotification(notification) {
    if (!notification || !notification.id) return;
    const list = document.getElementById("notifications");
    if (list && live === "notifications") {
      if (document.getElementById("n-" + notification.id)) return;
      const el = await fragment("/_web/notifications/" + encodeURIComponent(notification.id));
      if (!el) return;
      const empty = document.getElementById("notifications-empty");
      if (empty) empty.remove();
      refreshTimes(el);
      el.classList.add("fresh");
      list.prepend(el);
      announce(plural(messages.newNotifications, 1));
      return;
    }
    unseen += 1;
    const badge = document.getElementById("notification-badge");
    if (badge) {
      badge.hidden = false;
      badge.textContent = numbers.format(unseen);
      badge.setAttribute("aria-label", plural(messages.newNotifications, unseen));
    }
    announce(plural(messages.newNotifications, unseen));
  }

  /* ---- the streaming API --------------------------------------------------------------- */

  function inThread(id) {
    return !!(id && document.querySelector('#thread article.status[data-id="' + CSS.escape(String(id)) + '"]'));
  }

  function onUpdate(stream, status) {
    if (!status || !status.id) return;
    const name = stream[0] || "";
    if (live === "home" && name === "user") return arrive(status.id);
    if (live === "public" && (name === "public" || name === "public:local")) return arrive(status.id);
    if (live.indexOf("hashtag:") === 0 && (name === "hashtag" || name === "hashtag:local")) return arrive(status.id);
    if (body.dataset.page === "status" && inThread(status.in_reply_to_id)) insertStatus(status.id, "replies");
  }

  function onDelete(id) {
    for (const el of document.querySelectorAll('article.status[data-id="' + CSS.escape(String(id)) + '"]')) el.remove();
  }

  function handle(message) {
    const stream = Array.isArray(message.stream) ? message.stream : [];
    if (message.event === "delete") {
      // The payload is the bare id; parsed as JSON it would lose digits (ids exceed 2^53).
      onDelete(String(message.payload));
      return;
    }
    const payload = typeof message.payload === "string" ? parseJSON(message.payload) : message.payload;
    if (message.event === "update") onUpdate(stream, payload);
    else if (message.event === "notification") onNotification(payload);
  }

  let retryDelay = 1000;
  let socket = null;

  function setLiveState(state) {
    body.dataset.liveState = state;
    const note = document.getElementById("live-status");
    if (note) {
      note.hidden = state !== "closed";
      note.textContent = state === "closed" ? (messages.offline || "") : "";
    }
  }

  function connect() {
    if (!token || !body.dataset.streaming || socket) return;
    const url = new URL("/api/v1/streaming", body.dataset.streaming);
    url.searchParams.set("stream", "user");
    try {
      // The token travels as the WebSocket subprotocol (as Mastodon's own web client does), so it
      // stays out of URLs and access logs; the server echoes it back.
      socket = new WebSocket(url.toString(), token);
    } catch (e) {
      socket = null;
      return;
    }
    socket.addEventListener("open", () => {
      retryDelay = 1000;
      if (live === "public") socket.send(JSON.stringify({ type: "subscribe", stream: "public" }));
      if (live.indexOf("hashtag:") === 0) {
        socket.send(JSON.stringify({ type: "subscribe", stream: "hashtag", tag: live.slice("hashtag:".length) }));
      }
      setLiveState("open");
    });
    socket.addEventListener("message", (event) => {
      const message = parseJSON(event.data);
      if (message) handle(message);
    });
    socket.addEventListener("close", (event) => {
      socket = null;
      setLiveState("closed");
      if (event.code === 1008) return; // the token was revoked (logged out elsewhere): stop
      window.setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    });
  }

  /* ---- start ------------------------------------------------------------------------------ */

  rememberTimeZone();
  refreshTimes();
  window.setInterval(refreshTimes, 30000);
  for (const form of document.querySelectorAll("form.compose")) setupCompose(form);
  const newPosts = document.getElementById("new-posts");
  if (newPosts) newPosts.addEventListener("click", flushWaiting);
  connect();
  document.addEventListener("visibilitychange", () => { if (!document.hidden) connect(); });
})();
