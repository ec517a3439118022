// The reference backend's mix for k6 (canaryctl.load.scenario's, one request per arrival).
// canaryctl renders a profile's stages and these constants into the marked line.
import http from "k6/http";

// {{canaryctl: constants and options}}
const BASE = (__ENV.CANARYCTL_TARGET || DEFAULT_TARGET).replace(/\/+$/, "");
const ADMIN_KEY = __ENV.CANARYCTL_ADMIN_KEY || "";
// A 5xx or no answer is a failure, as the router and canaryctl's generator count them; a 4xx
// (an overdrawn wallet, a replayed key) is an answer.
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 499 }));

const NAMES = Object.keys(ACTIONS);
const TOTAL = NAMES.reduce((s, n) => s + ACTIONS[n], 0);
let serial = 0;
let players = null; // this VU's players: those of setup(), then the ones it registers
const unfunded = [];

function newKey() {  // an Idempotency-Key: 128 random bits in hex
  let out = "";
  for (let i = 0; i < 4; i++) {
    out += Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, "0");
  }
  return out;
}
function pick(list) { return list[Math.floor(Math.random() * list.length)]; }
function json(method, path, body, headers) {
  const params = { headers: Object.assign({ "content-type": "application/json" }, headers || {}),
                   timeout: TIMEOUT };
  return http.request(method, BASE + path, body === null ? null : JSON.stringify(body), params);
}
function auth(p) { return { authorization: `Bearer ${p.token}` }; }

function register() {
  serial += 1;
  const name = `k6-${__VU}-${serial}-${Math.floor(Math.random() * 1e6)}`;
  const res = json("POST", "/v1/players", { name: name });
  if (res.status !== 201) return null;
  const body = res.json();
  return { id: String(body.player_id), token: String(body.token), keys: [] };
}
function fund(p) {
  const body = { player_id: p.id, currency: CURRENCY, amount: 1000, reason: "load:reward" };
  return json("POST", "/v1/wallet/transactions", body,
              { "x-admin-key": ADMIN_KEY, "idempotency-key": newKey() });
}

export function setup() {
  const made = [];
  for (let i = 0; i < MIN_PLAYERS; i++) {
    const p = register();
    if (p !== null) {
      if (ADMIN_KEY) fund(p);
      made.push(p);
    }
  }
  return { players: made };
}

function choose() {
  if (players.length < MIN_PLAYERS) return "register";
  if (unfunded.length > 0 && ADMIN_KEY) return "credit";
  let r = Math.random() * TOTAL;
  for (const n of NAMES) {
    r -= ACTIONS[n];
    if (r < 0) return n === "credit" && !ADMIN_KEY ? "wallet" : n;
  }
  return "board";
}

const DO = {
  register() { const p = register(); if (p !== null) { players.push(p); unfunded.push(p); } },
  credit() { fund(unfunded.length > 0 ? unfunded.pop() : pick(players)); },
  debit() {
    const p = pick(players);
    let key, body;
    if (p.keys.length > 0 && Math.random() < 0.1) { [key, body] = pick(p.keys); }  // a retry
    else {
      key = newKey();
      body = { currency: CURRENCY, amount: -(1 + Math.floor(Math.random() * 20)), reason: "load:spend" };
      p.keys = p.keys.slice(-7).concat([[key, body]]);
    }
    json("POST", "/v1/wallet/transactions", body, Object.assign(auth(p), { "idempotency-key": key }));
  },
  purchase() {
    const p = pick(players);
    json("POST", "/v1/store/purchase", { item_id: pick(ITEMS), qty: 1 },
         Object.assign(auth(p), { "idempotency-key": newKey() }));
  },
  score() {
    const p = pick(players);
    json("POST", `/v1/leaderboards/${pick(BOARDS)}/scores`,
         { score: Math.floor(Math.random() * 100001), submission_id: newKey() }, auth(p));
  },
  board() {
    http.get(`${BASE}/v1/leaderboards/${pick(BOARDS)}/records?limit=10`,
             { headers: auth(pick(players)), timeout: TIMEOUT });
  },
  ledger() {
    http.get(`${BASE}/v1/wallet/ledger?currency=${CURRENCY}&limit=20`,
             { headers: auth(pick(players)), timeout: TIMEOUT });
  },
  wallet() { http.get(`${BASE}/v1/wallet`, { headers: auth(pick(players)), timeout: TIMEOUT }); },
  contribute() {
    const p = pick(players);
    json("POST", `/v1/pools/${pick(POOLS)}/contributions`, { currency: CURRENCY, amount: 1 },
         Object.assign(auth(p), { "idempotency-key": newKey() }));
  },
};

export default function (data) {
  if (players === null) players = data.players.map((p) => Object.assign({}, p, { keys: [] }));
  DO[choose()]();  // one request per arrival
}
