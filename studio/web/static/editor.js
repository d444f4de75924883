// The screenplay editor (/editor): CodeMirror 5 (vendored) on the screenplay file,
// problems checked on the server as you type (nothing written), completion of keys
// and ids, Save with the session token over the version loaded, and the shots of the
// scene under the cursor beside the text.
(() => {
  "use strict";

  const token = (document.querySelector('meta[name="studio-token"]') || {}).content || "";
  const root = document.querySelector(".editor-page");
  if (!root || !window.CodeMirror) return;
  const CM = window.CodeMirror;
  const mode = root.dataset.mode;
  const stateLine = document.getElementById("editor-state");
  const saveButton = document.getElementById("editor-save");
  const conflict = document.getElementById("conflict");
  // what the editor knows, for people debugging and for the end-to-end tests
  const ed = (window.studioEditor = { cm: null, digest: null, last: null, checks: 0, saved: 0, words: null,
                                      scene: null, conflict: null });

  // -- Fountain: headings, cues, parentheticals, transitions, notes ---------------------------
  CM.defineMode("fountain", () => ({
    startState: () => ({ blank: true, dialogue: false, boneyard: false }),
    blankLine: (state) => { state.blank = true; state.dialogue = false; },
    token: (stream, state) => {
      if (state.boneyard || stream.match("/*")) {
        state.boneyard = !stream.skipTo("*/");
        if (!state.boneyard) stream.match("*/"); else stream.skipToEnd();
        return "comment";
      }
      if (stream.match("[[")) {
        if (stream.skipTo("]]")) stream.match("]]"); else stream.skipToEnd();
        return "fountain-note";
      }
      const sol = stream.sol();
      const line = stream.string.trim();
      const wasBlank = state.blank;
      state.blank = false;
      if (sol && wasBlank && (/^(INT|EXT|EST|INT\.?\/EXT|I\/E)[. ]/i.test(line) || /^\.[A-Za-z0-9]/.test(line))) {
        stream.skipToEnd();
        return "fountain-heading";
      }
      if (sol && wasBlank && /^[A-Z0-9 .'\-]+ TO:$/.test(line)) { stream.skipToEnd(); return "fountain-transition"; }
      if (sol && wasBlank && (/^@/.test(line) || (/[A-Z]/.test(line) && /^[A-Z0-9 .'\-#]+(\(.*\))?\s*\^?$/.test(line)))) {
        stream.skipToEnd();
        state.dialogue = true;
        return "fountain-cue";
      }
      if (sol && state.dialogue && /^\(.*\)$/.test(line)) { stream.skipToEnd(); return "fountain-paren"; }
      if (!stream.skipTo("[[")) stream.skipToEnd();
      return state.dialogue ? "string" : null;
    },
  }));

  // -- talking to the server -------------------------------------------------------------------
  async function send(url, text, headers) {
    const response = await fetch(url, {
      method: "POST", body: text,
      headers: Object.assign({ "Content-Type": "text/plain; charset=utf-8", "X-Studio-Token": token }, headers || {}),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { /* not JSON */ }
    return { status: response.status, data };
  }

  function say(text) { stateLine.textContent = text; }

  // -- problems, inline ------------------------------------------------------------------------
  function showProblems(result) {
    const list = document.getElementById("problems");
    list.replaceChildren();
    result.problems.forEach((p) => {
      const item = document.createElement("li");
      item.className = p.severity;
      item.dataset.line = String(p.line);
      item.dataset.column = String(p.column);
      item.textContent = "line " + p.line + ":" + p.column + " " + p.severity + ": " + (p.field ? p.field + ": " : "") +
        p.message + (p.hint ? " (" + p.hint + ")" : "");
      list.appendChild(item);
    });
  }

  function annotations(result) {
    const cm = ed.cm;
    return result.problems.map((p) => {
      const line = Math.min(p.line - 1, cm.lastLine());
      const text = cm.getLine(line) || "";
      const from = Math.min(p.column - 1, text.length);
      const word = /[^\s:,\[\]{}]*/.exec(text.slice(from))[0];
      return { from: CM.Pos(line, from), to: CM.Pos(line, from + Math.max(word.length, 1)),
               message: p.message + (p.hint ? " — " + p.hint : ""), severity: p.severity === "error" ? "error" : "warning" };
    });
  }

  // One check at a time: a pause in typing while one is on the server only notes the
  // newest text, checked once that one answers (a feature takes about a second to
  // check; a request per pause would queue on the server and each answer come later).
  let checkSerial = 0;
  let inFlight = false;
  let pending = null;
  function check(text, update) {
    if (ed.digest === null) { update([]); return; }  // nothing loaded yet
    if (inFlight) { pending = [text, update]; return; }
    inFlight = true;
    ed.requests = (ed.requests || 0) + 1;
    const serial = ++checkSerial;
    const next = () => {
      inFlight = false;
      if (pending) { const [t, u] = pending; pending = null; check(t, u); }
    };
    send("/api/check", text).then(({ status, data }) => {
      next();
      if (serial !== checkSerial) return;  // a newer edit is being checked
      if (status !== 200) { say(data.error || "cannot check"); update([]); return; }
      ed.last = data;
      ed.lastText = text;
      ed.checks += 1;
      showProblems(data);
      update(annotations(data));
      const errors = data.problems.filter((p) => p.severity === "error").length;
      say((dirty() ? "edited · " : "") + (errors ? errors + " problem" + (errors > 1 ? "s" : "") : "no problems") +
          " · checked in " + Math.round(data.seconds * 1000) + " ms");
      followCursor();
    }).catch(() => { next(); update([]); });
  }

  // -- completion: schema keys, and ids where a field takes one -----------------------------------
  function parentKey(cm, lineNo, indent) {
    for (let n = lineNo - 1; n >= 0; n--) {
      const text = cm.getLine(n);
      if (!text.trim() || /^\s*#/.test(text)) continue;
      const m = /^(\s*)(?:- )?([A-Za-z_]+):/.exec(text);
      const own = /^(\s*)/.exec(text)[1].length;
      if (m && own < indent) return m[2];
      if (own === 0 && indent > 0 && !m) return null;
    }
    return "";
  }

  function hint(cm) {
    const cursor = cm.getCursor();
    const text = cm.getLine(cursor.line).slice(0, cursor.ch);
    const words = ed.words || { keys: {}, id_fields: {} };
    const ids = Object.assign({}, (ed.last || {}).ids || {}, { likenesses: words.likenesses || [], models: words.models || [] });
    const value = /^\s*(?:- )?([A-Za-z_]+):\s*(?:\[(?:[^\]]*,\s*)?)?([\w.\-]*)$/.exec(text);
    let list = [];
    let typed = "";
    if (value && words.id_fields[value[1]]) {
      typed = value[2];
      list = ids[words.id_fields[value[1]]] || [];
    } else {
      const key = /^(\s*)(- )?([A-Za-z_]*)$/.exec(text);
      if (!key) return null;
      typed = key[3];
      const indent = key[1].length + (key[2] ? 2 : 0);
      const parent = indent === 0 ? "" : parentKey(cm, cursor.line, indent);
      list = (words.keys[parent] || []).map((k) => k + ": ");
    }
    const found = list.filter((w) => w.startsWith(typed));
    return { list: found, from: CM.Pos(cursor.line, cursor.ch - typed.length), to: cursor };
  }
  CM.commands.autocomplete = (cm) => cm.showHint({ hint, completeSingle: false });

  // -- the shots of the scene under the cursor ------------------------------------------------------
  function sceneAt(line) {
    const scenes = (ed.last || {}).scenes || [];
    let found = null;
    scenes.forEach((s) => { if (s.line <= line) found = s.id; });
    return found;
  }

  async function showScene(scene, force) {
    if (!scene || (scene === ed.scene && !force)) return;
    ed.scene = scene;
    document.getElementById("editor-scene").textContent = scene;
    const response = await fetch("/fragment/scene/" + encodeURIComponent(scene), { cache: "no-store" });
    const holder = document.getElementById("scene-cards");
    if (!response.ok) { holder.textContent = "(not on the storyboard yet: save to plan its shots)"; return; }
    const template = document.createElement("template");
    template.innerHTML = (await response.text()).trim();
    holder.replaceChildren(template.content);
    markCursorShot();
  }

  function markCursorShot() {
    if (!ed.cm) return;
    const line = ed.cm.getCursor().line + 1;
    let here = null;
    ((ed.last || {}).shots || []).forEach((s) => { if (s.scene === ed.scene && s.line <= line) here = s.id; });
    document.querySelectorAll("#scene-cards .card").forEach((c) => c.classList.toggle("at-cursor", c.dataset.shot === here));
  }

  function followCursor() {
    if (!ed.cm) return;
    showScene(sceneAt(ed.cm.getCursor().line + 1));
    markCursorShot();
  }

  document.getElementById("scene-cards").addEventListener("click", (event) => {
    if (event.target.closest("button, select, input, label")) return;  // the card's own actions
    const card = event.target.closest(".card");
    if (!card) return;
    const shot = ((ed.last || {}).shots || []).find((s) => s.id === card.dataset.shot);
    if (!shot || !shot.line) return;
    ed.cm.focus();
    ed.cm.setCursor(CM.Pos(shot.line - 1, 0));
    ed.cm.scrollIntoView(null, 120);
  });

  document.getElementById("problems").addEventListener("click", (event) => {
    const item = event.target.closest("li");
    if (!item) return;
    ed.cm.focus();
    ed.cm.setCursor(CM.Pos(Number(item.dataset.line) - 1, Number(item.dataset.column) - 1));
  });

  // the storyboard changed (a save, a render, the watcher): the cards beside the text follow
  document.addEventListener("studio:status", () => { if (ed.scene) showScene(ed.scene, true); });

  // -- loading and saving -------------------------------------------------------------------------
  let savedText = "";
  function dirty() { return ed.cm && ed.cm.getValue() !== savedText; }

  async function load() {
    const response = await fetch("/api/source", { cache: "no-store" });
    const data = await response.json();
    if (!response.ok) { say(data.error || "cannot load the file"); return; }
    savedText = data.text;
    ed.digest = data.digest;
    ed.conflict = null;
    conflict.hidden = true;
    ed.cm.setValue(data.text);
    ed.cm.clearHistory();
    saveButton.disabled = false;
    say("loaded");
  }

  async function save(base) {
    const text = ed.cm.getValue();
    saveButton.disabled = true;
    try {
      const { status, data } = await send("/api/source", text, { "X-Studio-Base": base || "" });
      if (status === 409 && data.conflict) {
        ed.conflict = data.digest || "";
        conflict.hidden = false;
        say("not saved: the file changed on disk");
        return;
      }
      if (status !== 200) { say("not saved: " + (data.error || status)); return; }
      savedText = text;
      ed.digest = data.digest;
      ed.conflict = null;
      conflict.hidden = true;
      ed.saved += 1;
      say("saved · " + data.stale.length + " shot" + (data.stale.length === 1 ? "" : "s") + " stale" +
          (data.error ? " · the file has problems (see the storyboard)" : ""));
    } finally {
      saveButton.disabled = false;
    }
  }

  saveButton.addEventListener("click", () => save(ed.digest));
  document.getElementById("conflict-reload").addEventListener("click", () => load());
  document.getElementById("conflict-overwrite").addEventListener("click", () => save(ed.conflict));

  ed.cm = CM.fromTextArea(document.getElementById("editor-source"), {
    mode: mode === "fountain" ? "fountain" : "yaml",
    lineNumbers: true, lineWrapping: mode === "fountain", matchBrackets: true, indentUnit: 2, tabSize: 2,
    extraKeys: {
      "Ctrl-Space": "autocomplete",
      "Ctrl-S": () => save(ed.digest), "Cmd-S": () => save(ed.digest),
      Tab: (cm) => cm.replaceSelection("  "),
    },
    gutters: ["CodeMirror-lint-markers", "CodeMirror-linenumbers"],
    lint: { getAnnotations: check, async: true, delay: 300 },
  });
  ed.cm.on("cursorActivity", followCursor);
  ed.cm.on("change", () => { if (stateLine.textContent.indexOf("edited") !== 0 && dirty()) say("edited"); });
  window.addEventListener("beforeunload", (event) => { if (dirty()) event.preventDefault(); });

  // -- a new film: from a template, or an uploaded screenplay; then the Editor opens it ---------------
  const newState = document.getElementById("new-state");
  async function opened(response) {
    let data = {};
    try { data = await response.json(); } catch (e) { /* not JSON */ }
    if (!response.ok) {
      newState.textContent = "not made: " + (data.error || response.status) + (data.hint ? " (" + data.hint + ")" : "");
      return;
    }
    newState.textContent = "made " + data.file + ": opening it…";
    savedText = ed.cm.getValue();  // the new film replaces this one: no "leave the page?" question
    window.location.assign(data.editor);
  }
  const overwrite = () => document.getElementById("new-overwrite").checked;
  document.getElementById("new-template").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    if (dirty() && !window.confirm("Your edits here are not saved. Start a new film anyway?")) return;
    newState.textContent = "making it…";
    await opened(await fetch("/api/new/template", {
      method: "POST", headers: { "Content-Type": "application/json", "X-Studio-Token": token },
      body: JSON.stringify({ name: form.elements.name.value, template: form.elements.template.value,
                             overwrite: overwrite() }),
    }));
  });
  document.getElementById("new-upload").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const file = form.elements.file.files[0];
    if (!file) return;
    if (dirty() && !window.confirm("Your edits here are not saved. Import a new film anyway?")) return;
    newState.textContent = "importing " + file.name + "…";
    const query = new URLSearchParams({ filename: file.name, name: form.elements.name.value,
                                        overwrite: overwrite() ? "1" : "0" });
    await opened(await fetch("/api/new/upload?" + query.toString(), {
      method: "POST", headers: { "Content-Type": "application/octet-stream", "X-Studio-Token": token }, body: file,
    }));
  });

  fetch("/api/editor/words").then((r) => r.json()).then((words) => { ed.words = words; });
  load();
})();
