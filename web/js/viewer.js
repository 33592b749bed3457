// One photo, large (its display variant, longest side 1600 px, with a link to the original), with
// everything known about it. Arrow keys move through the grid's photos, Esc closes. The owner
// edits title, description and tags in place and deletes after a confirmation; nobody else is
// shown those controls (and the API refuses them anyway). Edits and deletes name the ETag the
// viewer read (If-Match): if someone else changed the photo first, nothing is lost silently.

import { $, el, formatBytes, formatDate, isTyping, previewTags, setFieldError } from "./dom.js";
import { tagChip } from "./gallery.js";
import { viewHref } from "./router.js";
import { descriptionError, parseTags, titleError } from "./rules.js";

const EDIT_FIELDS = ["title", "description", "tags"];
const CHANGED_WHILE_EDITING =
  "Someone else changed this photo while you were editing; it now shows their version. Your changes " +
  "were not saved and are still in the form: save again to replace theirs, or cancel to keep them.";
const CHANGED_BEFORE_DELETE =
  "Someone else changed this photo since you opened it, so it was not deleted. It now shows their " +
  "version: delete it again if you still want to.";

const sameText = (a, b) =>
  a.title === b.title && a.description === b.description && a.tags.join("\n") === b.tags.join("\n");

// Which field of the edit form an API error is about: its code, and for the text fields the
// field the message names ("title must be at most 200 characters").
function fieldOf(error) {
  if (error.code === "invalid_tag" || error.code === "too_many_tags") return "tags";
  if (error.code === "invalid_field") return EDIT_FIELDS.find((field) => error.message.startsWith(field)) ?? null;
  return null;
}

export class Viewer {
  constructor({ api, auth, gallery, onError, onDeleted }) {
    this.api = api;
    this.auth = auth;
    this.gallery = gallery;
    this.onError = onError;
    this.onDeleted = onDeleted;
    this.dialog = $("#viewer");
    this.index = -1;
    this.renderCount = 0;
    this.state = Promise.resolve(null); // {image, etag} of the photo shown, as last read

    $("#viewer-close").addEventListener("click", () => this.close());
    $("#viewer-prev").addEventListener("click", () => this.move(-1));
    $("#viewer-next").addEventListener("click", () => this.move(1));
    $("#edit-button").addEventListener("click", () => this.startEdit());
    $("#edit-cancel").addEventListener("click", () => this.stopEdit());
    $("#edit-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.saveEdit();
    });
    for (const field of EDIT_FIELDS) {
      $(`#edit-${field}`).addEventListener("input", () => {
        this.setEditError(field, null);
        if (field === "tags") previewTags($("#edit-tags"), $("#edit-tags-preview"));
      });
    }
    $("#delete-button").addEventListener("click", () => this.askDelete(true));
    $("#confirm-cancel").addEventListener("click", () => this.askDelete(false));
    $("#confirm-delete").addEventListener("click", () => this.confirmDelete());
    this.dialog.addEventListener("keydown", (event) => this.onKey(event));
    // Esc: leave the edit form or the confirmation first, then the viewer.
    this.dialog.addEventListener("cancel", (event) => {
      if (!$("#edit-form").hidden || !$("#confirm").hidden) {
        event.preventDefault();
        this.stopEdit();
        this.askDelete(false);
      }
    });
    this.dialog.addEventListener("close", () => {
      const image = this.current();
      this.index = -1;
      $("#viewer-image").removeAttribute("src");
      if (image) this.gallery.focusCard(image.image_id);
    });
    // A click on the dark backdrop (outside the dialog's box) closes it, as people expect.
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.close();
    });
  }

  current() {
    return this.index >= 0 ? this.gallery.items[this.index] : null;
  }

  isOpen() {
    return this.dialog.open;
  }

  open(index) {
    if (index < 0) return;
    this.index = index;
    this.render();
    if (!this.dialog.open) this.dialog.showModal();
    $("#viewer-close").focus();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  async move(step) {
    let target = this.index + step;
    if (target >= this.gallery.items.length && this.gallery.nextToken) {
      await this.gallery.loadMore();
    }
    target = Math.max(0, Math.min(target, this.gallery.items.length - 1));
    if (target !== this.index) {
      this.index = target;
      this.render();
    }
  }

  onKey(event) {
    if (isTyping(event.target) || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "ArrowRight") {
      event.preventDefault();
      this.move(1);
    } else if (event.key === "ArrowLeft") {
      event.preventDefault();
      this.move(-1);
    }
  }

  isMine(image) {
    return Boolean(this.auth.user()) && this.auth.user() === image.user_id;
  }

  showText(image) {
    $("#viewer-title").textContent = image.title || "Untitled";
    $("#viewer-title").classList.toggle("untitled", !image.title);
    $("#viewer-description").textContent = image.description;
    $("#viewer-description").hidden = !image.description;
    $("#viewer-tags").replaceChildren(...image.tags.map(tagChip));
    $("#viewer-tags").hidden = image.tags.length === 0;
  }

  // Read the photo again: its ETag (what an edit or delete names in If-Match) and its latest
  // text, shown at once if someone changed it after the grid was loaded.
  refresh(imageId, renderId) {
    this.state = this.api.getTagged(imageId).catch(() => null);
    return this.state.then((fresh) => {
      if (!fresh || renderId !== this.renderCount) return;
      const shown = this.current();
      if (shown && shown.image_id === imageId && !sameText(shown, fresh.image)) {
        this.gallery.update(fresh.image);
        this.showText(fresh.image);
      }
    });
  }

  render() {
    const image = this.current();
    if (!image) return;
    const renderId = ++this.renderCount;
    this.stopEdit();
    this.askDelete(false);
    this.showText(image);
    const owner = $("#viewer-owner");
    owner.textContent = image.user_name || image.user_id;
    owner.href = viewHref({ user: image.user_id });
    owner.dataset.user = image.user_id;
    $("#viewer-date").textContent = formatDate(image.created_at);
    $("#viewer-dimensions").textContent = `${image.width} × ${image.height} px`;
    $("#viewer-size").textContent = `${formatBytes(image.size_bytes)} · ${image.content_type.replace("image/", "").toUpperCase()}`;
    $("#viewer-privacy").hidden = !image.location_removed;
    const mine = this.isMine(image);
    $("#edit-button").hidden = !mine;
    $("#delete-button").hidden = !mine;
    $("#viewer-prev").disabled = this.index <= 0;
    $("#viewer-next").disabled = this.index >= this.gallery.items.length - 1 && !this.gallery.nextToken;

    // The thumbnail the grid already has shows at once, blurred, until the original arrives.
    const img = $("#viewer-image");
    img.alt = image.title || `Untitled photo by ${image.user_name || image.user_id}`;
    img.width = image.width;
    img.height = image.height;
    // On a phone the stage takes the photo's shape (styles.css), so it needs no black bars.
    $("#viewer-stage").style.setProperty("--ratio", `${image.width} / ${image.height}`);
    const placeholder = this.gallery.cachedThumbnail(image.image_id);
    img.classList.toggle("placeholder", Boolean(placeholder));
    if (placeholder) img.src = placeholder;
    else img.removeAttribute("src");
    $("#viewer-spinner").hidden = false;
    $("#viewer-original").removeAttribute("href");
    this.refresh(image.image_id, renderId);
    // The display variant (a few hundred KB) rather than the original (often several MB); photos
    // stored before display variants existed show their original. The link stays the original.
    const original = this.api.downloadUrl(image.image_id, "original");
    const shown = image.variants?.includes("display") ? this.api.downloadUrl(image.image_id, "display") : original;
    original
      .then((answer) => {
        if (renderId === this.renderCount) $("#viewer-original").href = answer.url;
      })
      .catch(() => {}); // the photo's own request below reports the failure
    shown
      .then((answer) => {
        if (renderId !== this.renderCount) return;
        const full = new Image();
        full.addEventListener("load", () => {
          if (renderId !== this.renderCount) return;
          img.src = answer.url;
          img.classList.remove("placeholder");
          $("#viewer-spinner").hidden = true;
        });
        full.addEventListener("error", () => {
          if (renderId !== this.renderCount) return;
          $("#viewer-spinner").hidden = true;
          this.onError(new Error("The full-size photo could not be loaded."));
        });
        full.src = answer.url;
      })
      .catch((error) => {
        if (renderId !== this.renderCount) return;
        $("#viewer-spinner").hidden = true;
        this.onError(error);
      });
  }

  // -- edit -------------------------------------------------------------------------------

  async startEdit() {
    await this.state; // the text the ETag belongs to, if it changed since the grid was loaded
    const image = this.current();
    if (!image) return;
    this.askDelete(false);
    $("#edit-title").value = image.title;
    $("#edit-description").value = image.description;
    $("#edit-tags").value = image.tags.join(", ");
    previewTags($("#edit-tags"), $("#edit-tags-preview"));
    this.clearEditErrors();
    $("#viewer-details").hidden = true;
    $("#edit-form").hidden = false;
    $("#edit-title").focus();
  }

  stopEdit() {
    const wasEditing = !$("#edit-form").hidden;
    $("#edit-form").hidden = true;
    $("#viewer-details").hidden = false;
    if (wasEditing && this.dialog.open) $("#edit-button").focus();
  }

  setEditError(field, message) {
    setFieldError($(`#edit-${field}`), $(`#edit-${field}-error`), message);
  }

  clearEditErrors() {
    for (const field of EDIT_FIELDS) this.setEditError(field, null);
    $("#edit-error").hidden = true;
    $("#edit-error").textContent = "";
  }

  async saveEdit() {
    const image = this.current();
    this.clearEditErrors();
    const { tags, error } = parseTags($("#edit-tags").value);
    const problems = {
      title: titleError($("#edit-title").value),
      description: descriptionError($("#edit-description").value),
      tags: error,
    };
    const wrong = EDIT_FIELDS.filter((field) => problems[field]);
    for (const field of wrong) this.setEditError(field, problems[field]);
    if (wrong.length) {
      $(`#edit-${wrong[0]}`).focus();
      return;
    }
    const save = $("#edit-save");
    save.disabled = true;
    try {
      const read = await this.state;
      const { image: updated } = await this.api.edit(
        image.image_id,
        { title: $("#edit-title").value.trim(), description: $("#edit-description").value.trim(), tags },
        read?.image.image_id === image.image_id ? read.etag : undefined,
      );
      this.gallery.update(updated);
      this.render();
      $("#edit-button").focus();
    } catch (failure) {
      const field = fieldOf(failure);
      if (failure.code === "precondition_failed") {
        // Theirs is shown (behind the form) and its ETag kept: saving again replaces it knowingly.
        await this.refresh(image.image_id, this.renderCount);
        $("#edit-error").textContent = CHANGED_WHILE_EDITING;
        $("#edit-error").hidden = false;
      } else if (field) {
        this.setEditError(field, failure.message);
        $(`#edit-${field}`).focus();
      } else {
        $("#edit-error").textContent = failure.message;
        $("#edit-error").hidden = false;
        this.onError(failure);
      }
    } finally {
      save.disabled = false;
    }
  }

  // -- delete -----------------------------------------------------------------------------

  askDelete(show) {
    const confirm = $("#confirm");
    const wasShown = !confirm.hidden;
    confirm.hidden = !show;
    $("#delete-button").setAttribute("aria-expanded", String(show));
    if (show) {
      const image = this.current();
      $("#confirm-text").textContent = `Delete “${image.title || "Untitled"}” for good? This cannot be undone.`;
      $("#confirm-cancel").focus();
    } else if (wasShown && this.dialog.open && !$("#delete-button").hidden) {
      $("#delete-button").focus();
    }
  }

  async confirmDelete() {
    const image = this.current();
    const button = $("#confirm-delete");
    button.disabled = true;
    try {
      const read = await this.state;
      await this.api.remove(image.image_id, read?.image.image_id === image.image_id ? read.etag : undefined);
    } catch (error) {
      if (error.code === "precondition_failed") {
        await this.refresh(image.image_id, this.renderCount);
        this.askDelete(false);
        this.onError(new Error(CHANGED_BEFORE_DELETE));
        return;
      }
      // Gone already (another tab, another device): the goal is reached all the same.
      if (error.status !== 404) {
        this.onError(error);
        return;
      }
    } finally {
      button.disabled = false;
    }
    const index = this.index;
    this.gallery.remove(image.image_id);
    this.onDeleted(image);
    if (this.gallery.items.length === 0) {
      this.index = -1;
      this.close();
    } else {
      this.index = Math.min(index, this.gallery.items.length - 1);
      this.render();
      $("#viewer-close").focus();
    }
  }
}

export function emptyNode(title, text, action) {
  return el("div", { className: "state-card" }, [el("h2", { text: title }), el("p", { text }), ...(action ? [action] : [])]);
}
