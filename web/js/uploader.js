// Upload: a file picker and drag-and-drop, several photos at once, a title, description and tags
// for each, and a progress bar per photo. Photos up to INLINE_MAX_BYTES go in one request
// (POST /images, the answer is the stored photo); bigger ones go straight to storage with a
// pre-signed form (POST /images/uploads) and appear once the service has finalised them.

import { ApiError } from "./api.js";
import { $, clone, formatBytes, previewTags } from "./dom.js";
import { descriptionError, parseTags, sniffImageType, titleError } from "./rules.js";

// The API takes photos of up to 4,500,000 bytes in a request body (Lambda's 6 MB payload, in
// base64); below that with room to spare. A stack configured lower answers 413: then the
// photo goes the direct way.
const INLINE_MAX_BYTES = 4_000_000;
const INLINE_MAX_QUERY = 4000;
const CONCURRENT_UPLOADS = 2;
const FINALISE_TIMEOUT_MS = 60_000;
// Answers about the photo's own bytes: sending the same file again can never succeed. Anything
// else (the network, the service busy, an expired sign-in or upload link, a field to correct) may.
const PHOTO_REFUSED_STATUSES = new Set([413, 415, 422]);
const PHOTO_REFUSED_CODES = new Set([
  "invalid_image",
  "image_damaged",
  "content_type_mismatch",
  "invalid_base64",
  "unsupported_media_type",
  "payload_too_large",
  "EntityTooLarge",
]);

export function canNeverSucceed(error) {
  if (error.rejected) return true;
  return PHOTO_REFUSED_STATUSES.has(error.status) || PHOTO_REFUSED_CODES.has(error.code);
}
// A batch that all went well leaves the list this long after it ends (failures stay, to retry).
const CLEAR_AFTER_MS = 4000;
let entryCount = 0;

export class Uploader {
  constructor({ api, auth, maxBytes, onUploaded, onError, onClearError, onDone }) {
    this.api = api;
    this.auth = auth;
    this.maxBytes = maxBytes;
    this.onUploaded = onUploaded;
    this.onError = onError;
    // Forget the uploader's own message in the banner once it is out of date.
    this.onClearError = onClearError ?? (() => {});
    this.onDone = onDone;
    this.entries = [];
    this.running = false;
    this.section = $("#uploader");
    this.input = $("#upload-input");

    $("#upload-hint").textContent = `JPEG, PNG, GIF, WebP or HEIC, up to ${formatBytes(maxBytes)} each.`;
    this.input.addEventListener("change", () => {
      this.addFiles([...this.input.files]);
      this.input.value = "";
    });
    $("#upload-submit").addEventListener("click", () => this.start());
    $("#queue-clear").addEventListener("click", () => this.clear());
    this.setUpDragAndDrop();
  }

  setVisible(visible) {
    this.section.hidden = !visible;
  }

  setUpDragAndDrop() {
    const overlay = $("#drop-overlay");
    let depth = 0;
    const hasFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes("Files");
    window.addEventListener("dragenter", (event) => {
      if (!hasFiles(event)) return;
      depth += 1;
      overlay.hidden = false;
    });
    window.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) overlay.hidden = true;
    });
    window.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = this.section.hidden ? "none" : "copy";
    });
    window.addEventListener("drop", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth = 0;
      overlay.hidden = true;
      if (this.section.hidden) {
        this.onError(new Error("Sign in to upload photos."));
        return;
      }
      this.addFiles([...event.dataTransfer.files]);
    });
  }

  // Refuse what the API would refuse, with the reason, before anything is sent.
  async addFiles(files) {
    if (!files.length) return;
    if (!this.running) this.entries.filter((entry) => entry.state === "done").forEach((entry) => this.removeEntry(entry));
    const problems = [];
    for (const file of files) {
      const type = await sniffImageType(file).catch(() => null);
      if (!type) {
        problems.push(`${file.name} is not a photo this service can store (JPEG, PNG, GIF, WebP or HEIC).`);
      } else if (file.size > this.maxBytes) {
        problems.push(`${file.name} is ${formatBytes(file.size)}; the limit is ${formatBytes(this.maxBytes)}.`);
      } else if (file.size === 0) {
        problems.push(`${file.name} is empty.`);
      } else {
        this.addEntry(file, type);
      }
    }
    if (problems.length === 1) this.onError(new Error(problems[0]));
    else if (problems.length) this.onError(Object.assign(new Error(`${problems.length} files were not added:`), { details: problems }));
    else this.onClearError();
    this.refresh();
    const firstNew = this.entries.find((entry) => entry.state === "ready");
    if (!problems.length && firstNew) firstNew.node.querySelector(".q-title").focus();
  }

  addEntry(file, contentType) {
    const node = clone("queue-template");
    const entry = { file, contentType, node, state: "ready", controller: null };
    const preview = node.querySelector(".queue-preview img");
    entry.previewUrl = URL.createObjectURL(file);
    // A file the browser cannot draw (damaged, or a format it lacks: most browsers cannot draw
    // HEIC, which the service turns into JPEG variants) gets a tile naming its format instead.
    preview.addEventListener("error", () => {
      preview.hidden = true;
      preview.parentElement.dataset.format = contentType.split("/")[1].toUpperCase();
    });
    preview.src = entry.previewUrl;
    node.querySelector(".queue-name").textContent = file.name;
    node.querySelector(".queue-size").textContent = formatBytes(file.size);
    node.querySelector(".q-title").value = file.name.replace(/\.[^.]+$/, "").slice(0, 200);
    // Ids, so that the tags field can name its preview and its error (aria-describedby).
    entryCount += 1;
    const tagsInput = node.querySelector(".q-tags");
    const tagsPreview = node.querySelector(".q-tags-preview");
    tagsPreview.id = `q-tags-preview-${entryCount}`;
    node.querySelector(".q-status").id = `q-status-${entryCount}`;
    tagsInput.setAttribute("aria-describedby", tagsPreview.id);
    tagsInput.addEventListener("input", () => previewTags(tagsInput, tagsPreview));
    for (const field of node.querySelectorAll("input, textarea")) {
      field.addEventListener("input", () => field.removeAttribute("aria-invalid"));
    }
    const remove = node.querySelector(".queue-remove");
    remove.setAttribute("aria-label", `Remove ${file.name} from the upload`);
    remove.addEventListener("click", () => {
      entry.controller?.abort();
      this.removeEntry(entry);
      this.refresh();
    });
    this.entries.push(entry);
    $("#queue").append(node);
  }

  removeEntry(entry) {
    URL.revokeObjectURL(entry.previewUrl);
    entry.node.remove();
    this.entries = this.entries.filter((other) => other !== entry);
  }

  clear() {
    for (const entry of [...this.entries]) {
      entry.controller?.abort();
      this.removeEntry(entry);
    }
    this.refresh();
  }

  // What the upload button would send: new photos and failures worth trying again (a photo the
  // service refused for its bytes is "rejected" and stays out, with its reason, until removed).
  waiting() {
    return this.entries.filter((entry) => entry.state === "ready" || entry.state === "error");
  }

  refresh() {
    const waiting = this.waiting();
    $("#queue-actions").hidden = this.entries.length === 0;
    const submit = $("#upload-submit");
    submit.hidden = !this.running && waiting.length === 0;
    submit.disabled = this.running || waiting.length === 0;
    submit.textContent = this.running
      ? "Uploading…"
      : `Upload ${waiting.length || ""} ${waiting.length === 1 ? "photo" : "photos"}`.replace("  ", " ");
    const done = this.entries.filter((entry) => entry.state === "done").length;
    const failed = this.entries.filter((entry) => entry.state === "error").length;
    const rejected = this.entries.filter((entry) => entry.state === "rejected").length;
    const parts = [];
    if (done) parts.push(`${done} uploaded`);
    if (failed) parts.push(`${failed} failed`);
    if (rejected) parts.push(`${rejected} refused`);
    $("#queue-summary").textContent = parts.join(", ");
    $("#queue-clear").textContent = waiting.length ? "Clear" : "Done";
    $("#queue-clear").disabled = this.running;
  }

  setState(entry, state, text, progress) {
    entry.state = state;
    entry.node.dataset.state = state;
    entry.node.querySelector(".q-status").textContent = text;
    const bar = entry.node.querySelector(".q-progress");
    if (progress === null) bar.removeAttribute("value"); // indeterminate: storage is processing
    else if (progress !== undefined) {
      bar.value = Math.round(progress * 100);
      entry.progress = progress;
    } else if (!bar.hasAttribute("value")) {
      // A failure while processing: the bar stops moving and shows how far the photo got.
      bar.value = Math.round((entry.progress ?? 0) * 100);
    }
    const busy = state === "uploading" || state === "processing" || state === "done" || state === "rejected";
    for (const field of entry.node.querySelectorAll("input, textarea")) field.disabled = busy;
    entry.node.querySelector(".queue-remove").hidden = state === "uploading" || state === "processing";
  }

  async start() {
    const waiting = this.waiting();
    this.onClearError(); // a new attempt: what the banner said about the last one is out of date
    // Every photo's fields first: one mistake stops nothing half-way.
    for (const entry of waiting) {
      const parsed = parseTags(entry.node.querySelector(".q-tags").value);
      const tags = parsed.tags;
      const [field, error] = [
        [".q-title", titleError(entry.node.querySelector(".q-title").value)],
        [".q-description", descriptionError(entry.node.querySelector(".q-description").value)],
        [".q-tags", parsed.error],
      ].find(([, problem]) => problem) ?? [null, null];
      if (error) {
        this.setState(entry, "error", error);
        this.onError(new Error(`${entry.file.name}: ${error}`));
        const input = entry.node.querySelector(field);
        input.setAttribute("aria-invalid", "true");
        const described = `${input.getAttribute("aria-describedby") ?? ""} ${entry.node.querySelector(".q-status").id}`;
        input.setAttribute("aria-describedby", described.trim());
        input.focus();
        return;
      }
      entry.meta = {
        title: entry.node.querySelector(".q-title").value.trim(),
        description: entry.node.querySelector(".q-description").value.trim(),
        tags,
      };
    }
    this.running = true;
    this.refresh();
    const queue = [...waiting];
    const worker = async () => {
      while (queue.length) await this.upload(queue.shift());
    };
    await Promise.all(Array.from({ length: CONCURRENT_UPLOADS }, worker));
    this.running = false;
    this.refresh();
    const done = waiting.filter((entry) => entry.state === "done");
    if (done.length) this.onDone(done.length);
    if (done.length === waiting.length) {
      setTimeout(() => {
        if (this.running) return;
        for (const entry of done) if (this.entries.includes(entry)) this.removeEntry(entry);
        this.refresh();
      }, CLEAR_AFTER_MS);
    }
  }

  async upload(entry) {
    if (!this.entries.includes(entry)) return; // removed while waiting
    entry.controller = new AbortController();
    const { signal } = entry.controller;
    const onProgress = (fraction) => this.setState(entry, "uploading", `Uploading… ${Math.round(fraction * 100)}%`, fraction);
    this.setState(entry, "uploading", "Uploading…", 0);
    try {
      let image = null;
      if (entry.file.size <= INLINE_MAX_BYTES && this.api.inlineQueryLength(entry.meta) <= INLINE_MAX_QUERY) {
        try {
          image = await this.api.uploadInline(entry.file, entry.contentType, entry.meta, { onProgress, signal });
        } catch (error) {
          if (error.status !== 413) throw error; // too big for this stack's request limit: go direct
        }
      }
      image ??= await this.uploadDirect(entry, onProgress, signal);
      this.setState(entry, "done", "Uploaded", 1);
      this.onUploaded(image);
    } catch (error) {
      if (error.name === "AbortError") return;
      this.setState(entry, canNeverSucceed(error) ? "rejected" : "error", error.message);
      this.onError(new Error(`${entry.file.name}: ${error.message}`), error);
    } finally {
      entry.controller = null;
      this.refresh();
    }
  }

  async uploadDirect(entry, onProgress, signal) {
    const started = await this.api.startUpload(entry.contentType, entry.meta);
    if (started.max_bytes && started.max_bytes !== this.maxBytes) this.maxBytes = started.max_bytes;
    if (entry.file.size > started.max_bytes) {
      const message = `The photo is ${formatBytes(entry.file.size)}; the limit is ${formatBytes(started.max_bytes)}.`;
      throw Object.assign(new Error(message), { rejected: true });
    }
    await this.api.sendToStorage(started.upload, entry.file, { onProgress, signal });
    this.setState(entry, "processing", "Processing…", null);
    return this.waitUntilFinalised(started.image_id, signal);
  }

  // The service finalises a direct upload a moment after storage has it (an S3 event). Until
  // then GET /images/{id} answers 404 (the browser's console notes each one); 200 is the stored
  // photo; any other 4xx is the service's reason for refusing it (api/openapi.yaml), shown at
  // once rather than after the timeout.
  async waitUntilFinalised(imageId, signal) {
    const deadline = Date.now() + FINALISE_TIMEOUT_MS;
    let delay = 250;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (signal.aborted) throw new DOMException("cancelled", "AbortError");
      try {
        return await this.api.get(imageId, signal);
      } catch (error) {
        if (error.name === "AbortError") throw error;
        if (error.status >= 400 && error.status < 500 && error.status !== 404 && error.status !== 429) {
          if (error.status === 401 || error.status === 403) throw error;
          throw Object.assign(error, { rejected: true });
        }
        // 404: not finalised yet; the network or a busy service: ask again.
      }
      delay = Math.min(delay * 1.5, 2000);
    }
    throw new ApiError(0, "finalise_timeout", "The photo was sent but the service has not stored it yet. It may still appear in your photos; if not, try again.");
  }
}
