// Small DOM and formatting helpers. User text only ever goes in through textContent and
// attributes, never through innerHTML, so a title cannot inject markup.

import { parseTags } from "./rules.js";

export const $ = (selector, root = document) => root.querySelector(selector);

export function clone(templateId) {
  return document.getElementById(templateId).content.firstElementChild.cloneNode(true);
}

export function el(tag, { className, text, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

const BYTE_UNITS = ["bytes", "KiB", "MiB", "GiB"];

// Binary units, named as such: the API's limits are set in them (25 MiB is 26,214,400 bytes), and
// "25 MB" would say 25,000,000.
export function formatBytes(bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits).replace(/\.0$/, "")} ${BYTE_UNITS[unit]}`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export function formatDate(iso) {
  return dateFormat.format(new Date(iso));
}

export function relativeTime(iso, now = Date.now()) {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const steps = [
    [60, "second"],
    [60, "minute"],
    [24, "hour"],
    [7, "day"],
    [4.35, "week"],
    [12, "month"],
    [Infinity, "year"],
  ];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) {
      return unit === "second" && Math.abs(value) < 45 ? "just now" : relativeFormat.format(Math.round(value), unit);
    }
    value /= size;
  }
  return formatDate(iso);
}

// The one error banner (data-testid="error-banner"): role="alert" makes screen readers say it.
// `source` names who showed the message, so that one part of the page can take back its own
// message once it is out of date (clear("uploader")) without hiding anyone else's.
export const banner = {
  source: null,
  show(message, details = [], source = null) {
    this.source = source;
    $("#banner-text").textContent = message;
    $("#banner-list").replaceChildren(...details.map((detail) => el("li", { text: detail })));
    $("#banner-list").hidden = details.length === 0;
    $("#banner").hidden = false;
  },
  clear(source = null) {
    if (source !== null && source !== this.source) return;
    this.source = null;
    $("#banner").hidden = true;
    $("#banner-text").textContent = "";
    $("#banner-list").replaceChildren();
  },
};

let toastTimer = 0;

export function toast(message) {
  const node = $("#toast");
  node.textContent = message;
  node.hidden = false;
  node.classList.remove("leaving");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    node.classList.add("leaving");
    toastTimer = setTimeout(() => {
      node.hidden = true;
    }, 250);
  }, 3500);
}

// A stable colour per user name, for avatars.
export function hueOf(text) {
  let hash = 0;
  for (const char of text) hash = (hash * 31 + char.codePointAt(0)) % 360;
  return hash;
}

export function isTyping(target) {
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}

// Under a tags field, what will be saved ("#pier #walk"), so that a space that splits a tag in
// two is seen before saving rather than after. The same parseTags as the save and the filter.
export function previewTags(input, output) {
  const { tags, error } = parseTags(input.value);
  output.textContent = error || !tags.length ? "" : `Saved as ${tags.map((tag) => `#${tag}`).join(" ")}`;
}

// An error tied to its field: shown under it, announced with it (aria-describedby), and the
// field marked invalid until it is changed.
export function setFieldError(input, output, message) {
  const ids = (input.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && id !== output.id);
  if (message) {
    output.textContent = message;
    output.hidden = false;
    input.setAttribute("aria-invalid", "true");
    ids.push(output.id);
  } else {
    output.textContent = "";
    output.hidden = true;
    input.removeAttribute("aria-invalid");
  }
  if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
  else input.removeAttribute("aria-describedby");
}
