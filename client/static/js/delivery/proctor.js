// The proctor's live seat map: a snapshot on every (re)connect, then pushed seat changes. Nothing polls.
(function () {
  "use strict";
  const T = JSON.parse(document.getElementById("proctor-i18n").textContent);
  let snap = JSON.parse(document.getElementById("snapshot").textContent);
  const $ = (id) => document.getElementById(id);
  const seats = new Map();  // seat_id -> row
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
        li.textContent = `${hhmm(e.at)} ${e.kind}${e.by ? " · " + e.by : ""}${e.detail && e.detail.reason ? " · " + e.detail.reason : ""}`;
        $("timeline").appendChild(li); });
    });
  }

  const socket = io("/proctor", {transports: ["websocket", "polling"], reconnectionDelayMax: 3000});
  function watch() {
    socket.emit("watch", {session_id: snap.session_id, room_id: snap.room_id}, (res) => {
      if (res && res.seats) { load(res); $("live").textContent = T.live; $("live").className = "live on"; }
    });
  }
  socket.on("connect", watch);
  socket.on("disconnect", () => { $("live").textContent = T.down; $("live").className = "live off"; });
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
