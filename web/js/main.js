// The gallery's entry point: read config.json, sign in, and show the view the URL names.

import { createApi } from "./api.js";
import { createAuth } from "./auth.js";
import { $, banner, el, hueOf, toast } from "./dom.js";
import { Gallery } from "./gallery.js";
import { navigate, readView } from "./router.js";
import { parseTags, USER_ID } from "./rules.js";
import { Uploader } from "./uploader.js";
import { emptyNode, Viewer } from "./viewer.js";

const DEFAULT_CONFIG = { api_url: "", auth_mode: "none", max_upload_bytes: 25 * 1024 * 1024 };

async function loadConfig() {
  try {
    // The same request as index.html's preload (same URL and mode), so the preloaded answer is used.
    const response = await fetch("config.json");
    if (response.ok) return { ...DEFAULT_CONFIG, ...(await response.json()) };
  } catch {
    // No config.json: the page is served beside the API, in the open mode.
  }
  return DEFAULT_CONFIG;
}

async function main() {
  const config = await loadConfig();
  const auth = createAuth(config);
  const api = createApi(config, auth);

  const showError = (error, source = null) => {
    banner.show(error.message, error.details, source);
    // The API said the token is no good: sign out here too, so the page says what is true.
    if (error.status === 401 && auth.user()) auth.signOut({ expired: true });
  };

  const gallery = new Gallery({
    api,
    onOpen: (index) => viewer.open(index),
    onError: showError,
    describeEmpty,
  });
  const viewer = new Viewer({
    api,
    auth,
    gallery,
    onError: showError,
    onDeleted: (image) => toast(`Deleted “${image.title || "Untitled"}”.`),
  });
  const uploader = new Uploader({
    api,
    auth,
    maxBytes: config.max_upload_bytes,
    onUploaded: (image) => {
      if (!gallery.add(image) && gallery.view) toast(`Uploaded “${image.title || "Untitled"}”; it is in your photos.`);
    },
    onError: (error, cause) => showError(cause?.status === 401 ? cause : error, "uploader"),
    onClearError: () => banner.clear("uploader"),
    onDone: (count) => toast(count === 1 ? "Your photo is uploaded." : `${count} photos uploaded.`),
  });

  function describeEmpty(view) {
    const me = auth.user();
    const choose = () => {
      const button = el("button", { className: "button primary", text: "Choose photos", attrs: { type: "button" } });
      button.addEventListener("click", () => $("#upload-input").click());
      return button;
    };
    if (view.user && view.user === me && !view.tag) {
      const how = matchMedia("(pointer: coarse)").matches
        ? "Choose photos from your device to start."
        : "Drop photos anywhere on this page, or choose them from your device.";
      return emptyNode("Your gallery is empty", how, choose());
    }
    if (view.user && view.tag) {
      return emptyNode("Nothing here yet", `${view.user === me ? "You have" : `${view.user} has`} no photos tagged #${view.tag}.`);
    }
    if (view.tag) return emptyNode("Nothing here yet", `Nobody has shared a photo tagged #${view.tag} yet.`);
    return emptyNode("Nothing here yet", `${view.user} has not shared any photos yet.`);
  }

  function welcomeNode() {
    const start = el("button", { className: "button primary", text: auth.mode === "hosted" ? "Sign in" : "Sign in to start", attrs: { type: "button" } });
    start.addEventListener("click", () => (auth.mode === "hosted" ? auth.signIn() : $("#user-input").focus()));
    const text = config.public_reads === false
      ? "This gallery is private: sign in to see its photos and to add yours."
      : "Sign in to upload photos, tag them, and share them. Or look around: search any tag or person above.";
    return el("div", { className: "state-card welcome" }, [
      el("h2", { text: "Your photos, tagged and easy to find" }),
      el("p", { text }),
      start,
    ]);
  }

  // -- account --------------------------------------------------------------------------

  function renderAccount() {
    const user = auth.user();
    $("#sign-in-form").hidden = Boolean(user);
    $("#signed-in").hidden = !user;
    $("#user-input").hidden = auth.mode === "hosted";
    if (user) {
      const name = auth.name();
      $("#me-name").textContent = name;
      $("#me-avatar").textContent = name.slice(0, 1).toUpperCase();
      $("#me-avatar").style.setProperty("--hue", hueOf(name));
    }
    uploader.setVisible(Boolean(user));
  }

  $("#sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $("#sign-in-form button");
    button.disabled = true;
    try {
      await auth.signIn($("#user-input").value);
      banner.clear();
      $("#user-input").value = "";
    } catch (error) {
      banner.show(error.message);
      $("#user-input").focus();
    } finally {
      button.disabled = false;
    }
  });
  $("#sign-out").addEventListener("click", () => auth.signOut());
  auth.onChange(() => {
    renderAccount();
    route();
  });

  // -- views ----------------------------------------------------------------------------

  function effectiveView() {
    const { user, tag } = readView();
    return { user: user || (tag ? null : auth.user()), tag };
  }

  function route() {
    viewer.close();
    const url = readView();
    const view = effectiveView();
    const me = auth.user();
    $("#filter-user").value = url.user || "";
    $("#filter-tag").value = url.tag || "";
    let title;
    let sub = "";
    if (!view.user && !view.tag) title = "Photos";
    else if (view.user && view.tag) {
      title = `#${view.tag}`;
      sub = view.user === me ? "Only your photos with this tag" : `Only ${view.user}’s photos with this tag`;
    } else if (view.tag) {
      title = `#${view.tag}`;
      sub = "Everyone’s photos with this tag, newest first";
    } else if (view.user === me) {
      title = "Your photos";
      sub = "Newest first";
    } else {
      title = `${view.user}’s photos`;
      sub = "Newest first";
    }
    $("#view-title").textContent = title;
    $("#view-sub").textContent = sub;
    document.title = title === "Photos" ? "Photos" : `${title} · Photos`;
    if ((!view.user && !view.tag) || (config.public_reads === false && !me)) gallery.showMessage(welcomeNode());
    else gallery.show(view);
  }

  $("#filters").addEventListener("submit", (event) => {
    event.preventDefault();
    const user = $("#filter-user").value.trim();
    if (user && !USER_ID.test(user)) {
      banner.show(`“${user}” is not a user name: letters, digits, '.', '_', '@' or '-'.`);
      return;
    }
    // The same rule as the upload and edit forms' tag fields (rules.js parseTags): spaces and
    // commas separate tags. The listing filters by one tag, so two are refused, naming both.
    const typed = $("#filter-tag").value;
    const { tags, error } = parseTags(typed);
    if (error) {
      banner.show(error);
      return;
    }
    if (tags.length > 1) {
      banner.show(`“${typed.trim()}” is ${tags.length} tags (${tags.map((t) => `#${t}`).join(" ")}): show one tag at a time.`);
      return;
    }
    const tag = tags[0] ?? "";
    banner.clear();
    navigate({ user, tag });
  });

  // Links inside the page (tags, owners, home) change the view without a reload; a modified
  // click (new tab) is left to the browser.
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-nav]");
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    banner.clear();
    const target = readView(new URL(link.href).search);
    navigate(target);
    window.scrollTo({ top: 0 });
  });
  window.addEventListener("popstate", route);
  window.addEventListener("gallery:navigate", route);
  $("#banner-close").addEventListener("click", () => banner.clear());

  try {
    await auth.completeHostedSignIn();
  } catch (error) {
    banner.show(error.message);
  }
  renderAccount();
  route();
  document.documentElement.dataset.ready = "true";
}

main().catch((error) => {
  banner.show(`The gallery could not start: ${error.message}`);
});
