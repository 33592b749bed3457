// The grid: one page of thumbnails at a time (GET /images with next_token, newest first), more
// when the end of the grid comes near. Each card loads its THUMBNAIL through a pre-signed URL
// once it nears the viewport; originals are only ever loaded by the viewer.

import { $, clone, el, relativeTime } from "./dom.js";
import { viewHref } from "./router.js";

const PAGE_SIZE = 24;
const SKELETONS = 8;

export class Gallery {
  constructor({ api, onOpen, onError, describeEmpty }) {
    this.api = api;
    this.onOpen = onOpen;
    this.onError = onError;
    this.describeEmpty = describeEmpty;
    this.grid = $("#grid");
    this.state = $("#state");
    this.items = [];
    this.cards = new Map();
    this.thumbnailUrls = new Map();
    this.nextToken = null;
    this.loading = null;
    this.generation = 0;
    this.view = null;

    // Thumbnails of cards on screen load at once; cards just below wait until those are done,
    // so the browser's six connections per host go to what people see first.
    this.thumbnailObserver = new IntersectionObserver((entries) => this.onCardsNear(entries), {
      rootMargin: "0px 0px 600px 0px",
    });
    this.inFlight = { onScreen: 0, ahead: 0 };
    this.waiting = [];
    this.sentinelObserver = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) this.loadMore();
    }, { rootMargin: "800px 0px" });
    this.sentinelObserver.observe($("#sentinel"));
    $("#load-more").addEventListener("click", () => this.loadMore());
  }

  // A new view ({user, tag}): forget the old one, show placeholders, load its first page.
  show(view) {
    this.generation += 1;
    this.controller?.abort();
    this.view = view;
    this.items = [];
    this.cards.clear();
    this.nextToken = null;
    this.forgetThumbnails();
    this.state.hidden = true;
    this.grid.hidden = false;
    this.grid.replaceChildren(...Array.from({ length: SKELETONS }, () => el("li", { className: "card skeleton", attrs: { "aria-hidden": "true" } }, [
      el("span", { className: "thumb-frame" }),
      el("span", { className: "line" }),
      el("span", { className: "line short" }),
    ])));
    this.grid.setAttribute("aria-busy", "true");
    this.setMore({ spinner: false, button: false, end: false });
    return this.fetchPage();
  }

  // A message in place of the grid (the signed-out welcome).
  showMessage(node) {
    this.generation += 1;
    this.forgetThumbnails();
    this.controller?.abort();
    this.view = null;
    this.items = [];
    this.cards.clear();
    this.grid.replaceChildren();
    this.grid.hidden = true;
    this.setMore({ spinner: false, button: false, end: false });
    this.state.replaceChildren(node);
    this.state.hidden = false;
  }

  loadMore() {
    if (!this.view || !this.nextToken || this.loading) return this.loading;
    return this.fetchPage();
  }

  async fetchPage() {
    const generation = this.generation;
    const first = this.items.length === 0;
    this.controller = new AbortController();
    if (!first) this.setMore({ spinner: true, button: false, end: false });
    this.loading = (async () => {
      let page;
      try {
        page = await this.api.list({
          user: this.view.user,
          tag: this.view.tag,
          limit: PAGE_SIZE,
          nextToken: this.nextToken,
          signal: this.controller.signal,
        });
      } catch (error) {
        if (generation !== this.generation || error.name === "AbortError") return;
        if (first) this.showError(error);
        else {
          this.onError(error);
          this.setMore({ spinner: false, button: true, end: false });
        }
        return;
      }
      if (generation !== this.generation) return;
      // Placeholders go; a photo uploaded while the page was on its way stays, in its place.
      for (const skeleton of this.grid.querySelectorAll(".skeleton")) skeleton.remove();
      this.grid.setAttribute("aria-busy", "false");
      const arrived = Date.now();
      for (const image of page.items) {
        // A listing signs each thumbnail's URL: no download call per card while it is valid.
        if (image.thumbnail) {
          this.thumbnailUrls.set(image.image_id, {
            url: image.thumbnail.url,
            expiresAt: arrived + image.thumbnail.expires_in * 1000,
          });
        }
        if (!this.cards.has(image.image_id)) this.insert(image);
      }
      this.loadOnScreenNow();
      this.nextToken = page.next_token;
      this.afterChange();
    })();
    try {
      await this.loading;
    } finally {
      if (generation === this.generation) this.loading = null;
    }
    // A tall screen can show the whole first page with the sentinel still in view: keep going.
    if (generation === this.generation && this.nextToken && this.sentinelNearViewport()) this.loadMore();
  }

  sentinelNearViewport() {
    return $("#sentinel").getBoundingClientRect().top < window.innerHeight + 800;
  }

  setMore({ spinner, button, end }) {
    $("#more-spinner").hidden = !spinner;
    $("#load-more").hidden = !button;
    $("#end").hidden = !end;
  }

  afterChange() {
    const count = this.items.length;
    if (count === 0 && !this.nextToken) {
      this.grid.hidden = true;
      this.state.replaceChildren(this.describeEmpty(this.view));
      this.state.hidden = false;
    } else {
      this.grid.hidden = false;
      this.state.hidden = true;
    }
    this.setMore({ spinner: false, button: Boolean(this.nextToken), end: !this.nextToken && count > PAGE_SIZE });
    $("#grid-status").textContent = count ? `${count}${this.nextToken ? "+" : ""} photos` : "";
  }

  showError(error) {
    this.grid.hidden = true;
    this.grid.setAttribute("aria-busy", "false");
    const retry = el("button", { className: "button primary", text: "Try again", attrs: { type: "button" } });
    retry.addEventListener("click", () => this.show(this.view));
    this.state.replaceChildren(
      el("div", { className: "state-card error" }, [
        el("h2", { text: "These photos could not be loaded" }),
        el("p", { text: error.message }),
        retry,
      ]),
    );
    this.state.hidden = false;
  }

  // -- cards ------------------------------------------------------------------------------

  matches(image) {
    return (
      this.view &&
      (!this.view.user || this.view.user === image.user_id) &&
      (!this.view.tag || image.tags.includes(this.view.tag))
    );
  }

  renderCard(image) {
    const card = clone("card-template");
    card.dataset.imageId = image.image_id;
    const title = image.title || "Untitled";
    const img = card.querySelector(".thumb");
    img.alt = image.title || `Untitled photo by ${image.user_name || image.user_id}`;
    img.width = image.width;
    img.height = image.height;
    img.addEventListener("load", () => card.classList.add("loaded"), { once: true });
    const ownerName = image.user_name || image.user_id;
    card.querySelector(".card-open").setAttribute("aria-label", `Open “${title}” by ${ownerName}`);
    card.querySelector(".card-open").addEventListener("click", () => this.onOpen(this.indexOf(image.image_id)));
    card.querySelector(".card-title").textContent = title;
    card.querySelector(".card-title").classList.toggle("untitled", !image.title);
    const owner = card.querySelector(".owner");
    owner.textContent = ownerName;
    owner.href = viewHref({ user: image.user_id });
    owner.dataset.user = image.user_id;
    const time = card.querySelector("time");
    time.dateTime = image.created_at;
    time.textContent = relativeTime(image.created_at);
    card.querySelector(".chips").replaceChildren(...image.tags.map(tagChip));
    return card;
  }

  // Newest first is by id: ids are time-ordered ULIDs. Pages come newest first, so a page's
  // photos almost always go at the end.
  insert(image) {
    const card = this.renderCard(image);
    let index = this.items.length;
    while (index > 0 && this.items[index - 1].image_id < image.image_id) index -= 1;
    if (index === this.items.length) this.grid.append(card);
    else this.grid.insertBefore(card, this.cards.get(this.items[index].image_id));
    this.items.splice(index, 0, image);
    this.cards.set(image.image_id, card);
    this.watch(card);
  }

  // A photo just uploaded, if it belongs in this view.
  add(image) {
    if (!this.matches(image) || this.cards.has(image.image_id)) return false;
    const last = this.items[this.items.length - 1];
    if (last && last.image_id > image.image_id && this.nextToken) return false; // it comes with a later page
    this.insert(image);
    this.afterChange();
    return true;
  }

  update(image) {
    const index = this.indexOf(image.image_id);
    if (index === -1) return;
    this.items[index] = image;
    const old = this.cards.get(image.image_id);
    const card = this.renderCard(image);
    const src = old.querySelector(".thumb").getAttribute("src");
    if (src) {
      card.querySelector(".thumb").src = src;
      card.classList.add("loaded");
    } else this.watch(card);
    old.replaceWith(card);
    this.cards.set(image.image_id, card);
  }

  remove(imageId) {
    const index = this.indexOf(imageId);
    if (index === -1) return;
    this.items.splice(index, 1);
    this.cards.get(imageId).remove();
    this.cards.delete(imageId);
    this.afterChange();
  }

  indexOf(imageId) {
    return this.items.findIndex((item) => item.image_id === imageId);
  }

  focusCard(imageId) {
    this.cards.get(imageId)?.querySelector(".card-open").focus();
  }

  // -- thumbnails -------------------------------------------------------------------------

  watch(card) {
    this.thumbnailObserver.observe(card);
  }

  forgetThumbnails() {
    this.thumbnailObserver.disconnect();
    this.waiting = [];
    this.inFlight = { onScreen: 0, ahead: 0 };
  }

  // The cards on screen ask for their thumbnails now, without waiting a frame for the observer.
  loadOnScreenNow() {
    for (const card of this.cards.values()) {
      if (card.dataset.thumbnail) continue;
      const { top, bottom } = card.getBoundingClientRect();
      if (top < window.innerHeight && bottom > 0) {
        this.thumbnailObserver.unobserve(card);
        this.loadThumbnail(card, "onScreen");
      }
    }
  }

  onCardsNear(entries) {
    for (const entry of entries) {
      if (!entry.isIntersecting || entry.target.dataset.thumbnail) continue;
      this.thumbnailObserver.unobserve(entry.target);
      const { top, bottom } = entry.boundingClientRect;
      if (top < window.innerHeight && bottom > 0) this.loadThumbnail(entry.target, "onScreen");
      else this.waiting.push(entry.target);
    }
    this.drainWaiting();
  }

  drainWaiting() {
    while (this.inFlight.onScreen === 0 && this.inFlight.ahead < 4 && this.waiting.length) {
      const card = this.waiting.shift();
      if (!card.dataset.thumbnail) this.loadThumbnail(card, "ahead");
    }
  }

  // The pre-signed URL, reused while it is valid so the browser's cache answers a second visit.
  async thumbnailUrl(image) {
    const cached = this.thumbnailUrls.get(image.image_id);
    if (cached && cached.expiresAt > Date.now() + 10_000) return cached.url;
    // A photo stored before thumbnails existed has only its original.
    const variant = image.variants?.includes("thumbnail") ? "thumbnail" : "original";
    const answer = await this.api.downloadUrl(image.image_id, variant);
    this.thumbnailUrls.set(image.image_id, { url: answer.url, expiresAt: Date.now() + answer.expires_in * 1000 });
    return answer.url;
  }

  async loadThumbnail(card, kind) {
    const image = this.items[this.indexOf(card.dataset.imageId)];
    if (!image) return;
    const img = card.querySelector(".thumb");
    const generation = this.generation;
    card.dataset.thumbnail = kind;
    this.inFlight[kind] += 1;
    let done = false;
    const settled = () => {
      if (done || generation !== this.generation) return;
      done = true;
      this.inFlight[kind] -= 1;
      this.drainWaiting();
    };
    img.addEventListener("load", settled, { once: true });
    img.addEventListener("error", () => {
      card.classList.add("broken");
      settled();
    }, { once: true });
    try {
      img.src = await this.thumbnailUrl(image);
    } catch {
      card.classList.add("broken");
      settled();
    }
  }

  cachedThumbnail(imageId) {
    return this.cards.get(imageId)?.querySelector(".thumb").getAttribute("src") || null;
  }
}

export function tagChip(tag) {
  const link = el("a", {
    className: "chip",
    text: `#${tag}`,
    attrs: { href: viewHref({ tag }), "data-testid": "tag-chip", "data-tag": tag, "data-nav": "tag" },
  });
  return el("li", {}, [link]);
}
