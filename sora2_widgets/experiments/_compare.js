// sw.compare's grid (anywidget ESM, no build step). Widget state holds captions, ratings, notes
// and tags only; each video's bytes are asked for over the comm and played from a blob: URL, as the
// panel's player does. Every text is set with textContent: nothing from the ledger is HTML.
const WAIT_MS = 20000;
// A follower this far from the clock is put back on it (seconds); less would seek-thrash a loaded box.
const DRIFT = 0.07;

function node(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function fmt(t) {
  if (!isFinite(t)) return "0:00.0";
  const m = Math.floor(t / 60);
  return `${m}:${(t - 60 * m).toFixed(1).padStart(4, "0")}`;
}

function render({ model, el }) {
  const started = performance.now();
  const root = node("div", "sw-cmp");
  const cells = model.get("cells");
  const vids = new Array(cells.length).fill(null);
  const parts = new Map();  // request id -> {cell, chunks}
  const timers = [];
  const urls = [];
  let playing = false;
  let frame = null;
  let focused = null;  // the enlarged cell's index

  // -- the bar: play/pause, seek, time, loop -------------------------------------------------
  const bar = node("div", "sw-cmp-bar");
  const play = node("button", "sw-cmp-play", "▶ Play");
  play.type = "button";
  const seek = node("input", "sw-cmp-seek");
  seek.type = "range";
  seek.min = "0";
  seek.max = "1000";
  seek.value = "0";
  seek.setAttribute("aria-label", "Position in every video");
  const time = node("span", "sw-cmp-time", "0:00.0");
  const loopLabel = node("label", "sw-cmp-loop");
  const loopBox = node("input");
  loopBox.type = "checkbox";
  loopBox.checked = model.get("loop");
  loopLabel.append(loopBox, document.createTextNode(" Loop"));
  const error = node("span", "sw-cmp-error", model.get("error"));
  bar.append(play, seek, time, loopLabel, error);

  // -- the clock: the longest loaded video leads, the rest follow it ------------------------
  const longest = () => {
    let best = null;
    for (const v of vids) if (v && isFinite(v.duration) && (!best || v.duration > best.duration)) best = v;
    return best;
  };
  const targetFor = (v, t) => {
    const d = v.duration;
    if (!isFinite(d) || d <= 0) return 0;
    return model.get("loop") ? t % d : Math.min(t, d);
  };
  const tick = () => {
    frame = null;
    const lead = longest();
    if (!lead) return;
    const t = lead.currentTime;
    for (const v of vids) {
      if (!v || v === lead || !isFinite(v.duration)) continue;
      const want = targetFor(v, t);
      let off = Math.abs(v.currentTime - want);
      if (model.get("loop")) off = Math.min(off, v.duration - off);  // across the loop's seam
      if (!v.seeking && off > DRIFT) v.currentTime = want;
      const ended = !model.get("loop") && t >= v.duration;
      if (playing && v.paused && !ended) v.play().catch(() => {});
      if (!playing && !v.paused) v.pause();
    }
    seek.value = String(Math.round((1000 * t) / (lead.duration || 1)));
    time.textContent = `${fmt(t)} / ${fmt(lead.duration)}`;
    if (playing) frame = requestAnimationFrame(tick);
  };
  const setPlaying = (on) => {
    playing = on;
    play.textContent = on ? "⏸ Pause" : "▶ Play";
    root.dataset.playing = on ? "1" : "0";
    const lead = longest();
    if (lead) {
      const t = lead.currentTime;
      for (const v of vids) {
        if (!v) continue;
        if (v !== lead) v.currentTime = targetFor(v, t);
        if (on) v.play().catch(() => {});
        else v.pause();
      }
    }
    if (frame === null) frame = requestAnimationFrame(tick);
  };
  play.addEventListener("click", () => setPlaying(!playing));
  seek.addEventListener("input", () => {
    const lead = longest();
    if (!lead) return;
    const t = (Number(seek.value) / 1000) * lead.duration;
    for (const v of vids) if (v) v.currentTime = v === lead ? t : targetFor(v, t);
    time.textContent = `${fmt(t)} / ${fmt(lead.duration)}`;
  });
  loopBox.addEventListener("change", () => {
    model.set("loop", loopBox.checked);
    model.save_changes();
  });
  const onLoop = () => {
    loopBox.checked = model.get("loop");
    for (const v of vids) if (v) v.loop = model.get("loop");
  };
  model.on("change:loop", onLoop);

  // -- the grid ----------------------------------------------------------------------------
  const grid = node("div", "sw-cmp-grid");
  const cols = model.get("col_labels");
  grid.style.gridTemplateColumns = `auto repeat(${cols.length}, minmax(160px, 1fr))`;
  grid.append(node("div", "sw-cmp-corner", `${model.get("row_axis")} \\ ${model.get("col_axis")}`));
  for (const label of cols) grid.append(node("div", "sw-cmp-colhead", label));
  const views = [];  // per cell: {cell, media, stars, notes, tags, saved}
  const focus = node("div", "sw-cmp-focus");
  focus.hidden = true;

  const showStars = (i) => {
    const rating = model.get("cells")[i].rating;
    views[i].stars.forEach((b, k) => {
      b.textContent = k < rating ? "★" : "☆";
      b.setAttribute("aria-pressed", k < rating ? "true" : "false");
    });
  };
  const enlarge = (i) => {
    const v = vids[i];
    if (focused !== null) {  // put the enlarged video back in its cell
      const back = vids[focused];
      if (back) views[focused].media.replaceChildren(back);
      views[focused].cell.classList.remove("sw-cmp-big");
      focus.replaceChildren();
      focus.hidden = true;
      const was = focused;
      focused = null;
      if (was === i) return;
    }
    if (!v) return;
    focused = i;
    views[i].cell.classList.add("sw-cmp-big");
    const c = model.get("cells")[i];
    const close = node("button", "sw-cmp-close", "✕ Back to the grid");
    close.type = "button";
    close.addEventListener("click", () => enlarge(i));
    focus.append(close, node("div", "sw-cmp-title", c.title), node("div", "sw-cmp-differs", c.differs), v);
    views[i].media.replaceChildren(node("span", "sw-cmp-note", "(enlarged above)"));
    focus.hidden = false;
  };
  const save = (i, message) => {
    views[i].saved.textContent = "saving…";
    model.send({ type: "rate", cell: i, ...message });
  };

  const rows = model.get("row_labels");
  const slots = model.get("slots");
  rows.forEach((label, r) => {
    grid.append(node("div", "sw-cmp-rowhead", label));
    slots[r].forEach((indexes) => {
      const slot = node("div", "sw-cmp-slot");
      for (const i of indexes) {
        const c = cells[i];
        const cell = node("div", "sw-cmp-cell");
        cell.dataset.id = String(c.id);
        cell.dataset.index = String(i);
        const media = node("div", "sw-cmp-media");
        media.append(node("span", "sw-cmp-note", c.video ? "loading…" : `no video (${c.status.replace("_", " ")})`));
        media.addEventListener("click", () => enlarge(i));
        const stars = node("div", "sw-cmp-stars");
        stars.setAttribute("role", "group");
        stars.setAttribute("aria-label", "Rating");
        const buttons = [1, 2, 3, 4, 5].map((n) => {
          const b = node("button", "sw-cmp-star", "☆");
          b.type = "button";
          b.title = `${n} star${n > 1 ? "s" : ""}`;
          b.setAttribute("aria-label", b.title);
          b.addEventListener("click", () => {
            const now = model.get("cells")[i].rating;
            save(i, { stars: now === n ? null : n });  // the same star again clears the rating
          });
          return b;
        });
        stars.append(...buttons);
        const notes = node("textarea", "sw-cmp-notes");
        notes.rows = 2;
        notes.placeholder = "Notes";
        notes.value = c.notes;
        notes.addEventListener("change", () => save(i, { notes: notes.value }));
        // Tags as one line of text separated by commas; the kernel splits, checks and stores them.
        const tags = node("input", "sw-cmp-tags");
        tags.type = "text";
        tags.placeholder = "Tags, separated by commas";
        tags.setAttribute("aria-label", "Tags");
        tags.value = c.tags.join(", ");
        tags.addEventListener("change", () => save(i, { type: "tag", tags: tags.value }));
        // Enter saves, as in any one-line field: JupyterLab's own Enter shortcut must not take it first.
        tags.addEventListener("keydown", (e) => {
          if (e.key !== "Enter") return;
          e.stopPropagation();
          tags.blur();  // the change event saves (only when the text changed)
        });
        const saved = node("span", "sw-cmp-saved");
        cell.append(
          media,
          node("div", "sw-cmp-title", c.title),
          node("div", "sw-cmp-differs", c.differs),
          node("div", "sw-cmp-facts", c.facts),
          stars,
          notes,
          tags,
          saved,
        );
        // Sound only from the cell under the pointer: a grid of soundtracks at once is noise.
        cell.addEventListener("mouseenter", () => { if (vids[i]) vids[i].muted = false; });
        cell.addEventListener("mouseleave", () => { if (vids[i]) vids[i].muted = true; });
        slot.append(cell);
        views[i] = { cell, media, stars: buttons, notes, tags, saved };
      }
      grid.append(slot);
    });
  });
  cells.forEach((_c, i) => showStars(i));
  root.append(bar, focus, grid);
  el.replaceChildren(root);
  root.dataset.renderMs = String(performance.now() - started);

  const onCells = () => {
    const now = model.get("cells");
    now.forEach((c, i) => {
      if (!views[i]) return;
      showStars(i);
      if (document.activeElement !== views[i].notes) views[i].notes.value = c.notes;
      if (document.activeElement !== views[i].tags) views[i].tags.value = c.tags.join(", ");
    });
  };
  model.on("change:cells", onCells);
  const onError = () => { error.textContent = model.get("error"); };
  model.on("change:error", onError);

  // -- the videos: asked for over the comm, played from blob: URLs ---------------------------
  let waiting = cells.filter((c) => c.video).length;
  const ready = () => {
    waiting -= 1;
    if (waiting === 0) root.dataset.readyMs = String(performance.now() - started);
  };
  const show = (i, chunks) => {
    const url = URL.createObjectURL(new Blob(chunks, { type: "video/mp4" }));
    urls.push(url);
    const v = node("video", "sw-cmp-video");
    v.muted = true;  // every cell starts silent; the pointer unmutes one
    v.loop = model.get("loop");
    v.playsInline = true;
    v.preload = "auto";
    v.addEventListener("loadedmetadata", ready, { once: true });
    v.src = url;
    vids[i] = v;
    views[i].media.replaceChildren(v);
    if (playing) setPlaying(true);
  };
  const onMessage = (msg, buffers) => {
    if (!msg) return;
    if (msg.type === "saved") {
      const view = views[msg.cell];
      if (view) view.saved.textContent = msg.ok ? "saved" : msg.text;
      return;
    }
    const entry = parts.get(msg.request);
    if (!entry) return;  // another view's answer
    if (msg.type === "missing") {
      parts.delete(msg.request);
      views[entry.cell].media.replaceChildren(node("span", "sw-cmp-note", msg.text));
      ready();
      return;
    }
    if (msg.type !== "chunk") return;
    entry.chunks[msg.index] = buffers[0];
    if (entry.chunks.filter(Boolean).length === msg.total) {
      parts.delete(msg.request);
      show(entry.cell, entry.chunks);
    }
  };
  model.on("msg:custom", onMessage);
  cells.forEach((c, i) => {
    if (!c.video) return;
    const request = Math.random().toString(36).slice(2);
    parts.set(request, { cell: i, chunks: [] });
    model.send({ type: "fetch", request, cell: i });
  });
  // Without a kernel (a notebook reopened from disk) nothing answers: say so instead of spinning.
  timers.push(setTimeout(() => {
    for (const { cell } of parts.values()) {
      views[cell].media.replaceChildren(node("span", "sw-cmp-note", "Run the notebook to show this video."));
    }
  }, WAIT_MS));

  return () => {
    timers.forEach(clearTimeout);
    if (frame !== null) cancelAnimationFrame(frame);
    model.off("msg:custom", onMessage);
    model.off("change:cells", onCells);
    model.off("change:error", onError);
    model.off("change:loop", onLoop);
    for (const v of vids) if (v) v.pause();
    urls.forEach((u) => URL.revokeObjectURL(u));
  };
}

export default { render };
