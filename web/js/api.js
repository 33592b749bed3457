// The image service's public API, as any client sees it (api/openapi.yaml). Reads are public;
// writes carry the signed-in user's ID token when the service asks for one (AUTH_MODE=cognito).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const NETWORK_MESSAGE = "Could not reach the image service. Check your connection and try again.";

function errorFrom(status, body) {
  if (status === 401) return new ApiError(401, "UNAUTHORIZED", "Your sign-in has expired. Please sign in again.");
  const message = body && typeof body.message === "string" ? body.message : `The image service answered ${status}.`;
  return new ApiError(status, (body && body.code) || `http_${status}`, message);
}

function parseJson(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

// An XMLHttpRequest, because only it reports upload progress (fetch cannot, yet).
function send({ method, url, headers = {}, body, onProgress, signal }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    if (onProgress) {
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      });
    }
    xhr.addEventListener("load", () => resolve({ status: xhr.status, text: xhr.responseText }));
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", NETWORK_MESSAGE)));
    xhr.addEventListener("abort", () => reject(new DOMException("cancelled", "AbortError")));
    signal?.addEventListener("abort", () => xhr.abort());
    xhr.send(body);
  });
}

// S3 answers a refused POST with XML: <Error><Code>EntityTooLarge</Code><Message>...</Message></Error>.
function storageError(status, text) {
  const xml = new DOMParser().parseFromString(text || "<Error/>", "application/xml");
  const code = xml.querySelector("Code")?.textContent || `http_${status}`;
  if (code === "EntityTooLarge") return new ApiError(status, code, "The photo is larger than storage accepts.");
  if (code === "AccessDenied" || code === "ExpiredToken") {
    return new ApiError(status, code, "The upload link expired before the photo was sent. Please try again.");
  }
  const message = xml.querySelector("Message")?.textContent || `Storage refused the photo (${status}).`;
  return new ApiError(status, code, message);
}

export function createApi(config, auth) {
  const base = new URL((config.api_url || "").replace(/\/+$/, "") + "/", location.href);
  const urlOf = (path, query = {}) => {
    const url = new URL(path.replace(/^\//, ""), base);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
    }
    return url;
  };
  // Open mode: the API takes the owner from the body; with tokens it comes from the token.
  const owner = () => (config.auth_mode === "none" ? { user_id: auth.user() } : {});
  const authHeaders = () => {
    const token = auth.token();
    return token ? { Authorization: `Bearer ${token}` } : {};
  };

  // A private gallery (the stack's PublicReads=false) wants the token on reads as well; otherwise
  // reads go without it, so a browser on another origin needs no CORS preflight for them.
  const privateReads = config.public_reads === false;

  // ``ifMatch``: the photo's ETag as the caller last read it (a 412 if it changed since);
  // ``tagged``: answer ``{ body, etag }`` instead of the body alone.
  async function request(method, path, { query, json, write = false, signal, ifMatch, tagged = false } = {}) {
    const headers = { Accept: "application/json", ...(write || privateReads ? authHeaders() : {}) };
    if (ifMatch) headers["If-Match"] = ifMatch;
    if (json !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(urlOf(path, query), {
        method,
        headers,
        body: json === undefined ? undefined : JSON.stringify(json),
        signal,
        cache: "no-store",
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, "network", NETWORK_MESSAGE);
    }
    const body = parseJson(await response.text());
    if (!response.ok) throw errorFrom(response.status, body);
    return tagged ? { body, etag: response.headers.get("ETag") } : body;
  }

  return {
    list: ({ user, tag, limit, nextToken, signal }) =>
      request("GET", "/images", { query: { user_id: user, tag, limit, next_token: nextToken }, signal }),
    get: (id, signal) => request("GET", `/images/${encodeURIComponent(id)}`, { signal }),
    // The image and its ETag (the state an edit or delete then names in If-Match).
    getTagged: async (id, signal) => {
      const { body, etag } = await request("GET", `/images/${encodeURIComponent(id)}`, { signal, tagged: true });
      return { image: body, etag };
    },
    downloadUrl: (id, variant = "original", signal) =>
      request("GET", `/images/${encodeURIComponent(id)}/download`, {
        query: variant === "original" ? {} : { variant },
        signal,
      }),
    // With an ETag, only if nobody changed the photo since (else ApiError 412 precondition_failed).
    edit: async (id, fields, etag) => {
      const answer = await request("PATCH", `/images/${encodeURIComponent(id)}`, {
        json: fields,
        write: true,
        ifMatch: etag,
        tagged: true,
      });
      return { image: answer.body, etag: answer.etag };
    },
    remove: (id, etag) => request("DELETE", `/images/${encodeURIComponent(id)}`, { write: true, ifMatch: etag }),

    // POST /images with the photo itself as the body (up to the API's 4.5 MB): one request,
    // and the answer is the stored image or the reason it was refused.
    async uploadInline(file, contentType, meta, { onProgress, signal } = {}) {
      const query = { ...owner(), title: meta.title, description: meta.description, tags: meta.tags.join(",") };
      const { status, text } = await send({
        method: "POST",
        url: urlOf("/images", query),
        headers: { "Content-Type": contentType, Accept: "application/json", ...authHeaders() },
        body: file,
        onProgress,
        signal,
      });
      const body = parseJson(text);
      if (status !== 201) throw errorFrom(status, body);
      return body;
    },

    // POST /images/uploads, then the photo straight to storage with the pre-signed form.
    async startUpload(contentType, meta) {
      return request("POST", "/images/uploads", {
        json: { ...owner(), ...meta, content_type: contentType },
        write: true,
      });
    },

    async sendToStorage(upload, file, { onProgress, signal } = {}) {
      const form = new FormData();
      for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
      form.append("file", file); // last: S3 ignores fields after the file
      const { status, text } = await send({ method: "POST", url: upload.url, body: form, onProgress, signal });
      if (status < 200 || status >= 300) throw storageError(status, text);
    },

    inlineQueryLength(meta) {
      return urlOf("/images", { ...owner(), ...meta, tags: meta.tags.join(",") }).search.length;
    },
  };
}
