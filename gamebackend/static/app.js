// The gamebackend web client: plain JavaScript, no build step.
// HTTP for actions (/v1/...), one WebSocket (/v1/ws) for everything that changes live.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { player: null, token: null, ws: null, board: null, ticket: null,
                versions: {}, cid: 0, retry: 0 };

// ---- HTTP -------------------------------------------------------------------------------
async function api(method, path, body, extraHeaders = {}) {
  const headers = { ...extraHeaders };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers,
                                  body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.message || data.error || `HTTP ${res.status}`);
  return data;
}
const withKey = () => ({ "Idempotency-Key": crypto.randomUUID() });
const short = (id) => (id === state.player ? "you" : id.slice(0, 8));

function log(kind, text) {
  const li = document.createElement("li");
  li.innerHTML = `<strong>${kind}</strong> ${text}`;
  $("events").prepend(li);
  while ($("events").children.length > 30) $("events").lastChild.remove();
}

// ---- WebSocket --------------------------------------------------------------------------
function send(type, payload) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify({ type, cid: String(++state.cid), payload }));
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/v1/ws?token=${encodeURIComponent(state.token)}`);
  state.ws = ws;
  ws.onopen = () => {
    state.retry = 0;
    setSocket(true);
    send("subscribe", { topic: "wallet" });
    send("subscribe", { topic: "matchmaking" });
    send("subscribe", { topic: "presence:lobby" });
    if (state.board) send("subscribe", { topic: `leaderboard:${state.board}` });
  };
  ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
  ws.onclose = (ev) => {
    setSocket(false);
    if (ev.code === 4401) { log("closed", "the server refused the token"); return; }
    if (state.ws === ws) setTimeout(connect, Math.min(5000, 250 * 2 ** state.retry++));
  };
}

function setSocket(on) {
  $("socket").textContent = on ? "live" : "offline";
  $("socket").className = `pill ${on ? "on" : "off"}`;
}

const handlers = {
  subscribed(p) {
    if (p.topic.startsWith("leaderboard:")) {
      renderTop(p.top || [], []);
      const mine = (p.top || []).find((r) => r.player_id === state.player);
      $("board-note").textContent = mine ? `Your rank: ${mine.rank} (score ${mine.score})` : "";
    }
    if (p.topic.startsWith("presence:")) {
      present = new Set(p.members);
      presentElsewhere = p.count - p.members.length;  // beyond the listed members
      showPresence();
    }
  },
  "wallet.updated"(p) {
    for (const [currency, balance] of Object.entries(p.balances)) {
      const version = p.versions[currency];
      if ((state.versions[currency] || 0) >= version) continue;  // older than what we show
      state.versions[currency] = version;
      setBalance(currency, balance);
    }
    log("wallet.updated", JSON.stringify(p.balances));
  },
  "leaderboard.updated"(p) {
    if (p.leaderboard_id !== state.board) return;
    renderTop(p.top, p.changes.map((c) => c.player_id));
    // My rank: from the top entries if I am among them, else from the changes if I moved.
    const mine = p.top.find((r) => r.player_id === state.player) ||
                 p.changes.find((c) => c.player_id === state.player);
    if (mine) $("board-note").textContent = `Your rank: ${mine.rank} (score ${mine.score})`;
    log("leaderboard.updated", p.changes.map((c) => `${short(c.player_id)} → #${c.rank}`).join(", "));
  },
  "match.found"(p) {
    state.ticket = null;
    $("mm-find").disabled = false;
    $("mm-cancel").disabled = true;
    const others = p.players.filter((x) => x.player_id !== state.player).map((x) => short(x.player_id));
    $("mm-status").textContent =
      `Match found in ${p.region} vs ${others.join(", ")} (skill spread ${p.skill_spread})`;
    $("mm-status").className = "found";
    log("match.found", `${p.mode} in ${p.region}, ${p.players.length} players`);
  },
  "presence.joined"(p) {
    present.add(p.player_id);
    showPresence();
    log("presence.joined", short(p.player_id));
  },
  "presence.left"(p) {
    present.delete(p.player_id);
    showPresence();
    log("presence.left", `${short(p.player_id)} (${p.reason})`);
  },
  error(p) { log("error", `${p.reason}: ${p.message}`); },
};

function onMessage(msg) {
  const handler = handlers[msg.type];
  if (handler) handler(msg.payload);
}

// ---- rendering --------------------------------------------------------------------------
function setBalance(currency, value) { const el = $(currency); if (el) el.textContent = value; }
let present = new Set();
let presentElsewhere = 0;
function showPresence() { $("presence").textContent = `${present.size + presentElsewhere} online`; }

function renderTop(records, moved) {
  const rows = records.map((r) => {
    const cls = [r.player_id === state.player ? "me" : "", moved.includes(r.player_id) ? "flash" : ""];
    return `<tr class="${cls.join(" ").trim()}"><td>${r.rank}</td><td>${short(r.player_id)}</td>` +
           `<td>${r.score}</td></tr>`;
  });
  $("top").innerHTML = rows.join("") || `<tr><td colspan="3" class="muted">no scores yet</td></tr>`;
}

async function refreshWallet() {
  const w = await api("GET", "/v1/wallet");
  for (const [currency, balance] of Object.entries(w.balances)) setBalance(currency, balance);
  const inv = await api("GET", "/v1/inventory");
  const items = Object.entries(inv.items).filter(([, qty]) => qty > 0);
  $("inventory").textContent = items.length ? items.map(([i, q]) => `${i} ×${q}`).join(", ") : "empty";
}

async function loadStore() {
  const { items } = await api("GET", "/v1/store/items");
  $("store").innerHTML = "";
  for (const item of items) {
    const li = document.createElement("li");
    li.innerHTML = `<span>${item.name} <span class="muted">${item.price.amount} ${item.price.currency}</span></span>`;
    const buy = document.createElement("button");
    buy.textContent = "Buy";
    buy.setAttribute("data-testid", `buy-${item.item_id}`);
    buy.onclick = () => purchase(item.item_id);
    li.append(buy);
    $("store").append(li);
  }
}

async function purchase(itemId) {
  try {
    await api("POST", "/v1/store/purchase", { item_id: itemId, qty: 1 }, withKey());
    log("purchase", itemId);
    await refreshWallet();
  } catch (err) { log("purchase failed", err.message); }
}

async function loadBoards() {
  const { leaderboards } = await api("GET", "/v1/leaderboards");
  $("board").innerHTML = leaderboards.map((b) => `<option>${b.id}</option>`).join("");
  state.board = leaderboards.length ? leaderboards[0].id : null;
  $("board").onchange = () => {
    if (state.board) send("unsubscribe", { topic: `leaderboard:${state.board}` });
    state.board = $("board").value;
    $("board-note").textContent = "";
    send("subscribe", { topic: `leaderboard:${state.board}` });
  };
}

// ---- actions ----------------------------------------------------------------------------
$("signin-form").onsubmit = async (ev) => {
  ev.preventDefault();
  try {
    const me = await api("POST", "/v1/players/guest", { name: $("name").value || "guest" });
    state.player = me.player_id;
    state.token = me.token;
    $("whoami").textContent = `Playing as ${$("name").value} (${me.player_id.slice(0, 8)})`;
    document.body.classList.add("signed-in");
    await Promise.all([loadStore(), loadBoards(), refreshWallet()]);
    connect();
  } catch (err) { $("whoami").textContent = `Sign-in failed: ${err.message}`; }
};

$("score-form").onsubmit = async (ev) => {
  ev.preventDefault();
  const score = parseInt($("score").value, 10);
  try {
    await api("POST", `/v1/leaderboards/${state.board}/scores`,
              { score, submission_id: crypto.randomUUID() });
    log("score", `${score} on ${state.board}`);
  } catch (err) { log("score failed", err.message); }
};

$("mm-form").onsubmit = async (ev) => {
  ev.preventDefault();
  const regions = {};
  for (const r of ["eu", "us", "asia"]) {
    const v = $(`ping-${r}`).value;
    if (v !== "") regions[r] = parseInt(v, 10);
  }
  try {
    const t = await api("POST", "/v1/matchmaking/tickets",
                        { mode: $("mode").value, mmr: parseInt($("mmr").value, 10), regions });
    state.ticket = t.ticket_id;
    $("mm-status").className = "muted";
    $("mm-status").textContent = `Searching in ${t.regions.join(", ")}…`;
    $("mm-find").disabled = true;
    $("mm-cancel").disabled = false;
  } catch (err) { $("mm-status").textContent = `Could not queue: ${err.message}`; }
};

$("mm-cancel").onclick = async () => {
  if (!state.ticket) return;
  try {
    const t = await api("DELETE", `/v1/matchmaking/tickets/${state.ticket}`);
    $("mm-status").textContent = `Ticket ${t.status}.`;
  } catch (err) { $("mm-status").textContent = err.message; }
  state.ticket = null;
  $("mm-find").disabled = false;
  $("mm-cancel").disabled = true;
};
