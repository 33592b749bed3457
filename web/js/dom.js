// Small DOM and formatting helpers. User text only ever goes in through textContent and
// attributes, never through innerHTML, so a title cannot inject markup.

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

const BYTE_UNITS = ["bytes", "KB", "MB", "GB"];

// Binary units, as the API's limits are set (25 MiB shows as "25 MB", not "26.2 MB").
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
export const banner = {
  show(message, details = []) {
    $("#banner-text").textContent = message;
    $("#banner-list").replaceChildren(...details.map((detail) => el("li", { text: detail })));
    $("#banner-list").hidden = details.length === 0;
    $("#banner").hidden = false;
  },
  clear() {
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
