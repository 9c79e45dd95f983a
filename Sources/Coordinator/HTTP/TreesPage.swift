/// The tree viewer served at `/trees`: one self-contained page (inline CSS and JS, no external
/// assets) that reads `api/trees` and draws each tree of a batch top-down, one box per node
/// (`data-node-id`), coloured by advantage (F(s) on steps, A_k on leaves), with the paths to the
/// best and worst leaf outlined. A click on a box shows its whole text, tool calls, result and
/// format checks in the side panel.
///
/// Query: `batch` and `task` choose what to draw (the pickers change them); `click=ID` clicks
/// node ID of the first tree drawn once it is drawn — how the headless-browser test checks the
/// click path without a driver. After drawing, `body[data-rendered-nodes]` holds the number of
/// boxes drawn; a failed fetch sets `body[data-error]`.
enum TreesPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>arbor · trees</title>
<style>
:root { --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --mute:#6b7385; --line:#c9ced8; --ok:#2e9d5b; --bad:#d2453d; }
* { box-sizing:border-box; }
body { margin:0; font:13px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--ink); }
header { display:flex; align-items:center; gap:14px; padding:12px 20px; background:var(--ink); color:#fff; }
header h1 { margin:0; font-size:18px; font-weight:600; }
header a { color:#b8bfcc; } header label { color:#b8bfcc; font-size:12px; }
header select { margin-left:4px; font:inherit; }
header .legend { margin-left:auto; font-size:12px; color:#b8bfcc; display:flex; gap:12px; align-items:center; }
.sw { display:inline-block; width:26px; height:10px; border-radius:2px; vertical-align:-1px; margin-right:4px; }
main { display:flex; gap:16px; padding:16px 20px; align-items:flex-start; }
#trees { flex:1; min-width:0; display:flex; flex-direction:column; gap:16px; }
#detail { width:360px; flex:none; position:sticky; top:12px; background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; max-height:92vh; overflow:auto; }
#detail h2 { margin:0 0 6px; font-size:14px; }
#detail pre { white-space:pre-wrap; word-break:break-word; background:#f0f2f5; padding:6px 8px; border-radius:4px; margin:4px 0 10px; font-size:12px; }
#detail .k { color:var(--mute); font-size:11px; text-transform:uppercase; letter-spacing:.04em; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; overflow-x:auto; }
.card h2 { margin:0 0 10px; font-size:14px; font-weight:600; }
.card h2 span { color:var(--mute); font-weight:400; margin-left:8px; }
.empty { color:var(--mute); padding:40px; text-align:center; }
ul.tree, ul.tree ul { list-style:none; margin:0; padding:0; display:flex; justify-content:center; }
ul.tree ul { padding-top:18px; position:relative; }
ul.tree li { position:relative; padding:18px 6px 0; display:flex; flex-direction:column; align-items:center; }
ul.tree > li { padding-top:0; }
ul.tree li::before, ul.tree li::after { content:""; position:absolute; top:0; width:50%; height:18px; border-top:1px solid var(--line); }
ul.tree li::before { right:50%; } ul.tree li::after { left:50%; border-left:1px solid var(--line); }
ul.tree li:first-child::before, ul.tree li:last-child::after { border-top:none; }
ul.tree li:only-child::before, ul.tree li:only-child::after { border-top:none; }
ul.tree li:only-child::after { border-left:1px solid var(--line); }
ul.tree > li::before, ul.tree > li::after { display:none; }
ul.tree ul::before { content:""; position:absolute; top:0; left:50%; height:18px; border-left:1px solid var(--line); }
.node { width:190px; border:1px solid var(--line); border-radius:6px; padding:5px 7px; cursor:pointer; font-size:11.5px; }
.node:hover { box-shadow:0 0 0 2px #3b6fd8; }
.node.sel { box-shadow:0 0 0 3px #3b6fd8; }
.node.best { border:3px solid var(--ok); } .node.worst { border:3px dashed var(--bad); }
.node.best.worst { border:3px double #7a4fd0; }
.node .h { display:flex; justify-content:space-between; font-weight:600; font-variant-numeric:tabular-nums; }
.node .t { margin-top:3px; word-break:break-word; font-family:ui-monospace, Menlo, monospace; font-size:10.5px; }
.node .tool { margin-top:3px; color:#24508f; word-break:break-word; font-size:10.5px; }
.node .leaf { margin-top:3px; font-weight:600; font-variant-numeric:tabular-nums; }
.node .checks { margin-top:2px; color:var(--mute); font-size:10px; }
</style>
</head>
<body data-rendered-nodes="0">
<header><h1>arbor · trees</h1><a href="./">dashboard</a>
<label>batch<select id="batch"></select></label><label>task<select id="task"></select></label>
<span class="legend"><span><i class="sw" style="background:linear-gradient(90deg,#e8a29d,#fff,#9fd6b3)"></i>advantage −/+</span>
<span><i class="sw" style="border:3px solid #2e9d5b"></i>best leaf path</span><span><i class="sw" style="border:3px dashed #d2453d"></i>worst leaf path</span></span></header>
<main><div id="trees"><div class="empty">loading…</div></div>
<aside id="detail"><h2>Node</h2><div class="k">click a box to see its whole text, tool calls and checks</div></aside></main>
<script>
"use strict";
const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"})[c]);
const num = (v) => v === null || v === undefined ? "–" : (v >= 0 ? "+" : "") + v.toFixed(3);
const cut = (s, n) => s.length > n ? s.slice(0, n) + "…" : s;
function colour(v, scale) {
  if (v === null || v === undefined || scale === 0) return "#fff";
  const a = Math.min(1, Math.abs(v) / scale) * 0.55;
  return v >= 0 ? `rgba(46,157,91,${a})` : `rgba(210,69,61,${a})`;
}
function box(node, tree, scale) {
  const value = node.trajectory ? node.trajectory.advantage : node.fork_advantage;
  // The root lies on every path; only steps are outlined.
  const step = node.parent !== null;
  const cls = ["node", step && node.best_path ? "best" : "", step && node.worst_path ? "worst" : ""].join(" ");
  let html = `<div class="${cls}" data-node-id="${node.id}" data-task="${esc(tree.task_id)}" style="background:${colour(value, scale)}">`;
  html += node.parent === null
    ? `<div class="h"><span>[${node.id}] prompt</span></div>`
    : `<div class="h"><span>[${node.id}]</span><span>R ${num(node.reward)} · F ${num(node.fork_advantage)}</span></div>`;
  if (node.text) html += `<div class="t">${esc(cut(node.text, node.parent === null ? 90 : 140))}</div>`;
  for (const call of node.tool_calls) html += `<div class="tool">tool ${esc(call.name)} ${esc(cut(call.arguments, 40))} → ${esc(cut(call.ok ? call.output : "error: " + call.error, 40))}</div>`;
  if (node.format_checks.length) html += `<div class="checks">${node.format_checks.map((c) => (c.passed ? "✓" : "✗") + esc(c.name)).join(" ")}</div>`;
  if (node.trajectory) {
    const outcome = node.outcome > 0 ? "correct" : node.outcome === 0 ? "abstained" : "wrong";
    html += `<div class="leaf">${outcome} · r ${num(node.trajectory.reward)} · A ${num(node.trajectory.advantage)}${node.trajectory.weight === 0 ? " · w 0" : ""}</div>`;
  }
  return html + "</div>";
}
function subtree(node, children, tree, scale) {
  const kids = children.get(node.id) || [];
  return `<li>${box(node, tree, scale)}${kids.length ? "<ul>" + kids.map((k) => subtree(k, children, tree, scale)).join("") + "</ul>" : ""}</li>`;
}
function showDetail(node, tree) {
  let html = `<h2>${esc(tree.task_id)} · node ${node.id}${node.parent === null ? " (prompt)" : ""}</h2>`;
  if (node.parent !== null) html += `<div class="k">R(s) ${num(node.reward)} · F(s) ${num(node.fork_advantage)} · format ${node.format.toFixed(2)}</div>`;
  if (node.trajectory) html += `<div class="k">leaf: outcome ${node.outcome} · r ${num(node.trajectory.reward)} · A ${num(node.trajectory.advantage)} · weight ${node.trajectory.weight}</div>`;
  html += `<div class="k">text (${esc(node.text_source)})</div><pre id="detail-text">${esc(node.text || "(none)")}</pre>`;
  for (const call of node.tool_calls) html += `<div class="k">tool call ${esc(call.name)} ${call.ok ? "ok" : "failed"}</div><pre>${esc(call.arguments)}\n→ ${esc(call.ok ? call.output : call.error)}</pre>`;
  if (node.tool_result !== null && !node.tool_calls.length) html += `<div class="k">what followed</div><pre>${esc(node.tool_result)}</pre>`;
  if (node.answer) html += `<div class="k">answer</div><pre>${esc(node.answer)}</pre>`;
  if (node.format_checks.length) html += `<div class="k">format checks</div><pre>${node.format_checks.map((c) => (c.passed ? "✓ " : "✗ ") + esc(c.name) + (c.detail ? " — " + esc(c.detail) : "")).join("\n")}</pre>`;
  $("detail").innerHTML = html;
  $("detail").dataset.shown = node.id;
}
function draw(doc) {
  $("batch").innerHTML = doc.batches.map((b) => `<option${b === doc.batch ? " selected" : ""}>${b}</option>`).join("");
  const task = params.get("task") || "";
  $("task").innerHTML = `<option value="">all ${doc.tasks.length} tasks</option>` +
    doc.tasks.map((t) => `<option${t === task ? " selected" : ""}>${esc(t)}</option>`).join("");
  const trees = task ? doc.trees.filter((t) => t.task_id === task) : doc.trees;
  let html = "";
  for (const tree of trees) {
    const children = new Map();
    for (const node of tree.nodes) if (node.parent !== null) (children.get(node.parent) || children.set(node.parent, []).get(node.parent)).push(node);
    const values = tree.nodes.flatMap((n) => [n.fork_advantage, n.trajectory && n.trajectory.advantage]).filter((v) => typeof v === "number");
    const scale = Math.max(0, ...values.map(Math.abs));
    const root = tree.nodes.find((n) => n.parent === null);
    const byId = new Map(tree.nodes.map((n) => [n.id, n]));
    const best = byId.get(tree.best_leaf), worst = byId.get(tree.worst_leaf);
    html += `<section class="card" data-task="${esc(tree.task_id)}"><h2>${esc(tree.task_id)}<span>${esc(tree.task_type)} · ${tree.nodes.length} nodes · policy v${tree.policy_version ?? "?"}`
      + ` · best leaf ${tree.best_leaf} (A ${num(best && best.trajectory && best.trajectory.advantage)}) · worst leaf ${tree.worst_leaf} (A ${num(worst && worst.trajectory && worst.trajectory.advantage)})</span></h2>`
      + `<ul class="tree">${subtree(root, children, tree, scale)}</ul></section>`;
  }
  $("trees").innerHTML = html || `<div class="empty">no trees</div>`;
  for (const element of document.querySelectorAll(".node")) {
    element.addEventListener("click", () => {
      const tree = doc.trees.find((t) => t.task_id === element.dataset.task);
      const node = tree.nodes.find((n) => String(n.id) === element.dataset.nodeId);
      for (const other of document.querySelectorAll(".node.sel")) other.classList.remove("sel");
      element.classList.add("sel");
      showDetail(node, tree);
    });
  }
  document.body.dataset.renderedNodes = document.querySelectorAll(".node[data-node-id]").length;
  const click = params.get("click");
  if (click !== null) { const target = document.querySelector(`.node[data-node-id="${CSS.escape(click)}"]`); if (target) target.click(); }
}
function go(batch, task) {
  const next = new URLSearchParams();
  if (batch) next.set("batch", batch);
  if (task) next.set("task", task);
  location.search = next.toString();
}
$("batch").addEventListener("change", () => go($("batch").value, ""));
$("task").addEventListener("change", () => go($("batch").value, $("task").value));
const query = new URLSearchParams();
if (params.get("batch")) query.set("batch", params.get("batch"));
fetch("api/trees?" + query.toString(), {cache: "no-store"})
  .then((r) => r.json().then((body) => { if (!r.ok) throw new Error(body.error || r.statusText); return body; }))
  .then(draw)
  .catch((e) => { document.body.dataset.error = String(e.message || e); $("trees").innerHTML = `<div class="empty">${esc(e.message || e)}</div>`; });
</script>
</body>
</html>
"""#
}
