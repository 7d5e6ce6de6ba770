// The candidate's exam page: identity → wait for the opening → answer with acknowledged saves → submit.
// The server owns the clock; this page only shows what the server says, corrected for elapsed local time.
(function () {
  "use strict";
  const T = JSON.parse(document.getElementById("exam-i18n").textContent);
  const token = sessionStorage.getItem("sc.exam.token");
  if (!token) { location.href = "/exam"; return; }
  const $ = (id) => document.getElementById(id);
  const screens = ["screen-identity", "screen-wait", "screen-exam", "screen-confirm", "screen-done"];
  const show = (id) => screens.forEach((s) => { $(s).hidden = s !== id; });
  const LABELS = "ABCDEFGH";
  const ACK_MS = 2500;  // a heartbeat or save not acknowledged within this shows the offline banner

  let attempt = null, paper = null, items = [], current = 0, outbox = null, socket = null;
  const responses = {}, flags = {}, status = {}, latestSeq = {}, inflight = new Set();
  let clock = null, clockAt = 0, offset = 0, missedBeats = 0, finished = false;
  let beatMs = 2500;  // the server sets the pace (every 2.5 s; slower when it holds many candidates)

  async function api(path, method, body) {
    const res = await fetch("/api/v1/delivery" + path, {method: method || "GET",
      headers: Object.assign({"X-Attempt-Token": token, "Accept": "application/json"},
                             body ? {"Content-Type": "application/json"} : {}),
      body: body ? JSON.stringify(body) : undefined});
    const data = await res.json().catch(() => ({}));
    if (res.status === 401) { sessionStorage.removeItem("sc.exam.token"); location.href = "/exam"; }
    if (!res.ok) { const e = new Error((data.error && data.error.message) || res.statusText); e.code = data.error && data.error.code; throw e; }
    return data;
  }
  function fail(msg) { $("exam-error").textContent = msg; $("exam-error").hidden = !msg; }
  const hhmmss = (iso) => { const d = new Date(iso); return d.toLocaleTimeString("en-GB", {hour12: false}); };
  const serverNow = () => Date.now() + offset;

  // --- clock --------------------------------------------------------------------------------------------
  function setClock(c) {
    if (!c) return;
    clock = c; clockAt = Date.now();
    offset = new Date(c.server_now).getTime() - Date.now();
    if (c.status === "submitted" && !finished) { done(); }
  }
  function tickTimer() {
    if (!clock || clock.remaining_s === null) return;
    const left = clock.paused ? clock.remaining_s : Math.max(0, clock.remaining_s - (Date.now() - clockAt) / 1000);
    const m = Math.floor(left / 60), s = Math.floor(left % 60);
    $("timer").textContent = `${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
    $("paused-label").hidden = !clock.paused;
    document.body.classList.toggle("exam-paused", !!clock.paused);
  }
  setInterval(tickTimer, 500);

  // --- identity, waiting, start --------------------------------------------------------------------------
  function fillIdentity(id) {
    $("id-name").textContent = id.name; $("id-idn").textContent = id.id_number; $("id-ticket").textContent = id.ticket_number;
    $("id-occupation").textContent = id.occupation + (id.work_type && id.work_type !== "——" ? "（" + id.work_type + "）" : "");
    $("id-level").textContent = id.level_name; $("id-room").textContent = id.room;
    $("id-seat").textContent = id.seat_no; $("id-session").textContent = id.session;
    if (id.has_photo) {
      fetch("/api/v1/delivery/attempt/photo", {headers: {"X-Attempt-Token": token}}).then((r) => r.ok ? r.blob() : null)
        .then((b) => { if (b) { $("id-photo").src = URL.createObjectURL(b); $("id-photo").hidden = false; $("id-nophoto").hidden = true; } });
    }
  }

  async function load() {
    const data = await api("/attempt");
    attempt = data.identity.attempt_id;
    fillIdentity(data.identity);
    setClock(data.state.clock);
    outbox = await new SkillcertOutbox(attempt).open(data.state.last_seq);
    applyState(data.state);
    if (data.paper) { setPaper(data.paper); }
    route(data);
    connect();
    SkillcertBehaviour.start({outbox, token, serverNow, socket: () => socket, finished: () => finished,
      active: () => !finished && !$("screen-exam").hidden});
  }

  function route(data) {
    const st = data.state;
    if (st.clock.status === "submitted") return done(st);
    if (!st.confirmed) return show("screen-identity");
    if (st.clock.status === "ready") { show("screen-wait"); $("start").disabled = !st.session_open;
      if (st.session_open) $("wait-msg").textContent = T.open; return; }
    show("screen-exam"); renderAll();
  }

  $("confirm-identity").addEventListener("click", async () => {
    try { await api("/attempt/confirm", "POST"); route(await api("/attempt")); } catch (e) { fail(e.message); }
  });
  $("start").addEventListener("click", async () => {
    try { const data = await api("/attempt/start", "POST"); setClock(data.state.clock); setPaper(data.paper); route(data); }
    catch (e) { fail(e.message); }
  });

  // --- paper and answers ---------------------------------------------------------------------------------
  function applyState(st) {
    for (const [item, r] of Object.entries(st.responses || {})) {
      if (r.seq > 0) { responses[item] = r.response; latestSeq[item] = r.seq; status[item] = {state: "saved", at: r.saved_at}; }
      flags[item] = !!r.flagged;
    }
  }
  async function overlayOutbox() {  // unsent local changes are newer than what the server has
    for (const e of await outbox.all()) {
      if (!latestSeq[e.item] || e.seq > latestSeq[e.item]) { responses[e.item] = e.response; latestSeq[e.item] = e.seq;
        status[e.item] = {state: "pending"}; }
    }
  }
  function setPaper(p) {
    paper = p; items = [];
    p.sections.forEach((sec) => sec.items.forEach((it) => items.push(it)));
    $("paper-title").textContent = p.title;
    overlayOutbox().then(renderAll);
  }

  function answered(r) {
    if (r === undefined || r === null) return false;
    if (Array.isArray(r)) return r.some((x) => String(x).trim() !== "");
    return String(r).trim() !== "";
  }
  function renderGrid() {
    const grid = $("grid"); grid.innerHTML = "";
    items.forEach((it, i) => {
      const b = document.createElement("button");
      const id = String(it.paper_item_id);
      b.textContent = it.number; b.dataset.item = id;
      b.className = "q" + (answered(responses[id]) ? " answered" : "") + (flags[id] ? " flagged" : "") +
                    (i === current ? " current" : "") + (status[id] && status[id].state === "pending" ? " pending" : "");
      b.addEventListener("click", () => { current = i; renderAll(); });
      grid.appendChild(b);
    });
    const n = items.filter((it) => answered(responses[it.paper_item_id])).length;
    $("count-answered").textContent = n; $("count-unanswered").textContent = items.length - n;
    $("count-flagged").textContent = items.filter((it) => flags[it.paper_item_id]).length;
    $("count-pending").textContent = Object.values(status).filter((s) => s.state === "pending").length;
  }
  function renderStatus() {
    const it = items[current]; if (!it) return;
    const st = status[it.paper_item_id];
    const el = $("q-status");
    el.className = "qstatus " + (st ? st.state : "");
    el.textContent = !st ? "" : st.state === "saved" ? `${T.saved} ${hhmmss(st.at)}` :
      st.state === "pending" ? T.saving : `${T.refused}: ${st.message}`;
  }
  function renderItem() {
    const it = items[current]; if (!it) return;
    const id = String(it.paper_item_id);
    $("q-number").textContent = it.number + ".";
    $("q-type").textContent = T[it.item_type] || it.item_type;
    $("q-points").textContent = `(${it.points} ${T.points})`;
    $("q-stem").innerHTML = it.stem;  // sanitised by the item bank (bleach) when the item was written
    $("q-flag").checked = !!flags[id];
    const box = $("q-answer"); box.innerHTML = "";
    const r = responses[id];
    if (it.item_type === "single" || it.item_type === "judge" || it.item_type === "multiple") {
      const multi = it.item_type === "multiple";
      (it.options || []).forEach((o, k) => {
        const lab = document.createElement("label"); lab.className = "opt";
        const inp = document.createElement("input"); inp.type = multi ? "checkbox" : "radio"; inp.name = "opt"; inp.value = o.key;
        inp.checked = multi ? String(r || "").includes(o.key) : r === o.key;
        inp.addEventListener("change", () => {
          const val = multi ? Array.from(box.querySelectorAll("input:checked")).map((x) => x.value).sort().join("") : o.key;
          change(id, val);
        });
        const span = document.createElement("span");
        span.innerHTML = it.item_type === "judge" ? o.html : `<b>${LABELS[k]}.</b> ${o.html}`;
        lab.append(inp, span); box.appendChild(lab);
      });
    } else if (it.item_type === "fill") {
      const n = it.blanks || 1;
      for (let k = 0; k < n; k++) {
        const inp = document.createElement("input"); inp.className = "blank"; inp.placeholder = `${T.blank} ${k + 1}`;
        inp.value = Array.isArray(r) ? (r[k] || "") : "";
        let timer = null;
        const send = () => { clearTimeout(timer); const vals = Array.from(box.querySelectorAll("input.blank")).map((x) => x.value);
          if (JSON.stringify(vals) !== JSON.stringify(responses[id] || [])) change(id, vals); };
        inp.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(send, 800); });
        inp.addEventListener("change", send);
        box.appendChild(inp);
      }
    }
    renderStatus();
  }
  function renderAll() { renderGrid(); renderItem(); }
  $("prev").addEventListener("click", () => { if (current > 0) { current--; renderAll(); } });
  $("next").addEventListener("click", () => { if (current < items.length - 1) { current++; renderAll(); } });
  $("q-flag").addEventListener("change", (ev) => {
    const id = String(items[current].paper_item_id); flags[id] = ev.target.checked; renderGrid();
    if (socket && socket.connected) socket.emit("flag", {item: Number(id), flagged: flags[id]});
    else api("/attempt/flag", "POST", {item: Number(id), flagged: flags[id]}).catch(() => {});
  });

  // --- the save path ---------------------------------------------------------------------------------------
  async function change(item, response) {
    responses[item] = response;
    const entry = await outbox.add(Number(item), response, serverNow());
    latestSeq[item] = entry.seq;
    status[item] = {state: "pending"};
    renderGrid(); renderStatus();
    send(entry);
  }
  function send(entry) {
    if (!socket || !socket.connected || inflight.has(entry.seq)) return;
    inflight.add(entry.seq);
    const late = setTimeout(() => banner(true), ACK_MS);  // a silent link shows while answering, whatever the pace
    socket.timeout(10000).emit("save", {item: entry.item, seq: entry.seq, response: entry.response, client_at: entry.client_at},
      (err, ack) => { clearTimeout(late); inflight.delete(entry.seq); if (!err) { banner(false); handleAck(entry, ack); } });
  }
  async function handleAck(entry, ack) {
    const id = String(entry.item);
    if (ack && ack.ok) {
      await outbox.remove(entry.seq);
      if (latestSeq[id] === entry.seq) status[id] = {state: "saved", at: ack.saved_at};
    } else if (ack && ack.error && ack.error.code === "seq_conflict") {
      const fresh = await outbox.renumber(entry, ack.error.last_seq);
      if (latestSeq[id] === entry.seq) latestSeq[id] = fresh.seq;
      send(fresh); return;
    } else if (ack && ack.error && ack.error.final) {
      await outbox.remove(entry.seq);
      if (latestSeq[id] === entry.seq) status[id] = {state: "refused", message: ack.error.message};
      if (ack.error.code === "device_replaced") { fail(T.replaced); }
      if (ack.error.code === "submitted") { done(); }
    }  // otherwise (paused, not started): keep it; it is resent on the next flush
    renderGrid(); renderStatus();
  }
  async function flush() {
    if (!outbox) return;
    const pending = (await outbox.all()).sort((a, b) => a.seq - b.seq);
    if (!pending.length) return;
    if (socket && socket.connected) { pending.forEach(send); return; }
    // websockets blocked or down: the HTTP endpoint accepts the same changes
    try {
      const res = await api("/attempt/changes", "POST", {changes: pending.map((e) => ({item: e.item, seq: e.seq,
        response: e.response, client_at: e.client_at}))});
      for (let i = 0; i < pending.length; i++) {
        const a = res.acks[i];
        await handleAck(pending[i], a.ok ? a : {error: a.error});
      }
    } catch (e) { /* offline: try again later */ }
  }
  setInterval(flush, 5000);

  // --- the socket: presence, re-sync, pushes ---------------------------------------------------------------
  function banner(offline) { $("offline-banner").hidden = !offline; document.body.classList.toggle("offline", offline); }
  function connect() {
    socket = io("/exam", {auth: {token}, transports: ["websocket", "polling"], reconnectionDelayMax: 3000});
    socket.on("connect", () => { banner(false); missedBeats = 0; inflight.clear(); sync(); flush(); });
    socket.on("disconnect", () => { banner(true); inflight.clear(); });
    socket.on("connect_error", () => banner(true));
    socket.on("clock", sync);
    socket.on("session_open", () => { if (clock && clock.status === "ready") { $("start").disabled = false; $("wait-msg").textContent = T.open; } });
    socket.on("submitted", () => api("/attempt").then((d) => done(d.state)));
  }
  function sync() {
    if (!socket || !socket.connected) return;
    socket.timeout(5000).emit("sync", {}, (err, res) => { if (!err && res) { pace(res); if (res.clock) setClock(res.clock); } });
  }
  setInterval(sync, 30000);
  function pace(res) { if (res && res.beat_ms) beatMs = Math.min(30000, Math.max(2500, Number(res.beat_ms) || 2500)); }
  function beat() {
    setTimeout(beat, beatMs);
    if (!socket) return;
    if (!socket.connected) { banner(true); return; }
    socket.timeout(ACK_MS).emit("heartbeat", {}, (err, res) => {
      if (err) {
        missedBeats++; banner(true);
        if (missedBeats >= 3) { socket.disconnect(); socket.connect(); missedBeats = 0; }  // a silently dead link
        return;
      }
      missedBeats = 0; banner(false); pace(res);
      if (res && res.clock) setClock(res.clock);
    });
  }
  setTimeout(beat, beatMs);
  window.addEventListener("offline", () => banner(true));

  // --- submit -------------------------------------------------------------------------------------------------
  $("submit").addEventListener("click", async () => {
    const un = items.filter((it) => !answered(responses[it.paper_item_id])).map((it) => it.number);
    const fl = items.filter((it) => flags[it.paper_item_id]).map((it) => it.number);
    $("confirm-unanswered").textContent = un.length ? un.join(", ") : T.none;
    $("confirm-flagged").textContent = fl.length ? fl.join(", ") : T.none;
    $("confirm-pending").hidden = (await outbox.all()).length === 0;
    show("screen-confirm");
  });
  $("cancel-submit").addEventListener("click", () => { show("screen-exam"); renderAll(); });
  $("confirm-submit").addEventListener("click", async () => {
    await flush();
    if ((await outbox.all()).length) { $("confirm-pending").hidden = false; return; }
    try { const res = await api("/attempt/submit", "POST", {confirm: true}); done(res.state); } catch (e) { fail(e.message); }
  });
  function done(st) {
    finished = true; show("screen-done");
    if (st && st.result) { $("done-score").textContent = `${T.score}: ${st.result.points} / ${st.result.out_of}`; $("done-score").hidden = false; }
  }

  window.addEventListener("online", flush);
  load().catch((e) => fail(e.message));
})();
