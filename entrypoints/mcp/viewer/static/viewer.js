// The MCP App side of the ext-apps bridge: JSON-RPC 2.0 over postMessage with the host (the
// window that embeds this one). Everything — tool results, images, new calls — goes through
// the host; this document makes no network request of its own (its CSP forbids it).
"use strict";

(() => {
  const PROTOCOL_VERSION = "2026-01-26";
  const $ = (id) => document.getElementById(id);
  const host = window.parent;
  const pending = new Map();
  let nextId = 1;
  let toolName = null;   // the call being shown, for "Variations"
  let toolArgs = null;
  let current = null;    // structuredContent of the result on screen
  let urls = [];         // blob: URLs on screen, revoked on the next render

  function send(message) { host.postMessage({ jsonrpc: "2.0", ...message }, "*"); }

  function request(method, params) {
    const id = nextId++;
    send({ id, method, params });
    return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
  }

  function notify(method, params) { send({ method, params }); }

  window.addEventListener("message", (event) => {
    if (event.source !== host) return;  // only the host speaks to this app
    const message = event.data;
    if (!message || message.jsonrpc !== "2.0") return;
    if (message.id !== undefined && pending.has(message.id) && !message.method) {
      const { resolve, reject } = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) reject(new Error(message.error.message || "request failed"));
      else resolve(message.result);
      return;
    }
    if (message.method === "ui/notifications/tool-input") {
      toolArgs = (message.params && message.params.arguments) || null;
      refreshButtons();
    } else if (message.method === "ui/notifications/tool-result") {
      const params = message.params || {};
      showResult(params.result || params);  // the CallToolResult (older hosts wrap it)
    } else if (message.method === "ui/resource-teardown" && message.id !== undefined) {
      releaseUrls();
      send({ id: message.id, result: {} });
    } else if (message.id !== undefined && message.method) {
      send({ id: message.id, error: { code: -32601, message: "Method not found" } });
    }
  });

  function showError(text) {
    $("error").textContent = text || "";
    $("error").hidden = !text;
  }

  function releaseUrls() {
    for (const url of urls) URL.revokeObjectURL(url);
    urls = [];
  }

  function base64Blob(data, type) {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const url = URL.createObjectURL(new Blob([bytes], { type }));
    urls.push(url);
    return url;
  }

  async function readImage(uri) {
    const result = await request("resources/read", { uri });
    const item = result && result.contents && result.contents[0];
    if (!item || !item.blob) throw new Error(`no image in ${uri}`);
    return base64Blob(item.blob, item.mimeType || "application/octet-stream");
  }

  function refreshButtons() {
    const ready = Boolean(current && current.ok && current.images && current.images.length);
    $("variations").disabled = !(ready && toolName && toolArgs);
    $("edit-prompt").disabled = !ready;
    $("edit").disabled = !ready;
  }

  function costText(data) {
    const usage = data.usage || {};
    const parts = Object.entries(usage).map(([key, value]) => `${key} ${value}`);
    return parts.length ? ` · ${parts.join(", ")}` : "";
  }

  function imageCard(image, previewUrl) {
    const item = document.createElement("li");
    item.dataset.id = image.id;
    const img = document.createElement("img");
    img.alt = `image ${image.id}`;
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = `${image.width}×${image.height} · ${image.media_type} · ${image.byte_size} bytes`;
    const buttons = document.createElement("div");
    buttons.className = "buttons";
    const full = document.createElement("button");
    full.type = "button";
    full.textContent = "Full image";
    full.dataset.action = "full";
    const save = document.createElement("button");
    save.type = "button";
    save.textContent = "Download";
    save.dataset.action = "download";
    buttons.append(full, save);
    item.append(img, meta, buttons);

    const loadFull = async () => {
      const url = await readImage(image.uri);
      img.src = url;
      img.dataset.full = "true";
      return url;
    };
    full.addEventListener("click", () => loadFull().catch((error) => showError(error.message)));
    save.addEventListener("click", async () => {
      try {
        const link = document.createElement("a");
        link.href = img.dataset.full ? img.src : await loadFull();
        link.download = `${image.id}.${(image.media_type || "image/png").split("/")[1]}`;
        link.click();
      } catch (error) {
        showError(error.message);
      }
    });
    if (previewUrl) img.src = previewUrl;
    else readImage(`${image.uri}/preview`).then((url) => { img.src = url; }, (e) => showError(e.message));
    return item;
  }

  function showResult(result) {
    releaseUrls();
    showError("");
    const data = (result && result.structuredContent) || {};
    current = data;
    if (!toolName && data.operation) toolName = data.operation === "edit" ? "edit_image" : "generate_image";
    const list = $("images");
    list.replaceChildren();
    $("warnings").replaceChildren();
    if (!data.ok) {
      $("summary").textContent = "No image.";
      showError(data.code ? `${data.code}: ${data.message}` : "The call did not return images.");
      refreshButtons();
      return;
    }
    const images = data.images || [];
    $("summary").textContent =
      `${images.length} image${images.length === 1 ? "" : "s"} · ${data.provider} · ${data.model}${costText(data)}`;
    for (const warning of data.warnings || []) {
      const item = document.createElement("li");
      item.textContent = warning.message || warning.code || JSON.stringify(warning);
      $("warnings").append(item);
    }
    // Inline previews come in the same order as the images; use them when they all came.
    const previews = ((result && result.content) || []).filter((block) => block.type === "image");
    images.forEach((image, index) => {
      const preview = previews.length === images.length ? previews[index] : null;
      const url = preview ? base64Blob(preview.data, preview.mimeType) : null;
      if (image.id) list.append(imageCard(image, url));
    });
    refreshButtons();
  }

  async function call(name, args) {
    showError("");
    $("summary").textContent = "Working…";
    try {
      const result = await request("tools/call", { name, arguments: args });
      toolName = name;
      toolArgs = args;
      showResult(result);
    } catch (error) {
      showError(error.message);
    }
  }

  $("variations").addEventListener("click", () => call(toolName, toolArgs));
  // No <form>: hosts sandbox the app, often without allow-forms, which drops submit events.
  function edit() {
    const prompt = $("edit-prompt").value.trim();
    if (!prompt || !current || !current.images) return;
    const args = { prompt, images: current.images.map((image) => image.uri) };
    if (current.provider) args.provider = current.provider;
    if (current.model) args.model = current.model;
    call("edit_image", args);
  }
  $("edit").addEventListener("click", edit);
  $("edit-prompt").addEventListener("keydown", (event) => {
    if (event.key === "Enter") edit();
  });

  // Hosts size the iframe from what the app reports; report each change of height once,
  // starting after the handshake (nothing may be sent before it).
  function reportSizes() {
    let reportedHeight = 0;
    new ResizeObserver(() => {
      const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
      if (height === reportedHeight) return;
      reportedHeight = height;
      notify("ui/notifications/size-changed", { width: document.documentElement.clientWidth, height });
    }).observe(document.documentElement);
  }

  (async () => {
    try {
      const init = await request("ui/initialize", {
        protocolVersion: PROTOCOL_VERSION,
        appInfo: { name: "image-gen-mcp viewer", version: "1" },
        appCapabilities: {},
      });
      const context = (init && init.hostContext) || {};
      const tool = context.toolInfo && context.toolInfo.tool;
      if (tool && tool.name) toolName = tool.name;
      notify("ui/notifications/initialized", {});
      reportSizes();
    } catch (error) {
      showError(`The host did not answer: ${error.message}`);
    }
  })();
})();
