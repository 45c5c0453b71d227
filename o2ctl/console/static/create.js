// The Create page: pick a workflow template, its public variables shown as fields
// prefilled with the template's defaults (the var specs GetWorkflowTemplates answers:
// label, description as a hint, allowed values as a choice), detectors, other variables.
// Loaded before console.js, whose helpers ($, esc, call, guarded, S) it uses when called.
"use strict";

function varField(f, value) {
  const attrs = `data-var="${esc(f.name)}" title="${esc(f.hint)}"`;
  if (!f.values.length) return `<input ${attrs} size="30" value="${esc(value)}">`;
  const values = f.values.includes(value) ? f.values : [value, ...f.values];
  return `<select ${attrs}>` + values.map((v) =>
    `<option${v === value ? " selected" : ""}>${esc(v)}</option>`).join("") + "</select>";
}

function varFields(t, edited) {
  if (!t || !t.vars.length) return '<p class="muted">this template declares no public variables</p>';
  let panel = null;
  return "<table id=\"var-fields\">" + t.vars.map((f) => {
    const head = f.panel !== panel ? `<tr><th colspan="3">${esc((panel = f.panel) || "variables")}</th></tr>` : "";
    return head + `<tr><td>${esc(f.label)}</td><td>${varField(f, edited[f.name] ?? f.default)}</td>` +
      `<td class="muted">${esc(f.hint)}</td></tr>`;
  }).join("") + "</table>";
}

async function createPage() {
  S.view = { onEvents: null };
  const d = await call("GET", "/api/templates");
  const byRef = {};
  const opts = d.templates.map((t) => {
    const ref = t.default ? t.template : `${t.repo}/workflows/${t.template}` +
      (t.revision ? "@" + t.revision : "");
    byRef[ref] = t;
    return `<option value="${esc(ref)}">${esc(t.repo)}: ${esc(t.template)}</option>`;
  }).join("");
  const locks = Object.entries(d.locks).map(([det, env]) =>
    `<li><b>${esc(det)}</b> locked by <a href="#/env/${esc(env)}">${esc(env)}</a></li>`).join("");
  $("#view").innerHTML = `<h2>Create an environment</h2><form id="create-form">
    <p>workflow <select id="workflow">${opts}</select> <span id="wf-description" class="muted"></span></p>
    <p>detectors <input id="detectors" size="30" placeholder="comma-separated, e.g. TPC,ITS"></p>
    <p class="muted">locked by another environment:</p><ul id="locks">${locks || "<li>none</li>"}</ul>
    <div id="var-specs"></div>
    <p>other variables (name=value, one a line; they win over the fields above)<br>
    <textarea id="vars"></textarea></p>
    <button type="submit" id="create">Create</button></form><p id="create-status"></p>`;
  const edited = {};  // what the user changed, kept across templates: the user's edits win
  const chosen = () => byRef[$("#workflow").value];
  const showVars = () => {
    $("#wf-description").textContent = chosen()?.description || "";
    $("#var-specs").innerHTML = varFields(chosen(), edited);
  };
  $("#workflow").addEventListener("change", showVars);
  $("#var-specs").addEventListener("input", (ev) => { edited[ev.target.dataset.var] = ev.target.value; });
  $("#var-specs").addEventListener("change", (ev) => { edited[ev.target.dataset.var] = ev.target.value; });
  showVars();
  $("#create-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    guarded(async () => {
      // only changed fields are sent: the others keep the template's own precedence
      const fields = (chosen()?.vars || []).filter((f) => f.name in edited && edited[f.name] !== f.default)
        .map((f) => [f.name, edited[f.name]]);
      const typed = $("#vars").value.split("\n").filter((l) => l.includes("="))
        .map((l) => [l.slice(0, l.indexOf("=")).trim(), l.slice(l.indexOf("=") + 1).trim()]);
      const vars = Object.fromEntries([...fields, ...typed]);
      const detectors = $("#detectors").value.split(",").map((s) => s.trim()).filter(Boolean);
      const r = await call("POST", "/api/env",
        { workflow: $("#workflow").value, vars, detectors: detectors.length ? detectors : null });
      S.jobs.add(r.job);
      location.hash = "#/envs";
    });
  });
}
