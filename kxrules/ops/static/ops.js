// The ops view: renders the engine's snapshots (a server-sent event stream) and sends the
// operator's commands, each confirmed first, as POSTs with the page's CSRF token.
"use strict";

const csrf = document.querySelector('meta[name="csrf"]').content;
const won = (v) => (v === null || v === undefined) ? "–" : "₩" + v.toLocaleString("en-US");
const num = (v) => (v === null || v === undefined || v === 0) ? "–" : v.toLocaleString("en-US");
const ms = (v) => (v === null || v === undefined) ? "–" : (v < 10000 ? v + " ms" : (v / 1000).toFixed(1) + " s");

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function set(id, text, cls) {
  const node = document.getElementById(id);
  node.textContent = text;
  node.className = "v" + (cls ? " " + cls : "");
}

function renderTop(top, pnl) {
  set("connected", top.connected ? "connected" : "disconnected", top.connected ? "good" : "bad");
  set("account", top.account);
  set("server", top.server, top.server === "실거래" ? "bad" : "");
  const s = top.session;
  const venues = ["KRX", "NXT"].map((v) => v + (s[v] === true ? " open" : s[v] === false ? " closed" : " ?")).join(" · ");
  set("session", (s.trading_day ? (s.in_window ? "in window " : "outside window ") : "no trading day ") + venues);
  let state = "ARMED", cls = "good";
  if (top.ended) { state = "ended" + (top.result ? ": " + top.result : ""); cls = ""; }
  else if (top.killed) { state = "DISARMED (" + top.killed + ")"; cls = "bad"; }
  else if (top.operator_disarmed) { state = "DISARMED by operator"; cls = "warn"; }
  else if (!top.armed) { state = "disarmed"; cls = "warn"; }
  if (top.paused && !top.ended) { state += " · auto-pause"; cls = "warn"; }
  set("armed", state, cls);
  const pct = Math.min(100, 100 * top.orders_in_window / top.capacity);
  document.getElementById("rate-fill").style.width = pct + "%";
  document.getElementById("rate-band").style.left = (100 * top.band / top.capacity) + "%";
  set("rate", top.orders_in_window + " / " + top.capacity + " (max " + top.max_in_window + ")",
      top.orders_in_window >= top.band ? "warn" : "");
  set("tokens", String(top.tokens_free), top.tokens_free <= 1 ? "warn" : "");
  set("counts", num(top.quotes) + " · " + num(top.signals) + " · " + num(top.pairs_done));
  set("junk", top.junk === null ? "–" : String(top.junk), top.junk ? "warn" : "");
  set("pnl", won(pnl.realised_krw), pnl.realised_krw < 0 ? "bad" : "good");
  const banner = document.getElementById("banner");
  banner.hidden = !(top.killed || top.ended);
  banner.textContent = top.ended ? "session ended" + (top.result ? ": " + top.result : "")
                                 : top.killed ? "disarmed for the rest of the run: " + top.killed : "";
}

function quote(v) {
  return el("td", {class: "n"}, num(v.price), " ", el("span", {class: "sz"}, v.qty ? "(" + num(v.qty) + ")" : ""));
}

// the snapshot sends the symbols as columns (one list per field; the venues' fields one list
// per venue, KRX first): one row object per symbol again
function symbolRows(c) {
  const venue = (v, i) => ({bid: c.bid[v][i], ask: c.ask[v][i], bid_qty: c.bid_qty[v][i], ask_qty: c.ask_qty[v][i],
                            age_ms: c.age_ms[v][i]});
  return c.code.map((code, i) => ({code: code, name: c.name[i], state: c.state[i], muted: c.muted[i],
    mute_reason: c.mute_reason[i], frozen: c.frozen[i], live_pairs: c.live_pairs[i], position: c.position[i],
    gap_ticks: c.gap_ticks[i], net_edge_krw: c.net_edge_krw[i], direction: c.direction[i],
    venues: [venue(0, i), venue(1, i)]}));
}

function renderSymbols(symbols) {
  const body = document.querySelector("#symbols tbody");
  const rows = symbolRows(symbols).map((s) => {
    const [krx, nxt] = s.venues;
    const tr = el("tr", {"data-code": s.code, class: s.live_pairs ? "busy" : ""},
      el("td", {}, s.code), el("td", {class: "name"}, s.name), el("td", {class: "state state-" + s.state}, s.state + (s.mute_reason ? " (" + s.mute_reason + ")" : "")),
      quote({price: krx.bid, qty: krx.bid_qty}), quote({price: krx.ask, qty: krx.ask_qty}),
      quote({price: nxt.bid, qty: nxt.bid_qty}), quote({price: nxt.ask, qty: nxt.ask_qty}),
      el("td", {class: "n gap"}, s.gap_ticks === null ? "–" : s.gap_ticks + "t " + (s.direction || "")),
      el("td", {class: "n edge " + (s.net_edge_krw > 0 ? "good" : "")}, won(s.net_edge_krw)),
      el("td", {class: "n"}, ms(krx.age_ms) + " / " + ms(nxt.age_ms)),
      el("td", {class: "n"}, String(s.position)));
    const actions = el("td", {});
    actions.append(button(s.muted ? "unmute" : "mute", s), " ", button(s.frozen ? "unfreeze" : "freeze", s));
    tr.append(actions);
    return tr;
  });
  body.replaceChildren(...rows);
}

function button(command, s) {
  const b = el("button", {class: "small", "data-command": command, "data-code": s.code}, command);
  b.addEventListener("click", () => ask(command, s.code, s.name));
  return b;
}

function renderPairs(pairs, done) {
  document.querySelector("#pairs tbody").replaceChildren(...pairs.map((p) => el("tr", {"data-pair": p.pair_id},
    el("td", {}, String(p.pair_id)), el("td", {}, p.code), el("td", {}, p.buy + "→" + p.sell), el("td", {class: "state"}, p.state),
    el("td", {class: "n"}, ms(p.in_state_ms)), el("td", {class: "n"}, ms(p.age_ms)),
    el("td", {class: "n"}, p.entry_filled + "/" + p.hedged + " of " + p.qty),
    el("td", {class: "n " + (p.unhedged_ms > 1000 ? "bad" : "")}, ms(p.unhedged_ms)))));
  document.querySelector("#done tbody").replaceChildren(...done.map((p) => el("tr", {"data-pair": p.pair_id},
    el("td", {}, String(p.pair_id)), el("td", {}, p.code), el("td", {}, p.ended), el("td", {}, p.state),
    el("td", {class: "n " + (p.net_krw < 0 ? "bad" : "good")}, won(p.net_krw)))));
}

function renderFeed(feed) {
  document.getElementById("feed").replaceChildren(...feed.map((f) => el("li", {class: "kind-" + f.kind},
    el("span", {class: "t"}, f.t), el("span", {class: "kind"}, f.kind), f.code ? f.code + " " : "", f.text)));
}

function renderCurve(curve) {
  const line = document.getElementById("curve-line");
  if (curve.length === 0) { line.setAttribute("points", ""); return; }
  const t0 = curve[0][0], t1 = Math.max(curve[curve.length - 1][0], t0 + 1);
  const values = curve.map((p) => p[1]);
  const lo = Math.min(0, ...values), hi = Math.max(0, ...values), span = Math.max(hi - lo, 1);
  const y = (v) => 150 - 140 * (v - lo) / span;
  line.setAttribute("points", curve.map((p) => (600 * (p[0] - t0) / (t1 - t0)).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" "));
  const zero = document.getElementById("zero");
  zero.setAttribute("y1", y(0)); zero.setAttribute("y2", y(0));
  document.getElementById("curve-range").textContent = "low " + won(lo) + " · high " + won(hi);
}

function render(doc) {
  document.getElementById("clock").textContent = doc.t;
  renderTop(doc.top, doc.pnl);
  renderSymbols(doc.symbols);
  renderPairs(doc.pairs, doc.done);
  renderFeed(doc.feed);
  renderCurve(doc.pnl.curve);
}

const QUESTIONS = {
  arm: "Arm the engine? It trades inside the guard window.",
  disarm: "Disarm the engine? No new pairs; live pairs finish.",
  emergency_stop: "EMERGENCY STOP: disarm for the rest of the run, cancel every resting order and flatten?",
  mute: "Mute {s}? It is not evaluated until unmuted.",
  unmute: "Unmute {s}?",
  freeze: "Freeze {s}? No new pairs on it; live pairs go on.",
  unfreeze: "Unfreeze {s}?",
};

function ask(command, code, name) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent =
    QUESTIONS[command].replace("{s}", code ? code + (name ? " " + name : "") : "");
  dialog.onclose = () => { if (dialog.returnValue === "ok") send(command, code); };
  dialog.returnValue = "";
  dialog.showModal();
}

async function send(command, code) {
  const resp = await fetch("/api/command", {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-KX-CSRF": csrf},
    body: JSON.stringify({command: command, code: code || null})});
  if (!resp.ok) alertLine("command refused: " + (await resp.text()));
}

function alertLine(text) {
  const banner = document.getElementById("banner");
  banner.hidden = false;
  banner.textContent = text;
}

for (const b of document.querySelectorAll(".controls button")) {
  b.addEventListener("click", () => ask(b.dataset.command, null, null));
}

const stream = new EventSource("/api/stream");
stream.onmessage = (ev) => render(JSON.parse(ev.data));
stream.onerror = () => set("connected", "view lost its stream", "bad");
