// speech2music web client: plain JavaScript against the /v1 API, no build step, nothing external.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
// Formats the server decodes itself (audio, and the audio of videos); anything else is converted to WAV here.
const SERVER_READABLE = /\.(wav|flac|ogg|oga|opus|mp3|aiff?|caf|aac|m4a|mp4|mov|mkv|webm)$/i;
const TARGET_RATE = 16000;
const MAX_RECORD_SECONDS = 55;
const POLL_LIMIT_MS = 180000;
const EMOTION_COLOURS = {
  happy: "#eab308", funny: "#f97316", exciting: "#ef4444", tender: "#ec4899", sad: "#3b82f6",
  angry: "#b91c1c", scary: "#6b21a8", fearful: "#7c3aed", disgust: "#4d7c0f", surprised: "#0d9488",
  calm: "#0891b2", neutral: "#64748b",
};

const $ = (selector) => document.querySelector(selector);
const state = { emotions: [], recorder: null, catalogue: { emotion: "", cursor: null } };

// ---- API key -----------------------------------------------------------------------------------

// The key stays in this browser's storage; a link from `s2m demo` carries it in the fragment (#key=...),
// which browsers never send to a server, and the page removes it from the address bar at once.
const KEY_STORAGE = "s2m-api-key";

function takeKeyFromLink() {
  const found = new URLSearchParams(location.hash.slice(1)).get("key");
  if (found) {
    localStorage.setItem(KEY_STORAGE, found);
    history.replaceState(null, "", location.pathname + location.search);
  }
}

function apiKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

function askForKey(message) {
  $("#sign-in").hidden = false;
  $("#sign-out").hidden = true;
  setStatus(message, true);
}

function signIn(event) {
  event.preventDefault();
  const key = $("#api-key").value.trim();
  if (!key) return;
  localStorage.setItem(KEY_STORAGE, key);
  location.reload();
}

function signOut() {
  localStorage.removeItem(KEY_STORAGE);
  location.reload();
}

// ---- API -------------------------------------------------------------------------------------

async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (apiKey()) headers.set("Authorization", `Bearer ${apiKey()}`);
  const response = await fetch(path, { ...options, headers });
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = body && body.error;
    if (response.status === 401) askForKey("Enter an API key (`s2m keys create`) to use this page.");
    throw new Error(error ? `${error.message} (${error.code})` : `HTTP ${response.status} from ${path}`);
  }
  return body;
}

// Stored audio needs the key too, which an <audio src> cannot send: fetch it, then play it from memory.
async function audioBlobUrl(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${apiKey()}` } });
  if (!response.ok) throw new Error(`HTTP ${response.status} from ${path}`);
  return URL.createObjectURL(await response.blob());
}

function setStatus(text, isError = false) {
  const status = $("#status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

// ---- Audio: anything the browser decodes -> 16 kHz mono 16-bit WAV ----------------------------

async function toWav(blob) {
  const context = new AudioContext();
  let decoded;
  try {
    decoded = await context.decodeAudioData(await blob.arrayBuffer());
  } catch (error) {
    throw new Error("this browser cannot decode that audio; try a WAV file");
  } finally {
    context.close();
  }
  // An offline context with one channel mixes down and resamples in one step.
  const frames = Math.max(1, Math.ceil(decoded.duration * TARGET_RATE));
  const offline = new OfflineAudioContext(1, frames, TARGET_RATE);
  const source = offline.createBufferSource();
  source.buffer = decoded;
  source.connect(offline.destination);
  source.start();
  const rendered = await offline.startRendering();
  return encodeWav(rendered.getChannelData(0), TARGET_RATE);
}

function encodeWav(samples, rate) {
  const view = new DataView(new ArrayBuffer(44 + samples.length * 2));
  const text = (offset, value) => [...value].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true);       // fmt chunk size
  view.setUint16(20, 1, true);        // PCM
  view.setUint16(22, 1, true);        // mono
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true); // bytes per second
  view.setUint16(32, 2, true);        // bytes per frame
  view.setUint16(34, 16, true);       // bits per sample
  text(36, "data");
  view.setUint32(40, samples.length * 2, true);
  samples.forEach((sample, i) => {
    const clipped = Math.max(-1, Math.min(1, sample));
    view.setInt16(44 + i * 2, clipped < 0 ? clipped * 0x8000 : clipped * 0x7fff, true);
  });
  return new Blob([view.buffer], { type: "audio/wav" });
}

// ---- Query: record or upload, post, wait, show -------------------------------------------------

async function toggleRecording() {
  const button = $("#record");
  if (state.recorder) {
    state.recorder.stop();
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    setStatus(`Cannot use the microphone: ${error.message}`, true);
    return;
  }
  const chunks = [];
  const recorder = new MediaRecorder(stream);
  const stopTimer = setTimeout(() => recorder.state === "recording" && recorder.stop(), MAX_RECORD_SECONDS * 1000);
  recorder.ondataavailable = (event) => event.data.size && chunks.push(event.data);
  recorder.onstop = async () => {
    clearTimeout(stopTimer);
    stream.getTracks().forEach((track) => track.stop());
    state.recorder = null;
    button.classList.remove("recording");
    button.textContent = "\u25CF Record";
    await runQuery(() => toWav(new Blob(chunks, { type: recorder.mimeType })), "recording.wav");
  };
  state.recorder = recorder;
  recorder.start();
  button.classList.add("recording");
  button.textContent = "\u25A0 Stop";
  setStatus(`Recording\u2026 speak for a few seconds, then press Stop (at most ${MAX_RECORD_SECONDS} s).`);
}

async function uploadChosenFile() {
  const file = $("#file").files[0];
  if (!file) return;
  if (SERVER_READABLE.test(file.name)) {
    await runQuery(async () => file, file.name);
  } else {
    await runQuery(() => toWav(file), file.name.replace(/\.[^.]*$/, "") + ".wav");
  }
  $("#file").value = "";
}

async function runQuery(makeAudio, filename) {
  try {
    setStatus("Preparing audio\u2026");
    const audio = await makeAudio();
    const player = $("#query-audio");
    player.src = URL.createObjectURL(audio);
    player.hidden = false;
    const form = new FormData();
    form.append("file", audio, filename);
    const transcript = $("#transcript").value.trim();
    if (transcript) form.append("transcript", transcript);
    form.append("limit", $("#limit").value || "10");
    const moods = [...document.querySelectorAll("#query-emotions input:checked")].map((box) => box.value);
    if (moods.length) form.append("emotions", moods.join(","));
    setStatus("Uploading\u2026");
    const request = await api("/v1/recommendations", { method: "POST", body: form });
    setStatus("Listening to your speech\u2026");
    const answer = await waitForAnswer(request);
    showAnswer(answer);
    setStatus(`Done: ${answer.results.length} tracks.`);
  } catch (error) {
    setStatus(error.message, true);
  }
}

async function waitForAnswer(request) {
  const started = Date.now();
  let answer = request;
  while (answer.status === "queued" || answer.status === "processing") {
    if (Date.now() - started > POLL_LIMIT_MS) {
      throw new Error("no answer within 3 minutes; is a worker running?");
    }
    answer = await api(`/v1/recommendations/${request.id}?wait=10`);
  }
  if (answer.status === "failed") throw new Error(`the query failed: ${answer.error}`);
  return answer;
}

function emotionBadge(label) {
  const badge = document.createElement("span");
  badge.className = "emotion";
  badge.textContent = label || "unknown";
  badge.style.background = EMOTION_COLOURS[label] || "#64748b";
  return badge;
}

function audioPlayer(url) {
  const box = document.createElement("span");
  box.className = "player";
  const player = document.createElement("audio");
  player.controls = true;
  player.hidden = true;
  player.dataset.audioUrl = url;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "play";
  button.textContent = "\u25B6 Play";
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      player.src = await audioBlobUrl(url);
      player.hidden = false;
      button.hidden = true;
      await player.play().catch(() => {});  // autoplay may be refused; the controls are there
    } catch (error) {
      button.disabled = false;
      setStatus(`Cannot load the audio: ${error.message}`, true);
    }
  });
  box.append(button, player);
  return box;
}

function showAnswer(answer) {
  const query = answer.query;
  const summary = $("#query-summary");
  summary.replaceChildren(
    "Your speech sounds ", emotionBadge(query.emotion),
    ` (valence ${query.valence.toFixed(2)}, arousal ${query.arousal.toFixed(2)}).`,
  );
  const list = $("#results");
  list.replaceChildren(...answer.results.map((result) => {
    const row = document.createElement("li");
    row.className = "result-row";
    row.dataset.trackId = result.track_id;
    row.dataset.emotion = result.emotion || "";
    const meta = document.createElement("div");
    meta.className = "meta";
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = result.title || result.track_id;
    const artist = document.createElement("span");
    artist.textContent = result.artist || "";
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = `match ${result.score.toFixed(3)}`;
    meta.append(title, artist, emotionBadge(result.emotion), score);
    row.append(meta, audioPlayer(result.audio_url));
    return row;
  }));
  drawPlot(query, answer.results);
}

// ---- Valence/arousal plot (SVG) ---------------------------------------------------------------

const PLOT = { size: 420, margin: 40 };

function svg(name, attributes = {}, text = "") {
  const element = document.createElementNS(SVG_NS, name);
  Object.entries(attributes).forEach(([key, value]) => element.setAttribute(key, value));
  if (text) element.textContent = text;
  return element;
}

function toPlot(valence, arousal) {
  const span = PLOT.size - 2 * PLOT.margin;
  return [PLOT.margin + valence * span, PLOT.margin + (1 - arousal) * span];
}

function drawPlot(query, results) {
  const plot = $("#plot");
  const low = PLOT.margin;
  const high = PLOT.size - PLOT.margin;
  const middle = PLOT.size / 2;
  const parts = [
    svg("line", { class: "grid", x1: middle, y1: low, x2: middle, y2: high }),
    svg("line", { class: "grid", x1: low, y1: middle, x2: high, y2: middle }),
    svg("line", { class: "axis", x1: low, y1: high, x2: high, y2: high }),
    svg("line", { class: "axis", x1: low, y1: low, x2: low, y2: high }),
    svg("text", { class: "axis-label", x: high - 70, y: high + 26 }, "valence \u2192"),
    svg("text", { class: "axis-label", x: 14, y: low + 70, transform: `rotate(-90 14 ${low + 70})` }, "arousal \u2192"),
  ];
  state.emotions.forEach((emotion) => {
    const [x, y] = toPlot(emotion.valence, emotion.arousal);
    parts.push(svg("circle", { class: "anchor", cx: x, cy: y, r: 3 }));
    parts.push(svg("text", { class: "anchor-label", x: x + 5, y: y - 4 }, emotion.name));
  });
  if (query) {
    const [qx, qy] = toPlot(query.valence, query.arousal);
    const points = (results || []).filter((r) => r.valence !== null && r.arousal !== null);
    points.forEach((result) => {
      const [x, y] = toPlot(result.valence, result.arousal);
      parts.push(svg("line", { class: "link", x1: qx, y1: qy, x2: x, y2: y }));
    });
    // The query goes first, drawn larger, so its ring stays visible around results on top of it;
    // results are drawn worst first so the best-ranked point ends up on top.
    parts.push(svg("circle", { class: "query-point", cx: qx, cy: qy, r: 12 }));
    parts.push(svg("text", { class: "query-label", x: qx + 14, y: qy + 4 }, "you"));
    [...points].reverse().forEach((result) => {
      const rank = results.indexOf(result) + 1;
      const [x, y] = toPlot(result.valence, result.arousal);
      const point = svg("circle", {
        class: "result-point", cx: x, cy: y, r: 8, fill: EMOTION_COLOURS[result.emotion] || "#2563eb",
        "data-track-id": result.track_id,
      });
      point.append(svg("title", {}, `${rank}. ${result.title || result.track_id} (${result.emotion})`));
      parts.push(point, svg("text", { class: "result-rank", x, y }, String(rank)));
    });
  }
  plot.replaceChildren(...parts);
}

// ---- Timeline: a long recording, its scenes as a strip coloured by emotion, tracks per scene ----

const TIMELINE_POLL_LIMIT_MS = 3 * 3600 * 1000;

function clock(seconds) {
  const whole = Math.round(seconds);
  const [h, m, s] = [Math.floor(whole / 3600), Math.floor((whole % 3600) / 60), whole % 60];
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

function setTimelineStatus(text, isError = false) {
  const status = $("#timeline-status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

async function makeTimeline() {
  const file = $("#timeline-file").files[0];
  if (!file) return;
  const progress = $("#timeline-progress");
  try {
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("tracks_per_scene", $("#timeline-tracks").value || "3");
    if ($("#timeline-cover").checked) form.append("cover_scene", "true");
    setTimelineStatus("Uploading\u2026");
    let timeline = await api("/v1/timelines", { method: "POST", body: form });
    progress.hidden = false;
    const started = Date.now();
    while (timeline.status === "queued" || timeline.status === "processing") {
      if (Date.now() - started > TIMELINE_POLL_LIMIT_MS) throw new Error("no timeline within 3 hours; is a worker running?");
      progress.value = timeline.progress;
      setTimelineStatus(`Listening\u2026 ${timeline.progress.toFixed(0)}% of ${clock(timeline.duration_seconds)}`);
      timeline = await api(`/v1/timelines/${timeline.id}?wait=2`);
    }
    if (timeline.status === "failed") throw new Error(`the timeline failed: ${timeline.error}`);
    progress.value = 100;
    showTimeline(timeline);
    setTimelineStatus(`Done: ${timeline.scenes.length} scenes in ${clock(timeline.duration_seconds)}.`);
  } catch (error) {
    setTimelineStatus(error.message, true);
  } finally {
    $("#timeline-file").value = "";
  }
}

function showTimeline(timeline) {
  const total = Math.max(timeline.duration_seconds, 1e-6);
  $("#timeline-summary").textContent =
    `${timeline.segments.length} speech segments, ${timeline.scenes.length} scenes in ${clock(timeline.duration_seconds)}.`;
  const strip = $("#timeline-strip");
  strip.replaceChildren(...timeline.scenes.map((scene, index) => {
    const block = document.createElement("a");
    block.className = "scene-block";
    block.href = `#scene-${index + 1}`;
    block.dataset.emotion = scene.emotion;
    block.style.left = `${(100 * scene.start) / total}%`;
    block.style.width = `${Math.max(0.3, (100 * (scene.end - scene.start)) / total)}%`;
    block.style.background = EMOTION_COLOURS[scene.emotion] || "#64748b";
    block.title = `${clock(scene.start)}\u2013${clock(scene.end)} ${scene.emotion}`;
    return block;
  }));
  const axis = $("#timeline-axis");
  axis.replaceChildren(...[0, 0.25, 0.5, 0.75, 1].map((fraction) => {
    const tick = document.createElement("span");
    tick.style.left = `${100 * fraction}%`;
    tick.textContent = clock(fraction * total);
    return tick;
  }));
  $("#timeline-scenes").replaceChildren(...timeline.scenes.map((scene, index) => {
    const item = document.createElement("li");
    item.className = "scene-row";
    item.id = `scene-${index + 1}`;
    item.dataset.emotion = scene.emotion;
    const head = document.createElement("div");
    head.className = "meta";
    const when = document.createElement("span");
    when.className = "title";
    when.textContent = `${clock(scene.start)}\u2013${clock(scene.end)}`;
    head.append(when, emotionBadge(scene.emotion),
      ` valence ${scene.valence.toFixed(2)}, arousal ${scene.arousal.toFixed(2)}`);
    const tracks = document.createElement("ul");
    tracks.className = "scene-tracks";
    tracks.replaceChildren(...scene.tracks.map((track) => {
      const row = document.createElement("li");
      row.className = "scene-track";
      row.dataset.trackId = track.track_id;
      const name = document.createElement("span");
      name.className = "title";
      name.textContent = track.title || track.track_id;
      row.append(name, " ", track.artist || "", " ", emotionBadge(track.emotion), audioPlayer(track.audio_url));
      return row;
    }));
    if (!scene.tracks.length) tracks.textContent = "No track matches.";
    item.append(head, tracks);
    return item;
  }));
}

// ---- Catalogue --------------------------------------------------------------------------------

function catalogueChips() {
  const container = $("#catalogue-emotions");
  const labels = ["", ...state.emotions.filter((e) => e.music).map((e) => e.name)];
  container.replaceChildren(...labels.map((label) => {
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = "chip" + (label === state.catalogue.emotion ? " active" : "");
    chip.dataset.emotion = label;
    chip.textContent = label || "all moods";
    chip.addEventListener("click", () => {
      state.catalogue.emotion = label;
      catalogueChips();
      loadCatalogue(true);
    });
    return chip;
  }));
}

function cell(text, className = "") {
  const td = document.createElement("td");
  td.className = className;
  if (text instanceof Node) td.append(text);
  else td.textContent = text;
  return td;
}

async function loadCatalogue(reset) {
  const body = $("#catalogue tbody");
  if (reset) {
    body.replaceChildren();
    state.catalogue.cursor = null;
  }
  const params = new URLSearchParams({ limit: "50" });
  if (state.catalogue.emotion) params.set("emotion", state.catalogue.emotion);
  if ($("#catalogue-status").value) params.set("status", $("#catalogue-status").value);
  if (state.catalogue.cursor) params.set("cursor", state.catalogue.cursor);
  try {
    const page = await api(`/v1/tracks?${params}`);
    page.items.forEach((track) => {
      const row = document.createElement("tr");
      row.className = "track-row";
      row.dataset.emotion = track.emotion || "";
      const number = (value) => (value === null ? "\u2013" : value.toFixed(2));
      row.append(
        cell(track.title || track.id), cell(track.artist || ""),
        cell(track.emotion ? emotionBadge(track.emotion) : "\u2013"),
        cell(number(track.valence), "number"), cell(number(track.arousal), "number"),
        cell(track.status + (track.error ? `: ${track.error}` : "")), cell(audioPlayer(track.audio_url)),
      );
      body.append(row);
    });
    state.catalogue.cursor = page.next_cursor;
    $("#catalogue-more").hidden = !page.next_cursor;
    $("#catalogue-empty").hidden = body.children.length > 0;
  } catch (error) {
    $("#catalogue-empty").hidden = false;
    $("#catalogue-empty").textContent = `Cannot load the catalogue: ${error.message}`;
  }
}

// ---- Start ------------------------------------------------------------------------------------

function showView(id) {
  document.querySelectorAll(".view").forEach((view) => { view.hidden = view.id !== id; });
  document.querySelectorAll(".tab").forEach((tab) => tab.classList.toggle("active", tab.dataset.view === id));
  if (id === "catalogue-view") loadCatalogue(true);
}

async function start() {
  takeKeyFromLink();
  $("#sign-in").addEventListener("submit", signIn);
  $("#sign-out").addEventListener("click", signOut);
  if (!apiKey()) {
    askForKey("Enter an API key (`s2m keys create`) to use this page.");
    document.body.dataset.ready = "true";
    return;
  }
  $("#sign-out").hidden = false;
  document.querySelectorAll(".tab").forEach((tab) => tab.addEventListener("click", () => showView(tab.dataset.view)));
  $("#record").addEventListener("click", toggleRecording);
  $("#file").addEventListener("change", uploadChosenFile);
  $("#timeline-file").addEventListener("change", makeTimeline);
  $("#catalogue-status").addEventListener("change", () => loadCatalogue(true));
  $("#catalogue-more").addEventListener("click", () => loadCatalogue(false));
  if (!window.MediaRecorder) $("#record").disabled = true;
  try {
    state.emotions = (await api("/v1/emotions")).emotions;
  } catch (error) {
    if (!$("#sign-in").hidden) {
      document.body.dataset.ready = "true";
      return;
    }
    setStatus(`Cannot reach the API: ${error.message}`, true);
  }
  const boxes = state.emotions.filter((e) => e.music).map((emotion) => {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = emotion.name;
    label.append(box, ` ${emotion.name}`);
    return label;
  });
  $("#query-emotions").append(...boxes);
  catalogueChips();
  drawPlot(null, []);
  document.body.dataset.ready = "true";
}

start();
