// The panel's media player (anywidget ESM). The widget state holds only a label and a
// revision number; the bytes are asked for over the widget's comm and played from a Blob URL,
// so a notebook saved with widget state never carries the video or image itself.
const WAIT_MS = 15000;

function render({ model, el }) {
  const kind = model.get("kind");
  const note = document.createElement("span");
  note.className = "sw-media-note";
  let url = null;
  let request = null;
  let parts = [];
  let timer = null;

  const say = (text) => {
    note.textContent = text;
    el.replaceChildren(note);
  };
  const show = (mime) => {
    if (url) URL.revokeObjectURL(url);
    url = URL.createObjectURL(new Blob(parts, { type: mime }));
    parts = [];
    const media = document.createElement(kind === "video" ? "video" : "img");
    media.className = "sw-media";
    media.style.maxWidth = "100%";
    media.style.width = model.get("width") || "auto";
    if (kind === "video") {
      media.controls = true;
      media.preload = "metadata";
      media.playsInline = true;
      media.style.maxHeight = model.get("max_height") || "none";
    } else {
      media.alt = model.get("label");
      const box = model.get("max_height");
      if (box) {  // fit a box (the start-image preview): the whole image, its shape kept
        media.style.maxHeight = box;
        media.style.width = "auto";
        media.style.maxWidth = model.get("width") || "100%";
      }
    }
    media.src = url;
    el.replaceChildren(media);
  };
  const onMessage = (msg, buffers) => {
    if (!msg || msg.request !== request) return;  // another view's answer
    if (msg.type === "missing") {
      clearTimeout(timer);
      say(msg.text);
      return;
    }
    if (msg.type !== "chunk") return;
    parts[msg.index] = buffers[0];
    if (parts.filter(Boolean).length === msg.total) {
      clearTimeout(timer);
      show(msg.mime);
    }
  };
  const fetch = () => {
    request = Math.random().toString(36).slice(2);
    parts = [];
    say(`${model.get("label")} (loading…)`);
    clearTimeout(timer);
    // Without a kernel (a reopened notebook) nothing answers: say so instead of spinning.
    timer = setTimeout(() => say(`${model.get("label")}: run the notebook to show it here.`), WAIT_MS);
    model.send({ type: "fetch", request });
  };

  model.on("msg:custom", onMessage);
  model.on("change:revision", fetch);
  fetch();
  return () => {
    clearTimeout(timer);
    model.off("msg:custom", onMessage);
    model.off("change:revision", fetch);
    if (url) URL.revokeObjectURL(url);
  };
}

export default { render };
