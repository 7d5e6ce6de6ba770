// The proctor's live seat map: a snapshot on every (re)connect, then pushed seat changes. Nothing polls.
(function () {
  "use strict";
  const T = JSON.parse(document.getElementById("proctor-i18n").textContent);
  let snap = JSON.parse(document.getElementById("snapshot").textContent);
  const $ = (id) => document.getElementById(id);
  const seats = new Map();  // seat_id -> row
  const flags = new Map();  // flag id -> flag (behaviour flags of this room, pushed live)
  let selected = null, skew = 0;

  function load(s) {
    snap = s; seats.clear(); s.seats.forEach((r) => seats.set(r.seat_id, r));
    skew = new Date(s.server_now).getTime() - Date.now();
    $("open-session").disabled = !!s.open;
    render();
  }
  const fmt = (sec) => sec === null || sec === undefined ? "" : `${Math.floor(sec / 60)}:${String(Math.floor(sec % 60)).padStart(2, "0")}`;
  const hhmm = (iso) => new Date(iso).toLocaleTimeString("en-GB", {hour12: false});

  function render() {
    const map = $("seatmap"); map.innerHTML = "";
    const tallies = {};
    for (const r of seats.values()) {
      tallies[r.state] = (tallies[r.state] || 0) + 1;
      const d = document.createElement("div");
      d.className = "seatcell state-" + r.state + (selected === r.seat_id ? " selected" : "");
      d.style.gridRow = r.row; d.style.gridColumn = r.col;
      d.dataset.seat = r.seat_id; d.dataset.state = r.state; d.dataset.ticket = r.ticket_number;
      let line = T[r.state] || r.state;
      if (r.state === "offline" && r.offline_since) line += ` ${T.since} ${hhmm(r.offline_since)}`;
      const prog = r.total ? `${r.answered}/${r.total}` : "";
      d.innerHTML = `<div class="seatno">${r.seat_no} · ${r.form}</div><div class="who"></div>
        <div class="st">${line}</div><div class="prog" data-testid="progress">${prog}</div>
        <div class="left">${r.remaining_s !== null && r.remaining_s !== undefined && r.state !== "submitted" ? fmt(r.remaining_s) + " " + T.left : ""}${r.switch_pending ? " · " + T.switch : ""}</div>`;
      d.querySelector(".who").textContent = r.name;
      const mine = openFlags(r.attempt_id);
      if (mine) { d.classList.add("has-flags"); d.insertAdjacentHTML("beforeend", `<span class="flag-badge" data-testid="flag-badge">⚑ ${mine}</span>`); }
      d.addEventListener("click", () => select(r.seat_id));
      map.appendChild(d);
    }
    $("tallies").textContent = Object.entries(tallies).map(([k, v]) => `${T[k] || k}: ${v}`).join(" · ");
    if (selected) renderPanel();
  }

  function select(seatId) { selected = seatId; $("panel").hidden = false; render(); loadTimeline(); }
  function renderPanel() { const r = seats.get(selected); if (r) $("panel-title").textContent = `${r.seat_no} · ${r.name} · ${r.ticket_number}`; }
  function loadTimeline() {
    const r = seats.get(selected);
    $("timeline").innerHTML = "";
    if (!r || !r.attempt_id) return;
    socket.emit("timeline", {attempt_id: r.attempt_id}, (res) => {
      if (!res || !res.events) return;
      $("timeline").innerHTML = "";
      res.events.forEach((e) => { const li = document.createElement("li");
        if (e.kind === "behaviour") { li.className = "behaviour"; li.textContent = `${hhmm(e.detail.client_at)} ${T.kinds[e.detail.kind] || e.detail.kind}${dur(e.detail.duration_ms)}`; }
        else li.textContent = `${hhmm(e.at)} ${e.kind}${e.by ? " · " + e.by : ""}${e.detail && e.detail.reason ? " · " + e.detail.reason : ""}`;
        $("timeline").appendChild(li); });
    });
  }

  // --- flags: a flag is not a violation; the proctor looks at the evidence and may open a case (立案) -----------
  const en = (document.documentElement.lang || "").startsWith("en");
  const dur = (ms) => (ms === null || ms === undefined ? "" : ` · ${(ms / 1000).toFixed(1)} ${T.seconds}`);
  const seatOf = (attemptId) => { for (const r of seats.values()) if (r.attempt_id && r.attempt_id === attemptId) return r; return null; };
  const openFlags = (attemptId) => { let n = 0; for (const f of flags.values()) if (f.attempt_id === attemptId && f.status === "open") n++; return n; };
  function mergeFlags(list) {
    (list || []).forEach((f) => { if (f.source === "behaviour" && f.attempt_id) flags.set(f.id, Object.assign(flags.get(f.id) || {}, f)); });
    render(); renderFlags();
  }
  function loadFlags() {
    fetch(`/api/v1/violations/flags?session_id=${snap.session_id}&status=all`, {headers: {"Accept": "application/json"}})
      .then((r) => (r.ok ? r.json() : null)).then((b) => { if (b) mergeFlags(b.flags); }).catch(() => null);
  }
  function renderFlags() {
    const list = $("flag-list"); list.innerHTML = "";
    const shown = [...flags.values()].filter((f) => seatOf(f.attempt_id)).sort((a, b) => b.id - a.id);
    $("no-flags").hidden = shown.length > 0;
    for (const f of shown) {
      const r = seatOf(f.attempt_id), ev = f.evidence || {};
      const li = document.createElement("li");
      li.className = "flag sev-" + f.severity + " status-" + f.status;
      li.dataset.flag = f.id; li.dataset.kind = f.kind; li.setAttribute("data-testid", "flag");
      li.innerHTML = `<div class="flag-head"><span class="sev"></span> <b class="seat"></b> <span class="summary"></span>
        <small class="muted when"></small></div><ol class="evidence"></ol><div class="flag-actions"></div>`;
      li.querySelector(".sev").textContent = (T.severity && T.severity[f.severity]) || f.severity;
      li.querySelector(".seat").textContent = `${r.seat_no} · ${r.name}`;
      li.querySelector(".summary").textContent = en && ev.summary_en ? ev.summary_en : f.summary;
      li.querySelector(".when").textContent = hhmm(f.created_at);
      for (const e of ev.events || []) {
        const item = document.createElement("li");
        item.textContent = `${hhmm(e.client_at)}${dur(e.duration_ms)}${e.counted ? "" : " · " + e.note}`;
        if (!e.counted) item.className = "muted";
        li.querySelector(".evidence").appendChild(item);
      }
      const act = li.querySelector(".flag-actions");
      if (f.status === "open") {
        const a = document.createElement("a");
        a.className = "button"; a.href = `/violations/new?flag_id=${f.id}`; a.textContent = T.open_case;
        a.setAttribute("data-testid", "open-case"); act.appendChild(a);
      } else if (f.case_id) {
        const a = document.createElement("a"); a.href = `/violations/cases/${f.case_id}`; a.textContent = T.case_opened; act.appendChild(a);
      } else act.textContent = T.dismissed;
      li.querySelector(".flag-head").addEventListener("click", () => select(r.seat_id));
      list.appendChild(li);
    }
  }

  const socket = io("/proctor", {transports: ["websocket", "polling"], reconnectionDelayMax: 3000});
  function watch() {
    socket.emit("watch", {session_id: snap.session_id, room_id: snap.room_id}, (res) => {
      if (res && res.seats) { load(res); $("live").textContent = T.live; $("live").className = "live on"; loadFlags(); }
    });
  }
  socket.on("flags", (msg) => mergeFlags(msg.flags));
  socket.on("connect", watch);
  function liveness(on) { $("live").textContent = on ? T.live : T.down; $("live").className = on ? "live on" : "live off"; }
  socket.on("disconnect", () => liveness(false));
  // a link that died silently (no close) shows within 15 s: the server's transport pings are minutes apart
  setInterval(() => { if (socket.connected) socket.timeout(5000).emit("ping", {}, (err) => liveness(!err)); }, 10000);
  socket.on("seats", (msg) => {
    msg.seats.forEach((u) => { const r = seats.get(u.seat_id); if (r) Object.assign(r, u); });
    render();
    if (selected && msg.seats.some((u) => u.seat_id === selected)) loadTimeline();
  });
  socket.on("session_open", () => { $("open-session").disabled = true; watch(); });
  // remaining time ticks locally between pushes
  setInterval(() => { for (const r of seats.values()) if (r.state === "answering" || r.state === "offline") { if (r.remaining_s > 0) r.remaining_s -= 1; } render(); }, 1000);

  function act(payload) {
    socket.emit("act", payload, (res) => { if (res && res.error) alert(res.error.message); });
  }
  $("open-session").addEventListener("click", () => act({action: "open", session_id: snap.session_id}));
  $("pause-room").addEventListener("click", () => { const reason = prompt(T.reason); if (reason) act({action: "pause_room", session_id: snap.session_id, room_id: snap.room_id, reason}); });
  $("resume-room").addEventListener("click", () => act({action: "resume_room", session_id: snap.session_id, room_id: snap.room_id}));
  document.querySelectorAll("#panel button[data-act]").forEach((b) => b.addEventListener("click", () => {
    const r = seats.get(selected); if (!r || !r.attempt_id) return;
    const payload = {action: b.dataset.act, attempt_id: r.attempt_id};
    if (b.dataset.act === "extra_time") { const m = prompt(T.minutes, "10"); if (!m) return; payload.minutes = Number(m); }
    if (b.dataset.act !== "resume") { const reason = prompt(T.reason); if (reason === null) return; payload.reason = reason; }
    act(payload);
  }));
  load(snap);
})();
