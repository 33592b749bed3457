// Who is signed in. Three ways, chosen by config.json:
//   open mode (auth_mode "none"): a user name, trusted by the API as the owner;
//   local Cognito emulation (auth_mode "cognito" + token_url): a user name exchanged for an ID
//     token, exactly as `make token` does;
//   deployed (auth_mode "cognito" + cognito.domain): Cognito's hosted sign-in page with the
//     authorization code flow and PKCE (a browser cannot keep a client secret).

import { USER_ID } from "./rules.js";

const SESSION_KEY = "gallery.session";
const PKCE_KEY = "gallery.pkce";

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(size) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

function claimsOf(token) {
  const payload = token.split(".")[1] || "";
  const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(payload.length / 4) * 4, "="));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
}

export class SignInError extends Error {}

const SIGN_IN_FAILED = "Sign-in failed. Please try again.";
// OAuth's error codes (RFC 6749, 4.1.2.1) that people cause themselves, in our words.
const HOSTED_ERRORS = {
  access_denied: "Sign-in was cancelled.",
  login_required: "Sign-in was cancelled.",
  temporarily_unavailable: "The sign-in service is busy. Please try again in a moment.",
  server_error: "The sign-in service had a problem. Please try again.",
};

export function createAuth(config) {
  const mode = config.auth_mode !== "cognito" ? "open" : config.cognito?.domain ? "hosted" : "token";
  const listeners = new Set();
  let session = load();

  function load() {
    try {
      const saved = JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
      if (!saved || saved.mode !== mode) return null;
      if (saved.expiresAt && saved.expiresAt < Date.now() + 30_000) return null;
      return saved;
    } catch {
      return null;
    }
  }

  function save(next) {
    session = next;
    if (next) localStorage.setItem(SESSION_KEY, JSON.stringify(next));
    else localStorage.removeItem(SESSION_KEY);
    for (const listener of listeners) listener(session);
  }

  function fromToken(idToken) {
    const claims = claimsOf(idToken);
    // The API owns photos by the account's sub (never reassigned); the user name is for people.
    const user = claims.sub;
    const name = claims["cognito:username"] || claims.username || user;
    if (!user) throw new SignInError("The sign-in answer named no user.");
    return { mode, user, name, token: idToken, expiresAt: claims.exp * 1000 };
  }

  const redirectUri = () => config.cognito?.redirect_uri || `${location.origin}${location.pathname}`;

  async function signInWithName(name) {
    const user = name.trim();
    if (!USER_ID.test(user)) {
      throw new SignInError(
        "A user name is 1–64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit.",
      );
    }
    if (mode === "open") {
      save({ mode, user, token: null, expiresAt: null });
      return;
    }
    let response;
    try {
      response = await fetch(new URL(config.token_url, location.href), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username: user }),
      });
    } catch {
      throw new SignInError("Could not reach the sign-in service. Is the local mode running?");
    }
    const body = await response.json().catch(() => null);
    if (!response.ok || !body?.id_token) throw new SignInError(body?.message || "Sign-in was refused.");
    save(fromToken(body.id_token));
  }

  async function beginHostedSignIn() {
    const verifier = randomString(48);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    const state = randomString(24);
    sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, returnTo: location.search }));
    const url = new URL(`${config.cognito.domain}/oauth2/authorize`);
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: config.cognito.client_id,
      redirect_uri: redirectUri(),
      scope: "openid email profile",
      state,
      code_challenge: base64url(digest),
      code_challenge_method: "S256",
    }).toString();
    location.assign(url.toString());
  }

  // Back from the hosted page with ?code=&state= (or ?error=): trade the code for tokens.
  async function completeHostedSignIn() {
    const params = new URLSearchParams(location.search);
    if (mode !== "hosted" || !(params.has("code") || params.has("error"))) return;
    let saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
    } catch {
      saved = null;
    }
    sessionStorage.removeItem(PKCE_KEY);
    // The state first, before anything in the URL is believed: a link anyone can craft
    // (/?error=x&error_description=any text) must not put its words on our page.
    const ours = Boolean(saved?.state) && saved.state === params.get("state");
    history.replaceState(null, "", location.pathname + (ours ? saved.returnTo || "" : ""));
    if (!ours) throw new SignInError(SIGN_IN_FAILED);
    // Even from our own flow, only the error's code is used, to pick one of our own sentences.
    if (params.has("error")) throw new SignInError(HOSTED_ERRORS[params.get("error")] || SIGN_IN_FAILED);
    let response;
    try {
      response = await fetch(`${config.cognito.domain}/oauth2/token`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          client_id: config.cognito.client_id,
          code: params.get("code"),
          redirect_uri: redirectUri(),
          code_verifier: saved.verifier,
        }),
      });
    } catch {
      throw new SignInError("Could not reach the sign-in service.");
    }
    const body = await response.json().catch(() => null);
    if (!response.ok || !body?.id_token) throw new SignInError("Sign-in failed. Please try again.");
    save(fromToken(body.id_token));
  }

  return {
    mode,
    // The owner id the API knows (Cognito: the sub) and the name to show (the user name).
    user: () => session?.user ?? null,
    name: () => session?.name ?? session?.user ?? null,
    token: () => session?.token ?? null,
    onChange: (listener) => listeners.add(listener),
    signIn: (name) => (mode === "hosted" ? beginHostedSignIn() : signInWithName(name)),
    completeHostedSignIn,
    // Forget the session here; after a hosted sign-in, end Cognito's session too.
    signOut({ expired = false } = {}) {
      save(null);
      if (mode === "hosted" && !expired) {
        const url = new URL(`${config.cognito.domain}/logout`);
        url.search = new URLSearchParams({ client_id: config.cognito.client_id, logout_uri: redirectUri() }).toString();
        location.assign(url.toString());
      }
    },
  };
}
