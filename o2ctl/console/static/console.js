// The o2ctl console's page: plain JavaScript, no build step. Every read and action is a
// fetch to the console's /api/ (which calls the Control API with the signed-in token);
// live updates come by Server-Sent Events (/events), never by polling.
"use strict";

const S = { csrf: "", es: null, view: null, jobs: new Set(), timer: null };
// What the browser test measures (wall-clock seconds, as the events' own times): the newest
// event's time and sequence number, when the page painted after applying it and when it
// last drew the whole environment; how long that draw and the slowest live update took.
window.o2ctlStats = { seq: 0, lastEventTime: 0, paintedWall: 0, renderedWall: 0,
                      renderMs: 0, maxBatchMs: 0, events: 0 };

const $ = (sel, root = document) => root.querySelector(sel);
const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ESC[c]);
const stateClass = (st) => "st-" + String(st || "UNKNOWN").replace(/[^A-Za-z_]/g, "");
const badge = (st) => `<span class="badge ${stateClass(st)}">[${esc(st || "UNKNOWN")}]</span>`;
const ago = (t) => (t ? fmtSecs(Date.now() / 1000 - t) : "");

function fmtSecs(s) {
  s = Math.max(0, Math.floor(s));
  if (s < 120) return s + "s";
  if (s < 7200) return Math.floor(s / 60) + "m " + (s % 60) + "s";
  return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
}

function setBadge(el, st) {
  if (!el) return;
  el.className = "badge " + stateClass(st);
  el.textContent = "[" + (st || "UNKNOWN") + "]";
}

async function call(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: {} };
  if (method === "POST") {
    opts.headers["Content-Type"] = "application/json";
    opts.headers["X-O2ctl-CSRF"] = S.csrf;
    opts.body = JSON.stringify(body || {});
  }
  const r = await fetch(path, opts);
  const data = await r.json().catch(() => ({ error: r.statusText }));
  if (r.status === 401 && path !== "/api/login") signedOut();
  if (!r.ok) throw new Error(data.error + (data.code ? ` (${data.code})` : ""));
  return data;
}

function showError(msg) {
  const box = $("#error");
  box.hidden = !msg;
  box.textContent = msg ? "error: " + msg : "";
}

async function guarded(fn) {
  try { showError(""); await fn(); } catch (e) { showError(e.message); }
}

// -- sign in ---------------------------------------------------------------------------
function signedOut() {
  if (S.es) { S.es.close(); S.es = null; }
  $("#nav").hidden = true;
  $("#view").innerHTML = "";
  $("#login").hidden = false;
}

async function boot() {
  try {
    const s = await call("GET", "/api/session");
    S.csrf = s.csrf;
  } catch (e) { signedOut(); return; }
  $("#login").hidden = true;
  $("#nav").hidden = false;
  listen();
  route();
}

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("#login-error").textContent = "";
  try {
    await call("POST", "/api/login", { token: $("#token").value });
    $("#token").value = "";
    await boot();
  } catch (e) { $("#login-error").textContent = "error: " + e.message; }
});
$("#signout").addEventListener("click", () => guarded(async () => {
  await call("POST", "/api/logout"); signedOut();
}));

// -- the event push --------------------------------------------------------------------
function listen() {
  if (S.es) return;
  S.es = new EventSource("/events");
  S.es.addEventListener("hello", () => { $("#live").textContent = "live"; });
  S.es.onerror = () => { $("#live").textContent = "reconnecting…"; };
  S.es.onmessage = (m) => {
    const t0 = performance.now();
    const batch = JSON.parse(m.data);
    for (const ev of batch) if (ev.kind === "console") jobDone(ev);
    if (S.view && S.view.onEvents) S.view.onEvents(batch);
    const st = window.o2ctlStats;
    for (const ev of batch) {
      st.seq = Math.max(st.seq, ev.seq || 0);
      st.lastEventTime = Math.max(st.lastEventTime, ev.time || 0);
    }
    st.events += batch.length;
    st.maxBatchMs = Math.max(st.maxBatchMs, performance.now() - t0);
    requestAnimationFrame(() => { st.paintedWall = Date.now() / 1000; });
  };
}

function jobDone(ev) {
  if (!S.jobs.has(ev.job)) return;
  S.jobs.delete(ev.job);
  if (ev.event === "CREATE_FAILED") showError(ev.error + ` (${ev.code})`);
}

function later(fn, ms) {
  let t = null;
  return () => { if (!t) t = setTimeout(() => { t = null; fn(); }, ms); };
}

// -- pages -----------------------------------------------------------------------------
function route() {
  clearInterval(S.timer);
  showError("");
  const [, page, arg] = (location.hash || "#/envs").split("/");
  const pages = { envs: envsPage, env: envPage, create: createPage, farm: farmPage,
                  runs: runsPage };
  S.view = null;
  guarded(() => (pages[page] || envsPage)(decodeURIComponent(arg || "")));
}
window.addEventListener("hashchange", route);

async function envsPage() {
  const view = { onEvents: null };
  S.view = view;
  const draw = async () => {
    const d = await call("GET", "/api/envs");
    if (S.view !== view) return;
    const rows = d.environments.map((e) => `<tr data-env="${esc(e.env_id)}">
      <td><a href="#/env/${esc(e.env_id)}">${esc(e.env_id)}</a></td><td>${esc(e.workflow)}</td>
      <td class="state">${badge(e.state)}${e.busy ? " " + esc(e.busy) + "…" : ""}</td>
      <td class="run">${esc(e.run_number || "")}</td><td>${esc(e.detectors.join(", "))}</td>
      <td>${Object.entries(e.tasks_by_state).map(([s, n]) => badge(s) + " " + n).join(" ")}</td>
      <td class="since" data-since="${e.since || ""}">${ago(e.since)}</td>
      <td class="error">${esc(e.last_error)}</td></tr>`).join("");
    const locks = Object.entries(d.locks).map(([det, env]) => `${esc(det)}: ${esc(env)}`);
    $("#view").innerHTML = `<h2>Environments</h2><table id="envs"><tr><th>id</th>
      <th>workflow</th><th>state</th><th>run</th><th>detectors</th><th>tasks</th>
      <th>in state for</th><th>last error</th></tr>${rows}</table>
      ${rows ? "" : '<p class="muted">none: <a href="#/create">create one</a></p>'}
      <p class="muted">detectors held: ${locks.join(", ") || "none"}</p>`;
  };
  const redraw = later(() => guarded(draw), 250);
  view.onEvents = (batch) => {
    if (batch.some((e) => e.env_id || e.lost)) redraw();
  };
  S.timer = setInterval(() => {
    for (const td of document.querySelectorAll("td.since")) td.textContent = ago(+td.dataset.since);
  }, 1000);
  await draw();
}

const eventLine = (e) => `${new Date(e.time * 1000).toLocaleTimeString([], { hour12: false })} ${e.kind} ` +
  `${e.path || ""} ${e.event || ""} ${e.status || ""} ${e.state || ""}` +
  `${e.error ? " error: " + e.error : ""}`;

function treeHtml(n) {
  const kids = n.children || [];
  const task = n.task_id ? ` → ${esc(n.task_id)} <span class="muted">${esc(n.host)}` +
    ` ${esc(n.pid ?? "")}</span>` : "";
  const me = `<span class="badge ${stateClass(n.state)}" data-path="${esc(n.path)}">` +
    `[${esc(n.state)}]</span> ${esc(n.name)}${task}`;
  return kids.length ? `<li>${me}<ul>${kids.map(treeHtml).join("")}</ul></li>` : `<li>${me}</li>`;
}

async function envPage(envId) {
  const view = { onEvents: null, byPath: new Map(), byTask: new Map(), log: [] };
  S.view = view;
  const draw = async () => {
    const d = await call("GET", "/api/env/" + encodeURIComponent(envId));
    if (S.view !== view) return;
    const t0 = performance.now();
    const kept = ["#mod-vars", "#mod-include", "#mod-exclude"].map((id) => $(id)?.value || "");
    const r = d.row;
    const btns = d.buttons.map((b) => `<button type="button" data-event="${b.event}"` +
      `${b.confirm ? " data-confirm" : ""}${b.enabled ? "" : " disabled"}` +
      ` title="${esc(b.why)}">${esc(b.label)}</button>`).join("");
    const tasks = d.tasks.map((t) => `<tr data-task="${esc(t.task_id)}"><td>${esc(t.task_id)}</td>
      <td>${esc(t.role_path)}</td><td>${esc(t.host)}</td><td>${esc(t.pid ?? "")}</td>
      <td class="state">${badge(t.state)}</td><td class="log" title="${esc(t.log_path)}">${esc(
      String(t.log_path || "").split("/").pop())}</td>
      <td class="error">${esc(t.error)}</td></tr>`).join("");
    $("#view").innerHTML = `<h2>Environment ${esc(envId)}
      <span id="env-state">${badge(r.state)}</span></h2>
      <p>workflow ${esc(r.workflow)} · run <b id="env-run">${esc(r.run_number || "-")}</b>
      · detectors ${esc(r.detectors.join(", ") || "none")} · ${r.tasks} tasks ·
      <span id="env-busy">${r.busy ? "busy: " + esc(r.busy) : ""}</span>
      in state for <span class="since" data-since="${r.since || ""}">${ago(r.since)}</span></p>
      <p class="error" id="env-error">${esc(r.last_error)}</p>
      <div class="buttons" id="buttons">${btns}</div>
      <details class="muted" id="why"><summary>why the others are not offered</summary>
      ${d.buttons.filter((b) => !b.enabled).map(
        (b) => esc(b.label) + ": " + esc(b.why)).join("<br>")}</details>
      <div class="cols"><div><h3>Roles</h3><ul class="tree" id="tree">${treeHtml(d.tree)}</ul>
      <h3>Tasks</h3><table id="tasks"><tr><th>task</th><th>role</th><th>host</th><th>pid</th>
      <th>state</th><th>log</th><th>error</th></tr>${tasks}</table>
      </div><div><h3>Events</h3><div id="events"></div>
      <h3>Modify</h3><form id="modify">
      <p>variables (name=value, one a line)<br><textarea id="mod-vars"></textarea></p>
      <p>include <input id="mod-include" size="40" placeholder="role paths, comma-separated">
      <br>exclude <input id="mod-exclude" size="40" placeholder="role paths, comma-separated"></p>
      <button type="button" id="mod-preview">Preview (dry run)</button>
      <button type="button" id="mod-apply" disabled>Apply</button></form>
      <pre class="diff" id="mod-diff" hidden></pre></div></div>`;
    for (const el of document.querySelectorAll("#tree [data-path]")) view.byPath.set(el.dataset.path, el);
    for (const el of document.querySelectorAll("#tasks tr[data-task]")) {
      view.byTask.set(el.dataset.task, el.querySelector(".badge"));
    }
    $("#events").textContent = view.log.join("\n") + "\n";
    $("#events").scrollTop = $("#events").scrollHeight;
    ["#mod-vars", "#mod-include", "#mod-exclude"].forEach((id, i) => { $(id).value = kept[i]; });
    wireEnv(envId, view);
    const s = window.o2ctlStats;
    s.renderMs = performance.now() - t0; s.renderedWall = Date.now() / 1000;
  };
  view.draw = draw;
  const reload = later(() => guarded(draw), 100);
  view.onEvents = (batch) => {
    let again = false;
    const lines = [];
    for (const e of batch) {
      if (e.lost) again = true;
      if (e.env_id !== envId) continue;
      lines.push(eventLine(e));
      if (e.kind === "task" || e.kind === "role") {
        setBadge(view.byPath.get(e.path), e.state);
        if (e.detail && e.detail.task_id) setBadge(view.byTask.get(e.detail.task_id), e.state);
      } else if (e.kind === "environment" || e.kind === "transition") {
        if (e.state) setBadge($("#env-state .badge"), e.state);
        if (e.error) $("#env-error").textContent = "error: " + e.error;
        again = true;
      }
    }
    view.log.push(...lines);
    const box = $("#events");
    if (view.log.length > 1000) {  // keep the newest 500: one rewrite per 500 events
      view.log.splice(0, view.log.length - 500);
      if (box) box.textContent = view.log.join("\n") + "\n";
    } else if (box && lines.length) {
      box.append(lines.join("\n") + "\n");
    }
    if (box && lines.length) requestAnimationFrame(() => { box.scrollTop = box.scrollHeight; });
    if (again) reload();
  };
  S.timer = setInterval(() => {
    for (const el of document.querySelectorAll(".since")) el.textContent = ago(+el.dataset.since);
  }, 1000);
  await draw();
}

function wireEnv(envId, view) {
  const base = "/api/env/" + encodeURIComponent(envId);
  for (const b of document.querySelectorAll("#buttons button")) {
    b.addEventListener("click", () => guarded(async () => {
      const ev = b.dataset.event;
      if (b.dataset.confirm !== undefined &&
          !window.confirm(`${b.textContent} environment ${envId}?`)) return;
      for (const x of document.querySelectorAll("#buttons button")) x.disabled = true;
      try {
        if (ev === "DESTROY") {
          await call("POST", base + "/destroy", {});
          location.hash = "#/envs";
          return;
        }
        await call("POST", base + "/control", { event: ev });
      } finally { if (S.view === view) await view.draw(); }
    }));
  }
  const change = (dry) => ({
    vars: Object.fromEntries($("#mod-vars").value.split("\n").filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")).trim(), l.slice(l.indexOf("=") + 1).trim()])),
    include: $("#mod-include").value.split(",").map((s) => s.trim()).filter(Boolean),
    exclude: $("#mod-exclude").value.split(",").map((s) => s.trim()).filter(Boolean),
    dry_run: dry,
  });
  const diff = (d) => [
    ...d.added.map((p) => "+ " + p), ...d.removed.map((p) => "- " + p),
    ...Object.entries(d.changed).map(([p, k]) => "~ " + p + " (" + k.join(", ") + ")"),
    ...d.blocked_while_running.map((p) => "! blocked while RUNNING: " + p),
  ].join("\n") || "no change";
  for (const id of ["#mod-vars", "#mod-include", "#mod-exclude"]) {
    $(id).addEventListener("input", () => { $("#mod-apply").disabled = true; });
  }
  $("#mod-preview").addEventListener("click", () => guarded(async () => {
    const d = await call("POST", base + "/modify", change(true));
    $("#mod-diff").hidden = false;
    $("#mod-diff").textContent = "would change (dry run):\n" + diff(d);
    $("#mod-apply").disabled = false;
  }));
  $("#mod-apply").addEventListener("click", () => guarded(async () => {
    if (!window.confirm(`Apply this change to environment ${envId}?`)) return;
    const d = await call("POST", base + "/modify", change(false));
    $("#mod-diff").textContent = "changed:\n" + diff(d);
    $("#mod-apply").disabled = true;
  }));
}

async function farmPage() {
  const view = { onEvents: null };
  S.view = view;
  const draw = async () => {
    const d = await call("GET", "/api/farm");
    if (S.view !== view) return;
    const rows = d.nodes.map((n) => `<tr data-node="${esc(n.machine_id)}">
      <td>${esc(n.machine_id)}</td><td>${esc(n.node_class)}</td><td>${esc(n.target)}</td>
      <td>${n.alive ? "alive" : "<b class='error'>gone</b>"}</td><td>${esc(n.cpu)}</td>
      <td>${esc(n.memory)}</td><td>${esc(n.tasks)}</td>
      <td>${n.pilot ? esc(n.pilot.state) + " pid " + esc(n.pilot.pid ?? "") : ""}</td>
      <td><select class="mode"><option>sync</option><option>async</option></select>
      grace <input class="grace" size="4" value="30">s
      <button type="button" class="assign">Switch</button></td></tr>`).join("");
    $("#view").innerHTML = `<h2>Farm</h2><table id="farm"><tr><th>machine</th><th>mode</th>
      <th>target</th><th>alive</th><th>cpu</th><th>memory</th><th>tasks</th><th>pilot</th>
      <th>switch</th></tr>${rows}</table>`;
    for (const tr of document.querySelectorAll("#farm tr[data-node]")) {
      $(".assign", tr).addEventListener("click", () => guarded(async () => {
        const mode = $(".mode", tr).value;
        if (!window.confirm(`Switch ${tr.dataset.node} to ${mode}?`)) return;
        await call("POST", `/api/farm/${encodeURIComponent(tr.dataset.node)}/assign`,
          { mode, grace_s: Number($(".grace", tr).value) });
        await draw();
      }));
    }
  };
  const redraw = later(() => guarded(draw), 500);
  view.onEvents = (batch) => { if (batch.some((e) => e.kind === "node")) redraw(); };
  await draw();
}

async function runsPage() {
  const view = { onEvents: null };
  S.view = view;
  const draw = async () => {
    const d = await call("GET", "/api/runs");
    if (S.view !== view) return;
    const when = (t) => (t ? new Date(t * 1000).toLocaleString() : "");
    const rows = d.runs.map((r) => `<tr><td>${esc(r.run_number)}</td>
      <td><a href="#/env/${esc(r.env_id)}">${esc(r.env_id)}</a></td><td>${esc(r.run_type)}</td>
      <td>${esc((r.detectors || []).join(", "))}</td><td>${when(r.start)}</td>
      <td>${when(r.stop)}</td><td>${r.duration_s != null ? r.duration_s.toFixed(1) + "s" : ""}</td>
      <td>${badge(r.state)}</td></tr>`).join("");
    $("#view").innerHTML = `<h2>Runs (bookkeeping)</h2><table id="runs"><tr><th>run</th>
      <th>environment</th><th>type</th><th>detectors</th><th>start</th><th>stop</th>
      <th>duration</th><th>state</th></tr>${rows}</table>`;
  };
  const redraw = later(() => guarded(draw), 500);
  view.onEvents = (batch) => { if (batch.some((e) => e.kind === "transition")) redraw(); };
  await draw();
}

boot();
