// Behaviour events of the exam page (考试行为记录): page hidden, focus lost, fullscreen left, copy/cut/paste,
// context menu, print and screenshot keys, window shrunk, offline, idle — each with its start (server-corrected
// epoch ms) and duration. Every event is written to the outbox (IndexedDB) first and deleted only when the server
// acknowledges it; batches go over the /exam socket ("behaviour"), or over HTTP when the socket is down. The
// acknowledgement carries the warnings to show; flags go to the proctors only.
(function () {
  "use strict";
  const FLUSH_DELAY_MS = 150, BATCH = 50, RETRY_MS = 5000, IDLE_MS = 120000;

  function start(o) {
    const $ = (id) => document.getElementById(id);
    const en = (document.documentElement.lang || "").startsWith("en");
    const open = {};  // kind -> start of an episode still going on
    let timer = null, sending = false, lastInput = Date.now(), lastPrint = 0;
    const now = () => Math.round(o.serverNow());

    async function record(kind, at, duration, detail) {
      await o.outbox.addEvent({kind, client_at: at, duration_ms: duration, detail: detail || null});
      schedule(FLUSH_DELAY_MS);
    }
    const instant = (kind, detail) => { if (o.active()) record(kind, now(), null, detail); };
    const begin = (kind) => { if (o.active() && open[kind] === undefined) open[kind] = now(); };
    function end(kind) {
      const t = open[kind];
      if (t === undefined) return;
      delete open[kind];
      record(kind, t, Math.max(0, now() - t));
    }

    function schedule(ms) { clearTimeout(timer); timer = setTimeout(flush, ms); }
    async function send(batch) {
      const sock = o.socket();
      if (sock && sock.connected) {
        return await new Promise((resolve) => sock.timeout(10000).emit("behaviour", batch, (err, ack) => resolve(err ? null : ack)));
      }
      try {  // websockets blocked or down: the HTTP fallback takes the same batch
        const res = await fetch("/api/v1/delivery/attempt/behaviour", {method: "POST", body: JSON.stringify(batch),
          headers: {"X-Attempt-Token": o.token, "Content-Type": "application/json", "Accept": "application/json"}});
        const body = await res.json().catch(() => ({}));
        if (res.ok) return body;
        return res.status >= 500 ? null : body;
      } catch (e) { return null; }  // offline: kept for later
    }
    async function flush() {
      if (sending) { schedule(FLUSH_DELAY_MS); return; }
      const pending = (await o.outbox.events()).sort((a, b) => a.seq - b.seq).slice(0, BATCH);
      if (!pending.length) return;
      sending = true;
      let more = false;
      try {
        const ack = await send({events: pending.map((e) => ({seq: e.seq, kind: e.kind, client_at: e.client_at,
          duration_ms: e.duration_ms, detail: e.detail}))});
        if (ack && ack.ok) {
          await o.outbox.removeEvents(ack.acked || []);
          (ack.warnings || []).forEach(warn);
          more = pending.length === BATCH;
        } else if (ack && ack.error && ack.error.code !== "rate_limited") {
          await o.outbox.removeEvents(pending.map((e) => e.seq));  // refused for good (bad batch, device replaced)
        }
      } finally { sending = false; }
      schedule(more ? FLUSH_DELAY_MS : RETRY_MS);
    }

    function warn(w) {
      const box = $("behaviour-warning");
      box.textContent = en ? w.message_en : w.message_zh;
      box.dataset.kind = w.kind;
      box.hidden = false;
      clearTimeout(box.hideTimer);
      box.hideTimer = setTimeout(() => { box.hidden = true; }, 15000);
    }

    // --- what the page watches ---------------------------------------------------------------------------------
    document.addEventListener("visibilitychange", () => (document.hidden ? begin("page_hidden") : end("page_hidden")));
    window.addEventListener("blur", () => begin("focus_lost"));
    window.addEventListener("focus", () => end("focus_lost"));
    const fullscreen = () => !!document.fullscreenElement;
    const canFullscreen = () => !!(document.fullscreenEnabled && document.documentElement.requestFullscreen);
    function enterFullscreen() { if (canFullscreen() && !fullscreen()) document.documentElement.requestFullscreen().catch(() => null); }
    document.addEventListener("fullscreenchange", () => {
      if (fullscreen()) { end("fullscreen_exit"); if (!o.finished()) record("fullscreen_enter", now(), null); }
      else begin("fullscreen_exit");
      prompt();
    });
    function prompt() { $("fullscreen-prompt").hidden = !(o.active() && canFullscreen() && !fullscreen()); }
    setInterval(prompt, 1000);
    $("start").addEventListener("click", enterFullscreen);  // a user gesture: the browser allows fullscreen now
    $("fullscreen-back").addEventListener("click", enterFullscreen);
    for (const kind of ["copy", "cut", "paste"]) {
      document.addEventListener(kind, (ev) => { if (o.active()) { ev.preventDefault(); instant(kind); } });
    }
    document.addEventListener("contextmenu", (ev) => { if (o.active()) { ev.preventDefault(); instant("context_menu"); } });
    document.addEventListener("keydown", (ev) => {
      const k = (ev.key || "").toLowerCase();
      if ((ev.ctrlKey || ev.metaKey) && k === "p") { ev.preventDefault(); lastPrint = Date.now(); instant("print_key", {key: "ctrl+p"}); }
      else if (ev.metaKey && ev.shiftKey && ["3", "4", "5", "s"].includes(k)) instant("screenshot_key", {key: "meta+shift+" + k});
    });
    document.addEventListener("keyup", (ev) => { if (ev.key === "PrintScreen") instant("screenshot_key", {key: "printscreen"}); });
    window.addEventListener("beforeprint", () => { if (Date.now() - lastPrint > 2000) instant("print_key", {key: "menu"}); });
    function size() {
      const small = window.innerWidth < 0.75 * screen.availWidth || window.innerHeight < 0.6 * screen.availHeight;
      if (small) begin("window_shrunk"); else end("window_shrunk");
    }
    window.addEventListener("resize", size);
    window.addEventListener("offline", () => begin("offline"));
    window.addEventListener("online", () => { end("offline"); schedule(FLUSH_DELAY_MS); });
    const input = () => {
      const t = Date.now();
      if (t - lastInput >= IDLE_MS && o.active()) record("idle", now() - (t - lastInput), t - lastInput);
      lastInput = t;
    };
    for (const ev of ["keydown", "mousedown", "touchstart", "wheel"]) document.addEventListener(ev, input, {passive: true, capture: true});
    window.addEventListener("pagehide", () => Object.keys(open).forEach(end));
    const sock = o.socket();
    if (sock) sock.on("connect", () => schedule(FLUSH_DELAY_MS));
    schedule(FLUSH_DELAY_MS);  // what an earlier visit left in the outbox
    return {flush, record};
  }

  window.SkillcertBehaviour = {start};
})();
