/* tavbo dashboard: renders the page's JSON view (server) or the report's bundle of views.
 * Server mode re-fetches the view's JSON endpoint every `refresh` seconds and re-renders in
 * place (Plotly.react), so a running campaign is watched without reloading. Report mode has
 * every view embedded and routes on location.hash; it needs no server and no network. */
"use strict";
const PAGE = JSON.parse(document.getElementById("page-data").textContent);
const REPORT = PAGE.mode === "report";

function esc(v) {
  return String(v).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}
function fmt(v, digits) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number" && digits === "g") return v === 0 ? "0" : (Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toPrecision(3));
  if (typeof v === "number") return Number.isInteger(v) && digits === undefined ? String(v) : v.toFixed(digits === undefined ? 3 : digits);
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "object") return esc(JSON.stringify(v));
  return esc(v);
}
function href(path) { return REPORT ? "#" + path : PAGE.prefix + path + (PAGE.query || ""); }
function link(path, text) { return `<a href="${esc(href(path))}">${esc(text)}</a>`; }
function compLink(r) {
  return link(`/compositions/${encodeURIComponent(r.campaign)}/${encodeURIComponent(r.engine)}/${encodeURIComponent(r.id)}`, r.id);
}
function secs(s) {
  if (s === null || s === undefined) return "";
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
/* columns: [key, header, {num, cell(row), digits}] */
function table(columns, rows, id) {
  if (!rows.length) return `<p class="muted" data-empty="${esc(id || "")}">none</p>`;
  const head = columns.map((c) => `<th>${esc(c[1])}</th>`).join("");
  const body = rows.map((r) => "<tr>" + columns.map((c) => {
    const o = c[2] || {};
    const value = o.cell ? o.cell(r) : fmt(r[c[0]], o.digits);
    return `<td class="${o.num ? "num" : ""}" data-field="${esc(c[0])}">${value}</td>`;
  }).join("") + "</tr>").join("");
  return `<table id="${esc(id || "")}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}
function card(label, value, field) {
  return `<div class="card"><div class="muted">${esc(label)}</div><div class="value" data-field="${esc(field)}">${value}</div></div>`;
}
function plot(id, figure) {
  const el = document.getElementById(id);
  if (!el || !figure) return;
  const config = {responsive: true, displaylogo: false};
  Plotly.react(el, figure.data, figure.layout, config).then(() => el.setAttribute("data-rendered", "1"));
}

/* ---------------------------------------------------------------- views */
function goalText(c) {
  if (c.threshold) {
    const t = c.threshold;
    const eu = t.expected_undiscovered === null ? "n/a (no GP decision yet)" : fmt(t.expected_undiscovered, 2);
    return `E_b &lt; ${fmt(t.tau, 2)} eV: <span data-field="found">${t.found}</span> found; expected undiscovered ${eu} ` +
      `(stops below ${fmt(t.stop_undiscovered, 2)}); last hit ${t.since_last_hit} evaluations ago (stops after ${t.stop_patience})`;
  }
  return "lowest E_b";
}
function overview(d) {
  const cols = [
    ["name", "campaign", {cell: (r) => link(`/campaigns/${encodeURIComponent(r.name)}`, r.name)}],
    ["status", "state", {cell: (r) => esc(r.status) + (r.stop_reason ? `<div class="muted">${esc(r.stop_reason)}</div>` : "")}],
    ["carrier", "A"], ["engine", "engine"], ["model", "model"], ["acquisition", "acquisition"],
    ["new", "new", {num: true, cell: (r) => r.counts.new}],
    ["pending", "pending", {num: true, cell: (r) => r.counts.pending}],
    ["done", "done", {num: true, cell: (r) => r.counts.done}],
    ["failed", "failed", {num: true, cell: (r) => r.counts.failed}],
    ["budget", "budget used", {num: true, cell: (r) => `${r.budget_used} / ${r.budget}`}],
    ["best_e_b", "best E_b (eV)", {num: true, cell: (r) => r.best_e_b === null ? "" : `${fmt(r.best_e_b)} <span class="muted">${esc(r.best_id)}</span>`}],
    ["goal", "goal and stopping rule", {cell: goalText}],
  ];
  const rows = d.campaigns.map((c) => c);
  let html = `<h1>Campaigns</h1>` + table(cols, rows, "campaigns");
  if (!d.campaigns.length) html += `<p>No campaigns yet: start one with <code>tavbo run</code> or <code>tavbo agent</code>.</p>`;
  setContent(html);
  document.querySelectorAll("#campaigns tbody tr").forEach((tr, i) => tr.setAttribute("data-campaign", rows[i].name));
}
function campaign(d) {
  const c = d.campaign;
  const best = c.best_e_b === null ? "–" : `${fmt(c.best_e_b)} eV`;
  let html = `<h1>Campaign ${esc(c.name)} <span class="muted">[${esc(c.status)}]</span></h1>
  <p>${esc(c.carrier)} pool, engine ${esc(c.engine)}, model ${esc(c.model)}, acquisition ${esc(c.acquisition)}.
  E_b in eV as the engine measures it (from the ${esc(d.reference.replace("_", " "))}).
  ${c.stop_reason ? `Stopped: ${esc(c.stop_reason)}.` : ""} ${c.lease_owner ? `Agent: ${esc(c.lease_owner)}.` : ""}</p>
  <div class="cards" id="campaign-cards">
   ${card("new", c.counts.new, "new")}${card("pending", c.counts.pending, "pending")}
   ${card("done", c.counts.done, "done")}${card("failed", c.counts.failed, "failed")}
   ${card("budget used", `${c.budget_used} / ${c.budget}`, "budget")}
   ${card("best so far", best + (c.best_id ? ` <span class="muted">${esc(c.best_id)}</span>` : ""), "best")}
  </div>
  <p>Goal: ${goalText(c)}</p>
  <h2>E_b against iteration</h2><div class="plot" id="plot-history"></div>
  <h2>The GP over the whole ${esc(c.carrier)} pool</h2><div class="plot" id="plot-map"></div>
  <h2>Next proposals</h2>${d.next_error ? `<p class="bad">no proposals: ${esc(d.next_error)}</p>` : ""}` +
  table([["rank", "rank", {num: true}], ["id", "composition"], ["strategy", "strategy"], ["acquisition", "acquisition"],
         ["acq_value", "acquisition value", {num: true, digits: "g"}], ["mean", "predicted E_b (eV)", {num: true}],
         ["std", "std (eV)", {num: true}]], d.next, "next") +
  `<h2>Pending and failed</h2>` +
  table([["candidate_id", "composition"], ["fw_id", "fw_id", {num: true}], ["decision", "decision", {num: true}]], d.pending, "pending") +
  table([["candidate_id", "composition"], ["fw_id", "fw_id", {num: true}], ["failure", "kind"], ["error", "error"]], d.failed, "failed") +
  `<p>${link(`/jobs?campaign=${encodeURIComponent(c.name)}`, "jobs of this campaign")} ·
   ${link(`/barriers?campaign=${encodeURIComponent(c.name)}`, "barrier table")}</p>
  <h2>Finished evaluations</h2><div class="scroll">` +
  table([["iteration", "iteration", {num: true}], ["id", "composition", {cell: (r) => compLink({campaign: c.name, engine: c.engine, id: r.id})}],
         ["e_b", "E_b (eV)", {num: true}], ["best", "best so far (eV)", {num: true}], ["strategy", "picked by"],
         ["pred_mean", "predicted (eV)", {num: true}], ["pred_std", "std (eV)", {num: true}]], d.history, "history") +
  `</div><h2>Decisions (audit records)</h2><div class="scroll">` +
  table([["seq", "seq", {num: true}], ["candidate_id", "composition"], ["strategy", "strategy"], ["acquisition", "acquisition"],
         ["acq_value", "value", {num: true, digits: "g"}], ["rank", "rank", {num: true}], ["mean", "mean (eV)", {num: true}],
         ["std", "std (eV)", {num: true}], ["n_observed", "observed", {num: true}], ["n_pending", "pending", {num: true}],
         ["fw_id", "fw_id", {num: true}], ["created", "time"],
         ["model", "model and hyperparameters", {cell: (r) => r.model && Object.keys(r.model).length ? `<details><summary>${esc(r.model.kernel || r.model.mode || "model")}</summary><pre>${esc(JSON.stringify(r.model, null, 1))}</pre></details>` : ""}]],
        d.decisions, "decisions") + `</div>`;
  setContent(html);
  plot("plot-history", d.history_figure);
  plot("plot-map", d.map_figure);
}
function jobs(d) {
  const html = `<h1>Jobs${d.campaign ? " of " + esc(d.campaign) : ""}</h1>
  <p class="muted">Pending and failed evaluations: the Firework holding each up, its queue job and the scheduler's reason for waiting (Slurm).</p>` +
  table([["campaign", "campaign"], ["candidate_id", "composition"], ["status", "status"], ["fw_id", "fw_id", {num: true}],
         ["firework", "holding firework", {num: true}], ["fw_name", "its name"], ["state", "state"], ["seconds_in_state", "time in state", {num: true, cell: (r) => secs(r.seconds_in_state)}],
         ["queue_job_id", "queue job"], ["queue_state", "queue state"], ["queue_reason", "queue reason"],
         ["error", "error", {cell: (r) => r.error ? `<span class="bad">${esc(r.error)}</span>` : ""}]], d.jobs, "jobs");
  setContent(html);
}
const FILTERS = ["carrier", "M", "X", "Z", "engine", "campaign", "min", "max", "sort", "desc", "limit"];
function filterRows(rows, f) {
  let out = rows.filter((r) => (!f.carrier || r.A === f.carrier) && (!f.M || r.M === f.M) && (!f.X || r.X === f.X) &&
    (!f.Z || r.Z === f.Z) && (!f.engine || r.engine === f.engine) && (!f.campaign || r.campaign === f.campaign) &&
    (f.min === undefined || f.min === "" || r.e_b >= Number(f.min)) && (f.max === undefined || f.max === "" || r.e_b <= Number(f.max)));
  const key = f.sort === "id" ? (r) => [r.id, r.engine, r.campaign] : (r) => [r.e_b, r.id, r.engine, r.campaign];
  out.sort((a, b) => { const x = key(a), y = key(b); for (let i = 0; i < x.length; i++) { if (x[i] < y[i]) return -1; if (x[i] > y[i]) return 1; } return 0; });
  if (f.desc === "true" || f.desc === true) out.reverse();
  if (f.limit && Number(f.limit) > 0) out = out.slice(0, Number(f.limit));
  return out;
}
const CSV_COLUMNS = ["id", "engine", "campaign", "A", "M", "X", "Z", "e_b", "e_b_from_min", "e_b_endpoint", "fidelity", "n_hops", "converged", "decision", "created"];
function csvOf(rows) {
  const cell = (v) => { if (v === null || v === undefined) return ""; const s = typeof v === "boolean" ? (v ? "True" : "False") : String(v); return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
  return [CSV_COLUMNS.join(",")].concat(rows.map((r) => CSV_COLUMNS.map((c) => cell(r[c])).join(","))).join("\n") + "\n";
}
function barriers(d, params) {
  const f = Object.assign({}, d.filters || {}, params || {});
  const rows = REPORT ? filterRows(d.rows, f) : d.rows;
  const input = (k, label) => `<label>${label} <input name="${k}" value="${esc(f[k] === undefined || f[k] === null ? "" : f[k])}"></label>`;
  const csvHref = REPORT ? "#" : PAGE.prefix + "/api/barriers.csv" + (location.search || "");
  let html = `<h1>Barriers <span class="muted" data-field="count">${rows.length}</span></h1>
  <form class="filters" id="filters">${input("carrier", "A")}${input("M", "M")}${input("X", "X")}${input("Z", "Z")}
   ${input("engine", "engine")}${input("campaign", "campaign")}${input("min", "min eV")}${input("max", "max eV")}
   <label>sort <select name="sort"><option value="e_b">E_b</option><option value="id" ${f.sort === "id" ? "selected" : ""}>ID</option></select></label>
   <label><input type="checkbox" name="desc" value="true" ${f.desc === true || f.desc === "true" ? "checked" : ""} style="width:auto"> descending</label>
   ${input("limit", "limit")}<button type="submit">filter</button></form>
  <p><a id="csv" href="${esc(csvHref)}" download="barriers.csv">download CSV</a>
   <span class="muted">E_b from the engine's reference (path minimum unless stated); e_b_endpoint from the vacancy endpoint; unconverged NEBs are flagged.</span></p>` +
  table([["id", "composition", {cell: compLink}], ["engine", "engine"], ["campaign", "campaign"], ["e_b", "E_b (eV)", {num: true}],
         ["e_b_from_min", "from path min (eV)", {num: true}], ["e_b_endpoint", "from endpoint (eV)", {num: true}],
         ["fidelity", "fidelity"], ["n_hops", "hops", {num: true}],
         ["converged", "converged", {cell: (r) => r.converged ? "yes" : `<span class="flag">no</span>`}], ["created", "created"]], rows, "barriers");
  setContent(html);
  document.getElementById("filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    new FormData(ev.target).forEach((v, k) => { if (v !== "") q.set(k, v); });
    if (q.get("sort") === "e_b") q.delete("sort");
    if (REPORT) { location.hash = "/barriers?" + q.toString(); } else { location.search = q.toString(); }
  });
  if (REPORT) {
    document.getElementById("csv").addEventListener("click", (ev) => {
      ev.preventDefault();
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([csvOf(rows)], {type: "text/csv"}));
      a.download = "barriers.csv"; a.click();
    });
  }
}
function composition(d) {
  const r = d.record;
  const flag = r.unconverged_hops.length ? `<p class="flag">NEB not converged for hops ${r.unconverged_hops.join(", ")}: E_b may be wrong (kept out of the GP by default).</p>` : "";
  const html = `<h1>${esc(r.id)} <span class="muted">${esc(r.formula || "")}</span></h1>
  <p>Campaign ${link(`/campaigns/${encodeURIComponent(r.campaign)}`, r.campaign)}, engine ${esc(r.engine)} (${esc(r.fidelity)}).</p>
  <div class="cards">${card("E_b (eV, from the " + r.reference.replace("_", " ") + ")", fmt(r.e_b), "e_b")}
   ${card("E_b from path minimum (eV)", fmt(r.e_b_from_min), "e_b_from_min")}
   ${card("E_b from endpoint (eV)", fmt(r.e_b_endpoint), "e_b_endpoint")}
   ${card("percolation", r.percolation_dimension ? r.percolation_dimension + "-D" : "n/a", "dimension")}</div>${flag}
  <h2>Hops</h2><p>Percolating path: hops <span data-field="percolating">${r.percolating_hops.join(", ") || "none"}</span> (the lowest barrier at which hops form an infinite network).</p>` +
  table([["hop_index", "hop", {num: true}], ["length", "length (Å)", {num: true, digits: 2}], ["multiplicity", "multiplicity", {num: true}],
         ["barrier", "barrier (eV, from endpoint)", {num: true}], ["barrier_from_min", "from path min (eV)", {num: true}],
         ["converged", "converged", {cell: (h) => h.converged ? "yes" : `<span class="flag">no</span>`}], ["n_steps", "NEB steps", {num: true}],
         ["percolating", "percolating"]], r.hops, "hops") +
  `<h2>Image energies</h2><div class="plot" id="plot-hops"></div>
  <h2>Provenance</h2>` +
  table([["k", "field"], ["v", "value"]], [["fw_ids", r.provenance.fw_ids.join(", ")], ["host", r.provenance.host], ["wall time (s)", fmt(r.provenance.wall_time, 1)],
         ["recorded by", r.provenance.recorded_by], ["decision", r.decision], ["created", r.created]].map(([k, v]) => ({k, v})), "provenance") +
  `<details><summary>versions and settings</summary><pre>${esc(JSON.stringify({versions: r.provenance.versions, settings: r.provenance.settings}, null, 1))}</pre></details>`;
  setContent(html);
  plot("plot-hops", d.figure);
}
const VIEWS = {overview, campaign, jobs, barriers, composition};

/* ---------------------------------------------------------------- routing and refresh */
function setContent(html) {
  document.getElementById("content").innerHTML = html;
  document.body.setAttribute("data-ready", "1");
}
function nav() {
  document.getElementById("nav").innerHTML = [link("/", "campaigns"), link("/jobs", "jobs"), link("/barriers", "barriers")].join(" ");
  document.getElementById("footer").textContent = PAGE.footer || "";
}
function stamp(text) { document.getElementById("status").textContent = text; }
function renderRoute() {
  const [path, query] = (location.hash.slice(1) || "/").split("?");
  const params = Object.fromEntries(new URLSearchParams(query || ""));
  let key = path;
  if (path === "/jobs" && params.campaign) key = "/jobs?campaign=" + params.campaign;
  const view = PAGE.bundle[key] || PAGE.bundle[path];
  if (!view) { setContent(`<p class="bad">not in this report: ${esc(path)}</p>`); return; }
  VIEWS[view.view](view.data, path === "/barriers" ? params : undefined);
}
function start() {
  nav();
  if (REPORT) {
    stamp(`report of ${PAGE.generated} (snapshot; no live refresh)`);
    window.addEventListener("hashchange", renderRoute);
    renderRoute();
    return;
  }
  VIEWS[PAGE.view](PAGE.data);
  stamp(`snapshot ${new Date().toLocaleTimeString()}`);
  if (PAGE.refresh > 0 && PAGE.endpoint) {
    let busy = false;
    setInterval(() => {
      if (busy) return;
      busy = true;
      fetch(PAGE.endpoint, {credentials: "same-origin"}).then((r) => r.ok ? r.json() : Promise.reject(r.status))
        .then((data) => { VIEWS[PAGE.view](data); stamp(`updated ${new Date().toLocaleTimeString()} (every ${PAGE.refresh} s)`); })
        .catch((e) => stamp(`refresh failed (${e}); retrying`)).finally(() => { busy = false; });
    }, PAGE.refresh * 1000);
  }
}
start();
