/// The dashboard served at `/`: one self-contained page (inline CSS, JS and SVG charts, no
/// external assets) that polls `api/status` once a second and redraws. After each redraw it sets
/// `document.body.dataset.renderedSeries` to the number of charts that have data (the
/// dashboard's own check, read by the headless-browser test) and `dataset.updates` to the number
/// of successful polls; a failed poll sets `dataset.error`. A job with `eval:` adds a chart of
/// eval reward, accuracy and tool-call rate against policy version.
enum DashboardPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>arbor · job</title>
<style>
:root { --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --mute:#6b7385; --line:#e3e6ec; --ok:#2e9d5b; --bad:#d2453d; --warn:#d98e04; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--ink); }
header { display:flex; align-items:baseline; gap:16px; padding:14px 20px; background:var(--ink); color:#fff; }
header h1 { margin:0; font-size:18px; font-weight:600; }
header .phase { padding:2px 10px; border-radius:10px; font-size:12px; font-weight:600; text-transform:uppercase; background:var(--warn); }
header .phase.complete { background:var(--ok); } header .phase.stopped, header .phase.offline { background:var(--bad); }
header .meta { color:#b8bfcc; font-size:12px; margin-left:auto; }
main { padding:16px 20px; display:grid; gap:16px; grid-template-columns:repeat(auto-fit, minmax(420px, 1fr)); }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.card h2 { margin:0 0 8px; font-size:13px; font-weight:600; color:var(--mute); text-transform:uppercase; letter-spacing:.04em; }
.wide { grid-column:1 / -1; }
.kpis { display:flex; flex-wrap:wrap; gap:22px; }
.kpi .v { font-size:22px; font-weight:600; font-variant-numeric:tabular-nums; }
.kpi .l { font-size:11px; color:var(--mute); text-transform:uppercase; }
.bar { height:8px; background:var(--line); border-radius:4px; overflow:hidden; margin-top:10px; }
.bar > div { height:100%; background:var(--ok); width:0; transition:width .3s; }
svg { width:100%; height:190px; display:block; }
svg text { font-size:10px; fill:var(--mute); }
.legend { display:flex; flex-wrap:wrap; gap:12px; font-size:12px; margin-top:4px; }
.legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:4px; vertical-align:-1px; }
.empty { color:var(--mute); font-size:12px; padding:70px 0; text-align:center; }
table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
th { font-size:11px; color:var(--mute); text-transform:uppercase; font-weight:600; }
td.num, th.num { text-align:right; }
.pill { display:inline-block; min-width:60px; height:8px; background:var(--line); border-radius:4px; overflow:hidden; vertical-align:middle; }
.pill > span { display:block; height:100%; background:var(--ok); }
.stale { color:var(--bad); font-weight:600; }
</style>
</head>
<body data-rendered-series="0" data-updates="0">
<header><h1 id="name">arbor</h1><span id="phase" class="phase">connecting</span><a href="trees" style="color:#b8bfcc">trees</a><span class="meta" id="meta"></span></header>
<main>
  <section class="card wide">
    <div class="kpis" id="kpis"></div>
    <div class="bar"><div id="progress"></div></div>
  </section>
  <section class="card"><h2>Queue depth and in flight</h2><div id="chart-queue"></div></section>
  <section class="card"><h2>Throughput (rollouts/s)</h2><div id="chart-throughput"></div></section>
  <section class="card"><h2>Mean reward per batch, by task type</h2><div id="chart-reward"></div></section>
  <section class="card"><h2>Mean advantage per batch, by task type</h2><div id="chart-advantage"></div></section>
  <section class="card" id="card-eval" hidden><h2>Eval per policy version</h2><div id="chart-eval"></div></section>
  <section class="card"><h2>Tool success rate</h2><div id="chart-tools"></div></section>
  <section class="card"><h2>Tools</h2><div id="table-tools"></div></section>
  <section class="card wide"><h2>Workers</h2><div id="table-workers"></div></section>
</main>
<script>
"use strict";
const COLORS = ["#3b6fd8", "#e07b39", "#2e9d5b", "#a24bd1", "#d2453d", "#1aa3a3", "#8a6d3b", "#c2417c"];
const NS = "http://www.w3.org/2000/svg";
const rendered = {};

function el(tag, attrs, parent) {
  const node = document.createElementNS(NS, tag);
  for (const k in attrs) node.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(node);
  return node;
}
function fmt(v, digits) {
  if (v === null || v === undefined || !isFinite(v)) return "–";
  if (digits !== undefined) return Number(v).toFixed(digits);
  const a = Math.abs(v);
  return a >= 1000 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}
function esc(s) { return String(s).replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;"}[c])); }

// Line chart: series = [{name, xs, ys}], drawn in one SVG; returns true when any point was drawn.
function lineChart(id, series, opts) {
  const box = document.getElementById(id);
  const drawn = series.filter(s => s.ys.length > 0);
  if (drawn.length === 0) { box.innerHTML = '<div class="empty">no data yet</div>'; rendered[id] = false; return; }
  const W = 600, H = 190, L = 44, R = 10, T = 8, B = 22;
  let xmin = Infinity, xmax = -Infinity, ymin = opts.ymin !== undefined ? opts.ymin : Infinity, ymax = opts.ymax !== undefined ? opts.ymax : -Infinity;
  for (const s of drawn) s.xs.forEach((x, i) => {
    xmin = Math.min(xmin, x); xmax = Math.max(xmax, x);
    if (opts.ymin === undefined) ymin = Math.min(ymin, s.ys[i]);
    if (opts.ymax === undefined) ymax = Math.max(ymax, s.ys[i]);
  });
  if (opts.zero) ymin = Math.min(ymin, 0);
  if (xmax === xmin) { xmax = xmin + 1; }
  if (ymax - ymin < 1e-6) { ymin -= 0.5; ymax += 0.5; }  // flat series (e.g. normalized advantages ~ 0)
  const sx = x => L + (x - xmin) / (xmax - xmin) * (W - L - R);
  const sy = y => T + (1 - (y - ymin) / (ymax - ymin)) * (H - T - B);
  const svg = el("svg", {viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", "aria-label": opts.label});
  for (let i = 0; i <= 4; i++) {
    const y = ymin + (ymax - ymin) * i / 4;
    el("line", {x1: L, x2: W - R, y1: sy(y), y2: sy(y), stroke: "#e3e6ec"}, svg);
    el("text", {x: L - 4, y: sy(y) + 3, "text-anchor": "end"}, svg).textContent = fmt(y);
  }
  el("text", {x: L, y: H - 6}, svg).textContent = fmt(xmin) + (opts.xunit || "");
  el("text", {x: W - R, y: H - 6, "text-anchor": "end"}, svg).textContent = fmt(xmax) + (opts.xunit || "");
  drawn.forEach((s, k) => {
    const color = s.color || COLORS[k % COLORS.length];
    const pts = s.xs.map((x, i) => `${sx(x).toFixed(1)},${sy(s.ys[i]).toFixed(1)}`).join(" ");
    el("polyline", {points: pts, fill: "none", stroke: color, "stroke-width": 2, "vector-effect": "non-scaling-stroke"}, svg);
    if (s.xs.length < 40) s.xs.forEach((x, i) => el("circle", {cx: sx(x), cy: sy(s.ys[i]), r: 2.5, fill: color}, svg));
  });
  box.innerHTML = "";
  box.appendChild(svg);
  const legend = document.createElement("div");
  legend.className = "legend";
  legend.innerHTML = drawn.map((s, k) => `<span><i style="background:${s.color || COLORS[k % COLORS.length]}"></i>${esc(s.name)}</span>`).join("");
  box.appendChild(legend);
  rendered[id] = true;
}

// Horizontal bars of tool success rate, with calls and errors alongside.
function toolBars(id, tools) {
  const box = document.getElementById(id);
  const names = Object.keys(tools).sort();
  if (names.length === 0) { box.innerHTML = '<div class="empty">no tool calls yet</div>'; rendered[id] = false; return; }
  const W = 600, rowH = 26, H = Math.max(60, names.length * rowH + 10), L = 110, R = 120;
  const svg = el("svg", {viewBox: `0 0 ${W} ${H}`, style: `height:${H}px`, role: "img", "aria-label": "tool success rate"});
  names.forEach((name, i) => {
    const t = tools[name], rate = t.calls ? (t.calls - t.errors) / t.calls : 1, y = 6 + i * rowH;
    el("text", {x: L - 6, y: y + 14, "text-anchor": "end"}, svg).textContent = name;
    el("rect", {x: L, y: y + 3, width: W - L - R, height: 14, fill: "#e3e6ec", rx: 3}, svg);
    el("rect", {x: L, y: y + 3, width: (W - L - R) * rate, height: 14, fill: rate > 0.9 ? "#2e9d5b" : rate > 0.6 ? "#d98e04" : "#d2453d", rx: 3}, svg);
    el("text", {x: W - R + 6, y: y + 14}, svg).textContent = `${(rate * 100).toFixed(1)}% of ${t.calls}`;
  });
  box.innerHTML = "";
  box.appendChild(svg);
  rendered[id] = true;
}

function render(s) {
  const job = s.job;
  document.title = `arbor · ${job.name} · ${job.batches_written}/${job.batches_total}`;
  document.getElementById("name").textContent = job.name;
  const phase = document.getElementById("phase");
  phase.textContent = job.phase; phase.className = "phase " + job.phase;
  document.getElementById("meta").textContent = `run dir ${job.run_dir} · started ${job.started_at} · up ${fmt(job.uptime_s, 0)} s`;
  const busy = s.workers.reduce((a, w) => a + w.busy, 0), slots = s.workers.reduce((a, w) => a + w.slots, 0);
  const kpis = [
    ["batches", `${job.batches_written} / ${job.batches_total}`], ["rollouts/s", fmt(s.rates.rollouts_per_s)],
    ["tokens/s", fmt(s.rates.tokens_per_s, 0)], ["queue", s.queue.depth], ["in flight", s.queue.in_flight],
    ["workers", `${s.workers.length} (${busy}/${slots} busy)`], ["ETA", job.eta_s == null ? "–" : fmt(job.eta_s, 0) + " s"],
    ["latency p50/p99", `${fmt(s.rates.request_latency_p50_s)} / ${fmt(s.rates.request_latency_p99_s)} s`],
    ["tool calls", `${s.counters.tool_calls} (${s.counters.tool_errors} err)`],
    ["requeued", s.counters.requeued], ["given up", s.counters.given_up],
  ];
  if (job.batches_failed) kpis.push(["batches failed", job.batches_failed]);
  const o = s.outcomes;
  if (o) {
    const sum = (m) => Object.values(m).reduce((a, v) => a + v, 0);
    const reasons = Object.keys(o.failed).sort().map((r) => `${r} ${sum(o.failed[r])}`).join(" · ");
    kpis.push(["failed rollouts", o.failed_total ? `${o.failed_total} (${reasons})` : 0]);
    const byType = {};
    for (const r of Object.keys(o.failed)) for (const [t, n] of Object.entries(o.failed[r])) byType[t] = (byType[t] || 0) + n;
    if (o.failed_total) kpis.push(["failed by task type", Object.keys(byType).sort().map((t) => `${t} ${byType[t]}`).join(" · ")]);
    kpis.push(["retried / dropped / masked", `${o.retried} / ${sum(o.dropped)} / ${sum(o.masked)}`]);
  }
  if (s.aepo) kpis.push(["AEPO", `${s.aepo.masking ? "masking" : "off"} · H ${fmt(s.aepo.entropy)}`]);
  const t = s.trainer;
  if (t && (t.attached || t.policy_version > 0)) {
    kpis.push(["policy", `v${t.policy_version}`]);
    kpis.push(["trainer", `${t.batches_acked} acked · ${t.batches_unpulled} unpulled${t.backpressure ? " · waiting" : ""}`]);
    kpis.push(["stale rows dropped", t.stale_rows_dropped]);
  }
  document.getElementById("kpis").innerHTML = kpis.map(([l, v]) => `<div class="kpi"><div class="v">${esc(v)}</div><div class="l">${esc(l)}</div></div>`).join("");
  document.getElementById("progress").style.width = `${100 * job.batches_written / Math.max(1, job.batches_total)}%`;

  const h = s.history || {t_s: [], queue_depth: [], in_flight: [], rollouts_per_s: []};
  lineChart("chart-queue", [
    {name: "queue depth", xs: h.t_s, ys: h.queue_depth},
    {name: "in flight", xs: h.t_s, ys: h.in_flight},
  ], {zero: true, xunit: " s", label: "queue depth over time"});
  lineChart("chart-throughput", [{name: "rollouts/s", xs: h.t_s, ys: h.rollouts_per_s, color: "#2e9d5b"}],
    {zero: true, xunit: " s", label: "throughput over time"});
  const types = Object.keys(s.rewards).sort();
  const batchesOf = r => r.batch_indices && r.batch_indices.length === r.reward_by_batch.length ? r.batch_indices : r.reward_by_batch.map((_, i) => i);
  lineChart("chart-reward", types.map(t => ({name: t, xs: batchesOf(s.rewards[t]), ys: s.rewards[t].reward_by_batch})),
    {ymin: -1, ymax: 1, label: "reward per batch"});
  lineChart("chart-advantage", types.map(t => ({name: t, xs: batchesOf(s.rewards[t]), ys: s.rewards[t].advantage_by_batch || []})),
    {label: "advantage per batch"});
  // Eval: reward, accuracy and tool-call rate of each evaluated version (only for jobs with eval:).
  document.getElementById("card-eval").hidden = !s.eval;
  if (s.eval) {
    const versions = s.eval.map(e => e.policy_version);
    lineChart("chart-eval", [
      {name: "mean reward", xs: versions, ys: s.eval.map(e => e.mean_reward), color: "#3b6fd8"},
      {name: "accuracy", xs: versions, ys: s.eval.map(e => e.accuracy), color: "#2e9d5b"},
      {name: "tool-call rate", xs: versions, ys: s.eval.map(e => e.tool_call_rate), color: "#e07b39"},
    ], {ymin: -1, ymax: 1, xunit: "", label: "eval per policy version"});
  }
  const tools = s.tools || {};
  toolBars("chart-tools", tools);
  const toolNames = Object.keys(tools).sort();
  document.getElementById("table-tools").innerHTML = toolNames.length === 0 ? '<div class="empty">no tool calls yet</div>' :
    "<table><tr><th>tool</th><th class=num>calls</th><th class=num>errors</th><th class=num>mean</th><th class=num>p50</th><th class=num>p99</th></tr>" +
    toolNames.map(n => { const t = tools[n]; return `<tr><td>${esc(n)}</td><td class=num>${t.calls}</td><td class=num>${t.errors}</td>` +
      `<td class=num>${fmt(t.latency_mean_s * 1000)} ms</td><td class=num>${fmt(t.latency_p50_s == null ? null : t.latency_p50_s * 1000)} ms</td>` +
      `<td class=num>${fmt(t.latency_p99_s == null ? null : t.latency_p99_s * 1000)} ms</td></tr>`; }).join("") + "</table>";
  document.getElementById("table-workers").innerHTML = s.workers.length === 0 ? '<div class="empty">no workers connected</div>' :
    "<table><tr><th>worker</th><th>host</th><th>backend</th><th class=num>slots</th><th>busy</th><th class=num>heartbeat</th><th class=num>policy</th><th class=num>tokens/s</th><th class=num>done</th><th>state</th></tr>" +
    s.workers.map(w => `<tr><td>${esc(w.id)}</td><td>${esc(w.host)}</td><td>${esc(w.backend)}</td><td class=num>${w.slots}</td>` +
      `<td><span class=pill><span style="width:${100 * w.busy / Math.max(1, w.slots)}%"></span></span> ${w.busy}</td>` +
      `<td class="num${w.last_heartbeat_s > 5 ? " stale" : ""}">${fmt(w.last_heartbeat_s, 1)} s ago</td><td class=num>v${w.policy_version}</td>` +
      `<td class=num>${fmt(w.tokens_per_s, 0)}</td><td class=num>${w.completed}</td><td>${w.draining ? "draining" : "active"}</td></tr>`).join("") + "</table>";
  document.body.dataset.renderedSeries = Object.values(rendered).filter(Boolean).length;
  document.body.dataset.updates = Number(document.body.dataset.updates) + 1;
}

async function poll() {
  try {
    const response = await fetch("api/status", {cache: "no-store"});
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
    delete document.body.dataset.error;
  } catch (error) {
    document.body.dataset.error = String(error);
    const phase = document.getElementById("phase");
    if (phase.textContent !== "complete") { phase.textContent = "offline"; phase.className = "phase offline"; }
  }
  setTimeout(poll, 1000);
}
poll();
</script>
</body>
</html>
"""#
}
