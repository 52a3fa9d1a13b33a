// The listening page, live: mentions from the organisation's listening stream (server-sent
// events), each drawn by the server as an HTML fragment; labels and deletions applied in place;
// alerts added to the side list. Without this script the page still works (reload to update).
(function () {
  "use strict";
  const list = document.getElementById("mentions");
  const token = document.body.dataset.token || "";
  if (!list || !list.dataset.stream || !token || !window.EventSource) return;
  const wanted = list.dataset.sentiment || "";
  const note = document.getElementById("listening-live");

  function fragment(id) {
    return fetch(list.dataset.fragment + encodeURIComponent(id), { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : ""))
      .then((html) => {
        const box = document.createElement("template");
        box.innerHTML = html.trim();  // our own server-drawn, escaped fragment
        return box.content.firstElementChild;
      });
  }

  function place(data, isNew) {
    const current = document.getElementById("m-" + data.id);
    const label = data.sentiment || "unknown";
    if (wanted && !data.sentiment_pending && label !== wanted) {
      if (current) current.remove();
      return;
    }
    if (wanted && data.sentiment_pending) return;
    if (!current && !isNew && !wanted) return;  // an update of something not on this page
    fragment(data.id).then((el) => {
      if (!el) return;
      const again = document.getElementById("m-" + data.id);
      if (again) again.replaceWith(el);
      else list.prepend(el);
      const empty = document.getElementById("mentions-empty");
      if (empty) empty.remove();
    });
  }

  function alertItem(a) {
    const labels = document.getElementById("alert-labels");
    const ol = document.getElementById("alerts");
    if (!ol) return;
    const li = document.createElement("li");
    li.className = "alert alert-" + a.kind;
    const strong = document.createElement("strong");
    strong.textContent = (labels && labels.dataset[a.kind]) || a.kind;
    li.append(strong, ": " + a.query.name + " (" + a.observed + ")");
    ol.prepend(li);
    const empty = document.getElementById("alerts-empty");
    if (empty) empty.remove();
  }

  const url = new URL(list.dataset.stream, window.location.href);
  url.searchParams.set("access_token", token);
  const source = new EventSource(url.toString());
  source.addEventListener("open", () => { if (note) note.hidden = false; });
  source.addEventListener("error", () => { if (note) note.hidden = true; });
  source.addEventListener("mention", (e) => place(JSON.parse(e.data), true));
  source.addEventListener("mention.update", (e) => place(JSON.parse(e.data), false));
  source.addEventListener("mention.delete", (e) => {
    const el = document.getElementById("m-" + JSON.parse(e.data).id);
    if (el) el.remove();
  });
  source.addEventListener("alert", (e) => alertItem(JSON.parse(e.data)));
})();
