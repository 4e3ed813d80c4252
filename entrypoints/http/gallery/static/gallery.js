// The gallery's only script. It never puts the token in a URL: it lives in sessionStorage and
// goes out as an Authorization header; images arrive as blobs and are shown through blob: URLs.
"use strict";

const TOKEN_KEY = "image-gen-mcp.token";
const PAGE_SIZE = 12;
const $ = (id) => document.getElementById(id);

// Blob URLs of what is on screen, revoked when the view changes so memory does not grow.
let shown = [];
// Metadata of the images listed so far, for the detail view.
const records = new Map();
// Bumped on every render, so an answer to a superseded render is dropped.
let generation = 0;

class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function token() { return sessionStorage.getItem(TOKEN_KEY); }

async function api(path) {
  const response = await fetch(path, {
    headers: { Authorization: `Bearer ${token()}` },
    credentials: "omit",
    cache: "no-store",
    referrerPolicy: "no-referrer",
  });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.message) message = `${body.code}: ${body.message}`;
    } catch (_) { /* not JSON: keep the status line */ }
    throw new HttpError(response.status, message);
  }
  return response;
}

async function blobUrl(path) {
  const url = URL.createObjectURL(await (await api(path)).blob());
  shown.push(url);
  return url;
}

function releaseShown() {
  for (const url of shown) URL.revokeObjectURL(url);
  shown = [];
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function showOnly(view) {
  for (const id of ["login", "grid-view", "detail-view"]) $(id).hidden = id !== view;
  $("signout").hidden = view === "login";
}

function askForToken(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  releaseShown();
  showOnly("login");
  showError(message || "");
  $("token").value = "";
  $("token").focus();
}

function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  const page = Math.max(0, parseInt(params.get("page") || "0", 10) || 0);
  return { image: params.get("image"), page };
}

function fail(error) {
  if (error instanceof HttpError && error.status === 401) {
    askForToken(`The token was not accepted (${error.message}). Enter a valid token.`);
  } else {
    showError(`Could not load images: ${error.message}`);
  }
}

function formatDate(iso) {
  const date = new Date(iso);
  return isNaN(date) ? iso || "" : date.toLocaleString();
}

function card(record) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.id = record.id;
  const img = document.createElement("img");
  img.alt = record.prompt || "image";
  const caption = document.createElement("div");
  caption.className = "caption";
  const prompt = document.createElement("div");
  prompt.className = "prompt";
  prompt.textContent = record.prompt || "(no prompt)";
  const sub = document.createElement("div");
  sub.className = "sub";
  sub.textContent = `${record.provider || "?"} · ${record.model || "?"}`;
  const when = document.createElement("time");
  when.className = "sub";
  when.dateTime = record.created_at;
  when.textContent = formatDate(record.created_at);
  caption.append(prompt, sub, when);
  button.append(img, caption);
  button.addEventListener("click", () => { location.hash = `image=${encodeURIComponent(record.id)}`; });
  item.append(button);
  return { item, img };
}

async function renderGrid(page) {
  const mine = ++generation;
  showOnly("grid-view");
  $("status").textContent = "Loading…";
  const offset = page * PAGE_SIZE;
  const listing = await (await api(`v1/images?limit=${PAGE_SIZE}&offset=${offset}`)).json();
  if (mine !== generation) return;
  releaseShown();
  showError("");
  const grid = $("grid");
  grid.replaceChildren();
  const pending = [];
  for (const record of listing.images) {
    records.set(record.id, record);
    const { item, img } = card(record);
    grid.append(item);
    pending.push(blobUrl(`v1/images/${encodeURIComponent(record.id)}/preview`).then((url) => {
      if (mine === generation) img.src = url;
    }));
  }
  const count = listing.images.length;
  $("status").textContent = count
    ? `Images ${offset + 1}–${offset + count}, newest first.`
    : page ? "No images on this page." : "No images yet: generate one and it will appear here.";
  $("page-label").textContent = `Page ${page + 1}`;
  $("prev").disabled = page === 0;
  $("next").disabled = listing.next_offset === undefined;
  await Promise.all(pending);
}

function metaRow(list, label, value) {
  if (value === undefined || value === null || value === "") return;
  const dt = document.createElement("dt");
  dt.textContent = label;
  const dd = document.createElement("dd");
  dd.textContent = String(value);
  list.append(dt, dd);
}

async function recordOf(id) {
  // Known from the grid, or (a bookmarked link opened on its own) asked for.
  if (records.has(id)) return records.get(id);
  const body = await (await api(`v1/images/${encodeURIComponent(id)}/record`)).json();
  records.set(id, body.image);
  return body.image;
}

async function renderDetail(id) {
  const mine = ++generation;
  showOnly("detail-view");
  const [url, record] = await Promise.all([blobUrl(`v1/images/${encodeURIComponent(id)}`), recordOf(id)]);
  if (mine !== generation) return;
  showError("");
  const full = $("full");
  full.alt = record.prompt || "image";
  full.src = url;
  $("detail-prompt").textContent = record.prompt || "";
  const meta = $("meta");
  meta.replaceChildren();
  metaRow(meta, "Provider", record.provider);
  metaRow(meta, "Model", record.model);
  metaRow(meta, "Created", record.created_at && formatDate(record.created_at));
  metaRow(meta, "Size", record.width && `${record.width} × ${record.height}`);
  metaRow(meta, "Type", record.media_type);
  metaRow(meta, "Bytes", record.byte_size);
  metaRow(meta, "SHA-256", record.sha256);
  metaRow(meta, "Id", record.id);
  metaRow(meta, "URI", record.uri);
  $("back").focus();
}

async function render() {
  if (!token()) { askForToken(); return; }
  const { image, page } = route();
  try {
    if (image) await renderDetail(image);
    else await renderGrid(page);
  } catch (error) {
    fail(error);
  }
}

function goToPage(page) { location.hash = page ? `page=${page}` : ""; }

document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token").value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $("token").value = "";
    showError("");
    render();
  });
  $("signout").addEventListener("click", () => askForToken());
  $("prev").addEventListener("click", () => goToPage(route().page - 1));
  $("next").addEventListener("click", () => goToPage(route().page + 1));
  $("back").addEventListener("click", () => history.length > 1 ? history.back() : goToPage(0));
  $("home").addEventListener("click", (event) => { event.preventDefault(); goToPage(0); });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && route().image) $("back").click();
  });
  window.addEventListener("hashchange", render);
  render();
});
