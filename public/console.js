// Switchboard console: the few behaviours htmx does not cover. No build step.
(() => {
  // Relative times ("12s ago") and live call durations keep ticking.
  const pad = (n) => String(n).padStart(2, "0");
  const ago = (ms) => {
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 60) return `${s}s ago`;
    if (s < 3600) return `${Math.floor(s / 60)}m ago`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
    return new Date(ms).toISOString().slice(0, 10);
  };
  const elapsed = (ms) => {
    const t = Math.max(0, Math.round((Date.now() - ms) / 1000));
    const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
    return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
  };
  // Hovering a time shows it in full: the operator's local date and time, then UTC. A title
  // the page gave the time ("last activity") stays in front. Live updates render times
  // anew, without it: each swap and tick puts it back.
  const absolute = (el) => {
    const ms = Date.parse(el.dateTime);
    if (Number.isNaN(ms)) return;
    const full = `${new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" })}\n${new Date(ms).toISOString()}`;
    const own = el.dataset.absolute;
    if (own === full && el.title.endsWith(full)) return;
    const base = own && el.title.endsWith(own) ? el.title.slice(0, -own.length).replace(/: $/, "") : el.title;
    el.title = base ? `${base}: ${full}` : full;
    el.dataset.absolute = full;
  };
  const tick = () => {
    for (const el of document.querySelectorAll("time[data-relative]")) el.textContent = ago(Date.parse(el.dateTime));
    for (const el of document.querySelectorAll("time[data-elapsed]")) el.textContent = elapsed(Date.parse(el.dateTime));
    for (const el of document.querySelectorAll("time[datetime]")) absolute(el);
  };
  setInterval(tick, 1000);
  document.addEventListener("htmx:after:swap", tick);

  // Live lists (src/console/live-list.ts): a page stream upserts items into a
  // list by id. One on the page is moved into place and morphed, so whatever
  // the operator is doing in it survives (focus, a selection, a button held
  // down); a new one is inserted where its data-order sorts. Feed progress
  // (src/console/feed.ts) is morphed into the newest item of its subject.
  let api;
  const morphInto = (old, next) => {
    const fragment = document.createDocumentFragment();
    fragment.append(next);
    api.morph(old, fragment, false);
  };
  const upsert = (list, fragment) => {
    const changed = [];
    for (const item of [...fragment.children]) {
      const existing = item.id ? document.getElementById(item.id) : null;
      const order = item.dataset.order ?? "";
      let before = null;
      for (const child of list.children) {
        if (child !== existing && (child.dataset.order ?? "") > order) {
          before = child;
          break;
        }
      }
      if (!existing) {
        list.insertBefore(item, before);
        changed.push(item);
        continue;
      }
      if (existing.parentNode !== list || existing.nextElementSibling !== before) {
        // moveBefore keeps the element's state (focus, transitions) where the browser has it.
        try {
          list.moveBefore(existing, before);
        } catch {
          list.insertBefore(existing, before);
        }
      }
      morphInto(existing, item);
      changed.push(existing);
    }
    return changed;
  };
  // A list keeps at most data-max items, counted once the whole message is in: an item the
  // message moves on to another list must not push one out of this list on its way.
  const trim = () => {
    for (const list of document.querySelectorAll(".live-list[data-max]")) {
      const max = Number(list.dataset.max);
      while (list.children.length > max) list.lastElementChild.remove();
    }
  };
  document.addEventListener("htmx:after:swap", trim);
  const fold = (list, fragment) => {
    const changed = [];
    for (const next of [...fragment.children]) {
      const item = list.querySelector(`:scope > li[data-subject="${CSS.escape(next.dataset.subject ?? "")}"]`);
      const slot = item?.querySelector(":scope > .fold");
      if (!slot) continue;
      morphInto(slot, next);
      changed.push(slot);
    }
    return changed;
  };
  htmx.registerExtension("live-lists", {
    init: (internal) => (api = internal),
    // A live item carries the log position it shows (data-version): an answer to a button press can
    // arrive after the page stream has shown a later state of the same item, and must not undo it.
    // So does an answer that is a whole list (the channel cards): a page already past it keeps its
    // list, whose version the page stream moves on (below), with the items added since.
    htmx_before_morph_node: (_elt, { oldNode, newNode }) => {
      const shown = Number(oldNode.dataset?.version);
      return !(Number(newNode.dataset?.version) < shown);
    },
    handle_swap: (style, target, fragment) =>
      style === "upsertMorph" ? upsert(target, fragment) : style === "foldMorph" ? fold(target, fragment) : false,
  });

  // A list's whole panel shows the log at least as far as the last page-stream message applied.
  document.addEventListener("htmx:sse:after:message", (event) => {
    const id = Number(event.detail?.message?.id);
    if (!Number.isSafeInteger(id)) return;
    for (const panel of document.querySelectorAll(".list-body")) if (!(Number(panel.dataset.version) >= id)) panel.dataset.version = String(id);
  });

  // Connection indicator, driven by the page stream's htmx SSE events.
  const indicator = () => document.getElementById("connection");
  const show = (state, text) => {
    const el = indicator();
    if (el && el.dataset.state !== state) {
      el.dataset.state = state;
      el.textContent = text;
    }
  };
  let up = false;
  const current = () => (up ? show("live", "live") : navigator.onLine ? show("reconnecting", "reconnecting…") : show("offline", "offline"));
  const lost = () => {
    up = false;
    current();
  };
  document.addEventListener("htmx:sse:after:connection", () => {
    up = true;
    current();
    unavailable(false);
  });
  // A stream the server ended cleanly (a restart) raises no error: the retry announces itself here.
  document.addEventListener("htmx:sse:before:connection", (event) => {
    if (event.detail?.connection?.attempt > 0) lost();
  });
  document.addEventListener("htmx:sse:error", (event) => {
    // The session ended (signed out elsewhere, key revoked): reloading leads to the login.
    if (event.detail?.status === 401 || event.detail?.status === 403) location.reload();
    else {
      lost();
      unavailable(true);
    }
  });

  // A page whose stream cannot be opened says so instead of showing stale panels as if they were
  // live: the server is down, a proxy refuses the stream, or the browser has no connection left
  // for it (six per origin over HTTP/1.1, each held by an open tab's stream). The SSE extension
  // retries a stream that was once open; the first request it leaves to us.
  const NOTICE_AFTER_MS = 5000;
  const RETRY_MAX_MS = 10_000;
  // Past this without response headers the request is given up and tried again. Retries back off
  // from the server's `retry:` but never wait more than RECONNECT_MAX_MS (htmx's default is a
  // minute): a page comes back within seconds of its server, however long it was away.
  const RECONNECT_MAX_MS = 5000;
  htmx.config.sse = { ...htmx.config.sse, connectTimeout: 15_000, reconnectMaxDelay: RECONNECT_MAX_MS };
  const unavailable = (on) => {
    let banner = document.getElementById("live-unavailable");
    if (!on) return banner?.setAttribute("hidden", "");
    if (!banner) {
      banner = document.createElement("p");
      banner.id = "live-unavailable";
      banner.className = "live-unavailable";
      banner.setAttribute("role", "alert");
      banner.textContent = "Live updates unavailable — retrying… What you see may be out of date.";
      document.body.append(banner);
    }
    banner.removeAttribute("hidden");
  };
  const streamOf = (event) => (event.target instanceof Element && event.target.matches("[hx-sse\\:connect]") ? event.target : null);
  let attempts = 0;
  const firstFailed = (event) => {
    const el = streamOf(event);
    if (!el || up || el._htmx?.sse) return;
    const status = event.detail?.ctx?.response?.status;
    if (status === 401 || status === 403) return location.reload();
    lost();
    unavailable(true);
    const delay = Math.min(RETRY_MAX_MS, 1000 * 2 ** attempts++);
    setTimeout(() => el.isConnected && !el._htmx?.sse && htmx.ajax("GET", el.getAttribute("hx-sse:connect"), { source: el, timeout: htmx.config.sse.connectTimeout }), delay);
  };
  document.addEventListener("htmx:error", firstFailed);
  document.addEventListener("htmx:response:error", firstFailed);
  document.addEventListener("htmx:before:request", (event) => {
    if (streamOf(event)) setTimeout(() => up || unavailable(true), NOTICE_AFTER_MS);
  });
  // The server ended the stream for lack of access (signed out, key revoked, tenant disabled): its
  // final `revoked` message. Reloading shows the operator why: the login, or the error page. Not
  // when this page is leaving already (its own logout form, which ends the session, is on its way).
  let leaving = false;
  window.addEventListener("beforeunload", () => (leaving = true));
  document.addEventListener("revoked", () => {
    if (!leaving) location.reload();
  });
  document.addEventListener("htmx:sse:close", () => {
    up = false;
    show("offline", "offline");
  });
  // The browser's own view of the network; a stream that survives a blip stays live.
  window.addEventListener("offline", () => show("offline", "offline"));
  window.addEventListener("online", current);

  // The feed is calm: it never moves what the operator is reading. New items
  // arrive at its top, so while the list is on screen (and not empty) they are
  // held back, hidden but never dropped, behind an "N new — show" button that
  // floats over the list; so they are while the feed is paused. Off screen,
  // they go straight in: nothing visible moves.
  const feed = () => document.getElementById("feed-items");
  // A console left open for days must not grow without bound: the oldest shown items go first.
  const MAX_ITEMS = 300;
  let paused = false;
  const held = () => feed()?.querySelectorAll(":scope > li[data-held]") ?? [];
  const updateMarker = () => {
    const button = document.querySelector("[data-feed-new]");
    if (!button) return;
    const n = held().length;
    button.hidden = n === 0;
    button.textContent = `${n} new — show`;
  };
  const release = () => {
    for (const li of held()) {
      li.hidden = false;
      delete li.dataset.held;
    }
    updateMarker();
  };
  const onScreen = (el) => {
    const r = el.getBoundingClientRect();
    return r.bottom > 0 && r.top < window.innerHeight && r.height > 0;
  };
  const observe = () => {
    const list = feed();
    if (!list || list.dataset.observed) return;
    list.dataset.observed = "1";
    new MutationObserver((mutations) => {
      // Whether an item was showing before this insertion: into an empty list nothing moves.
      const added = mutations.flatMap((m) => [...m.addedNodes]).filter((n) => n.nodeType === 1 && n.tagName === "LI" && n.dataset.id);
      if (added.length === 0) return;
      const showing = [...list.querySelectorAll(":scope > li[data-id]:not([data-held])")].some((li) => !added.includes(li));
      const hold = paused || (showing && onScreen(list));
      list.querySelector(":scope > li[data-empty]")?.remove();
      for (const node of added) {
        if (hold) {
          node.hidden = true;
          node.dataset.held = "1";
        }
      }
      const items = list.querySelectorAll(":scope > li[data-id]:not([data-held])");
      for (let i = MAX_ITEMS; i < items.length; i++) items[i].remove();
      updateMarker();
      tick();
    }).observe(list, { childList: true });
  };
  document.addEventListener("click", (event) => {
    const pause = event.target.closest("[data-feed-pause]");
    if (pause) {
      paused = !paused;
      pause.setAttribute("aria-pressed", String(paused));
      pause.textContent = paused ? "Resume" : "Pause";
      if (!paused) release();
    }
    if (event.target.closest("[data-feed-new]")) {
      if (paused) {
        paused = false;
        const button = document.querySelector("[data-feed-pause]");
        button?.setAttribute("aria-pressed", "false");
        if (button) button.textContent = "Pause";
      }
      release();
      feed()?.scrollTo({ top: 0 });
    }
  });
  // The feed list itself is replaced on a full re-render: observe the new one.
  document.addEventListener("htmx:after:swap", observe);
  // A ready login (`/login#key=sb_…`, as `npm run demo` prints): the key sits in the
  // fragment, which browsers never send; it is taken out of the address bar and
  // history at once and posted like a typed key, so it reaches no URL or log. Opened
  // in a tab that shows the login already, only the fragment changes: no new page loads.
  const loginFromFragment = () => {
    const keyField = document.querySelector("form[action='/login'] #key");
    const given = keyField && new URLSearchParams(location.hash.slice(1)).get("key");
    if (keyField && location.hash) history.replaceState(null, "", location.pathname + location.search);
    if (given) {
      keyField.value = given;
      keyField.form.requestSubmit();
    }
  };
  window.addEventListener("hashchange", loginFromFragment);
  document.addEventListener("DOMContentLoaded", () => {
    loginFromFragment();
    // Pages without a stream (login, stats) have no connection to show.
    if (!document.querySelector("[hx-sse\\:connect]")) indicator()?.setAttribute("hidden", "");
    observe();
    tick();
  });
})();
