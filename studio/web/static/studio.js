// The web studio's pages: actions (POST with the session token) and live updates
// (Server-Sent Events). Every piece of HTML swapped in comes from the server, which
// escapes user text; text from events is set with textContent only.
(() => {
  "use strict";

  const token = (document.querySelector('meta[name="studio-token"]') || {}).content || "";
  const page = document.body.dataset.page;
  // what the page has heard, for people debugging and for the end-to-end tests
  const heard = (window.studioEvents = { status: 0, job: 0, progress: 0, progressShots: [], jobs: {} });

  // -- talking to the server ------------------------------------------------------------
  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Studio-Token": token },
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { /* not JSON */ }
    if (!response.ok) {
      notice((data.error || response.statusText) + (data.hint ? "\nfix: " + data.hint : ""));
      throw new Error(data.error || response.statusText);
    }
    return data;
  }

  async function fragment(url) {
    const response = await fetch(url, { cache: "no-store" });
    if (!response.ok) throw new Error(url + ": " + response.status);
    const holder = document.createElement("template");
    holder.innerHTML = (await response.text()).trim();
    return holder.content;
  }

  function notice(text) {
    const box = document.getElementById("notice");
    if (!box) return;
    box.querySelector("pre").textContent = text || "";
    box.hidden = !text;
  }

  function problem(text) {
    const box = document.getElementById("problem");
    if (!box) return;
    box.querySelector("pre").textContent = text || "";
    box.hidden = !text;
  }

  // -- live status --------------------------------------------------------------------------
  // one status at a time, and only the newest waiting one: cards never go back in time
  let statusBusy = false;
  let statusNext = null;

  function scheduleStatus(status) {
    statusNext = status;
    if (!statusBusy) drainStatus();
  }

  async function drainStatus() {
    statusBusy = true;
    while (statusNext) {
      const status = statusNext;
      statusNext = null;
      try { await onStatus(status); } catch (e) { /* the next status event retries */ }
    }
    statusBusy = false;
  }

  async function onStatus(status) {
    heard.status += 1;
    problem(status.error);
    const stale = document.getElementById("stale-count");
    if (stale) {
      stale.textContent = status.stale.length + " stale";
      stale.dataset.stale = String(status.stale.length);
      stale.classList.toggle("warn", status.stale.length > 0);
      stale.classList.toggle("ok", status.stale.length === 0);
    }
    document.dispatchEvent(new CustomEvent("studio:status", { detail: status }));  // the editor's shot list
    if (page === "storyboard") await updateBoard(status);
    if (page === "player") await updatePlayer(status);
  }

  function sameOrder(nodes, shots) {
    if (nodes.length !== shots.length) return false;
    return shots.every((s, i) => nodes[i].dataset.shot === s.shot);
  }

  async function updateBoard(status) {
    const board = document.getElementById("board");
    if (!board) return;
    const cards = Array.from(board.querySelectorAll(".card"));
    const checked = new Set(Array.from(board.querySelectorAll(".select:checked")).map((b) => b.value));
    let changed = false;
    if (!sameOrder(cards, status.shots)) {
      const content = await fragment("/fragment/board");
      board.replaceChildren(content);
      changed = true;
    } else {
      await Promise.all(status.shots.map(async (s, i) => {
        const card = cards[i];
        if (card.dataset.version === s.version) return;
        const content = await fragment("/fragment/card/" + encodeURIComponent(s.shot));
        const fresh = content.firstElementChild;
        if (!fresh || !card.isConnected) return;
        if (card.classList.contains("busy")) fresh.classList.add("busy");
        card.replaceWith(fresh);
        changed = true;
      }));
    }
    board.querySelectorAll(".select").forEach((box) => { box.checked = checked.has(box.value); });
    syncSelection();
    if (changed) {
      const summary = document.getElementById("summary");
      if (summary) summary.replaceChildren(await fragment("/fragment/summary"));
    }
  }

  async function updatePlayer(status) {
    const cut = document.getElementById("cut");
    if (status.cut && cut && cut.dataset.cutKey !== status.cut.key) {
      if (cut.tagName === "VIDEO") {
        cut.src = status.cut.url + "?v=" + encodeURIComponent(status.cut.key);
        cut.dataset.cutKey = status.cut.key;
      } else {
        window.location.reload();
        return;
      }
    }
    const rows = Array.from(document.querySelectorAll(".take-row"));
    if (!sameOrder(rows, status.shots)) { window.location.reload(); return; }
    await Promise.all(status.shots.map(async (s, i) => {
      const row = rows[i];
      if (row.dataset.version === s.version) return;
      const content = await fragment("/fragment/takes/" + encodeURIComponent(s.shot));
      if (content.firstElementChild && row.isConnected) row.replaceWith(content.firstElementChild);
    }));
  }

  // -- jobs and progress ----------------------------------------------------------------------
  function jobItem(job) {
    const list = document.getElementById("jobs");
    if (!list) return null;
    let item = list.querySelector('[data-job="' + job.id + '"]');
    if (!item) {
      item = document.createElement("li");
      item.dataset.job = String(job.id);
      for (const part of ["label", "state", "detail"]) {
        const span = document.createElement("span");
        span.className = part;
        item.append(span, " ");
      }
      list.prepend(item);
    }
    return item;
  }

  function shotElements(shot) {
    return document.querySelectorAll('.card[data-shot="' + CSS.escape(shot) + '"], .take-row[data-shot="' + CSS.escape(shot) + '"]');
  }

  function onJob(job) {
    heard.job += 1;
    heard.jobs[job.id] = job.state;
    const item = jobItem(job);
    if (item) {
      item.className = "job " + job.state;
      item.querySelector(".label").textContent = job.label;
      item.querySelector(".state").textContent = job.state;
      item.querySelector(".detail").textContent = job.error || "";
      if (job.state === "done") setTimeout(() => item.remove(), 4000);
    }
    for (const shot of job.shots) {
      shotElements(shot).forEach((el) => {
        el.classList.toggle("busy", job.state === "queued" || job.state === "running");
        const bar = el.querySelector(".progress");
        if (bar && (job.state === "done" || job.state === "failed")) bar.hidden = true;
        if (job.state === "failed") el.querySelectorAll(".keyframe button, .keyframe select").forEach((b) => { b.disabled = false; });
      });
    }
    if (job.state === "failed") notice(job.label + " failed:\n" + job.error);
    if (page === "likeness" && job.kind === "remove-likeness" && job.state === "done") window.location.reload();
  }

  function onProgress(p) {
    heard.progress += 1;
    const item = document.querySelector('#jobs [data-job="' + p.job + '"] .detail');
    if (p.shot) {
      heard.progressShots.push(p.shot);
      if (item) item.textContent = p.shot + ": " + p.done + "/" + p.total + " frames";
      shotElements(p.shot).forEach((el) => {
        const bar = el.querySelector(".progress");
        if (!bar) return;
        bar.hidden = !!p.shot_finished;
        bar.querySelector(".bar").style.width = (p.total ? (100 * p.done) / p.total : 0).toFixed(1) + "%";
      });
    } else if (item && p.stage) {
      item.textContent = p.stage;
    }
  }

  // -- buttons ---------------------------------------------------------------------------------
  function syncSelection() {
    const button = document.getElementById("render-selected");
    if (!button) return;
    const n = document.querySelectorAll("#board .select:checked").length;
    button.disabled = n === 0;
    button.textContent = n ? "Re-render selected (" + n + ")" : "Re-render selected";
  }

  async function render(shots, button) {
    if (button) button.disabled = true;
    try {
      await post("/api/render", { shots });
      shots.forEach((s) => shotElements(s).forEach((el) => el.classList.add("busy")));
    } finally {
      if (button) button.disabled = false;
    }
  }

  document.addEventListener("click", (event) => {
    const target = event.target.closest("button");
    if (!target) return;
    if (target.classList.contains("rerender")) {
      render([target.dataset.shot], target).catch(() => {});
    } else if (target.id === "render-selected") {
      const shots = Array.from(document.querySelectorAll("#board .select:checked")).map((b) => b.value);
      render(shots, target).then(() => {
        document.querySelectorAll("#board .select:checked").forEach((b) => { b.checked = false; });
        syncSelection();
      }).catch(() => {});
    } else if (target.id === "render-stale") {
      render([], target).catch(() => {});
    } else if (target.classList.contains("approve-keyframe")) {
      // keyframes first: approve the shot's keyframe for video (or withdraw the approval)
      target.disabled = true;
      post("/api/approve", { shots: [target.dataset.shot], undo: target.dataset.undo === "true" })
        .catch(() => { target.disabled = false; });
    } else if (target.classList.contains("new-keyframe")) {
      target.disabled = true;
      post("/api/keyframes", { shots: [target.dataset.shot] })
        .then(() => shotElements(target.dataset.shot).forEach((el) => el.classList.add("busy")))
        .catch(() => { target.disabled = false; });
    } else if (target.classList.contains("draw-keyframes")) {
      target.disabled = true;
      post("/api/keyframes", { shots: [] }).finally(() => { target.disabled = false; }).catch(() => {});
    } else if (target.classList.contains("use-take")) {
      target.disabled = true;
      post("/api/take", { shot: target.dataset.shot, take: Number(target.dataset.take) })
        .catch(() => { target.disabled = false; });
    } else if (target.classList.contains("remove-likeness")) {
      const name = target.dataset.name;
      if (window.confirm("Remove the likeness " + name + "? Its photos, faces and every cached shot made with it are deleted.")) {
        target.disabled = true;
        post("/api/likeness/remove", { name }).catch(() => { target.disabled = false; });
      }
    } else if (target.classList.contains("close")) {
      notice("");
    }
  });

  document.addEventListener("change", (event) => {
    const target = event.target;
    if (target.classList.contains("select")) syncSelection();
    if (target.classList.contains("keyframe-take-pick")) {
      target.disabled = true;
      post("/api/keyframe/take", { shot: target.dataset.shot, take: Number(target.value) })
        .catch(() => { target.disabled = false; });
    }
    if (target.classList.contains("cast")) {
      post("/api/cast", { character: target.dataset.character, likeness: target.value || null }).catch(() => {});
    }
  });

  // -- the event stream --------------------------------------------------------------------------
  const live = document.getElementById("live");
  const events = new EventSource("/api/events");
  events.addEventListener("open", () => {
    if (live) live.classList.add("on");
    // catch up on what changed while the stream was not open (page load, server restart)
    fetch("/api/status", { cache: "no-store" }).then((r) => r.json()).then((s) => {
      for (const job of s.jobs || []) heard.jobs[job.id] = job.state;
      scheduleStatus(s);
    }).catch(() => {});
  });
  events.addEventListener("error", () => { if (live) live.classList.remove("on"); });
  events.addEventListener("status", (e) => scheduleStatus(JSON.parse(e.data)));
  events.addEventListener("job", (e) => onJob(JSON.parse(e.data)));
  events.addEventListener("progress", (e) => onProgress(JSON.parse(e.data)));
  window.addEventListener("beforeunload", () => events.close());
  syncSelection();
})();
