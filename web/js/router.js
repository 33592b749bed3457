// The view lives in the URL: /?user=ID&tag=TAG, so a link or a reload shows the same photos.
// "/" alone is home: the signed-in user's photos.

export function readView(search = location.search) {
  const params = new URLSearchParams(search);
  return { user: params.get("user") || null, tag: params.get("tag") || null };
}

export function viewHref({ user = null, tag = null } = {}) {
  const params = new URLSearchParams();
  if (user) params.set("user", user);
  if (tag) params.set("tag", tag);
  const query = params.toString();
  return `${location.pathname}${query ? `?${query}` : ""}`;
}

export function navigate(view, { replace = false } = {}) {
  const href = viewHref(view);
  if (href === `${location.pathname}${location.search}`) {
    window.dispatchEvent(new Event("gallery:navigate"));
    return;
  }
  history[replace ? "replaceState" : "pushState"](null, "", href);
  window.dispatchEvent(new Event("gallery:navigate"));
}
