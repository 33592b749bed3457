// The API's input rules, checked in the page too so people see a mistake before an upload starts.
// The API stays the judge: whatever it refuses is shown as it says.

export const USER_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
// Letters, combining marks and digits of any script, "_" and "-", starting with a letter or digit:
// the API's rule, the same source text as its TAG_PATTERN (tests/unit/test_hashtags.py runs this).
export const TAG = /^[\p{L}\p{N}][\p{L}\p{M}\p{N}_-]{0,39}$/u;
export const MAX_TAGS = 10;
export const MAX_TITLE = 200;
export const MAX_DESCRIPTION = 2000;

// What the API accepts, and how to recognise each from its first bytes (file names and the
// browser's guessed type can lie; the API compares the bytes with the declared type).
export const FORMATS = {
  "image/jpeg": (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  "image/png": (b) => [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((v, i) => b[i] === v),
  "image/gif": (b) => String.fromCharCode(...b.slice(0, 4)) === "GIF8",
  "image/webp": (b) => String.fromCharCode(...b.slice(0, 4)) === "RIFF" && String.fromCharCode(...b.slice(8, 12)) === "WEBP",
  "image/heic": (b) => heifType(b) === "image/heic",
  "image/heif": (b) => heifType(b) === "image/heif",
};

// HEIF (iPhone photos) as the API reads it (layers/imaging/image_service/heif.py): an ftyp box
// whose major brand is an HEVC one is image/heic; a codec-neutral major brand (mif1, msf1) with
// an HEVC brand among the compatible ones is image/heif; AVIF and other codecs are neither.
const HEVC_BRANDS = ["heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs"];
export function heifType(b) {
  const text = (from, to) => String.fromCharCode(...b.slice(from, to));
  if (b.length < 16 || text(4, 8) !== "ftyp") return null;
  const major = text(8, 12);
  if (HEVC_BRANDS.includes(major)) return "image/heic";
  if (major !== "mif1" && major !== "msf1") return null;
  const size = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  const end = Math.min(Math.max(size, 16), b.length);
  for (let at = 16; at + 4 <= end; at += 4) {
    if (HEVC_BRANDS.includes(text(at, at + 4))) return "image/heif";
  }
  return null;
}

export async function sniffImageType(file) {
  const head = new Uint8Array(await file.slice(0, 64).arrayBuffer());
  for (const [type, matches] of Object.entries(FORMATS)) {
    if (head.length >= 12 && matches(head)) return type;
  }
  return null;
}

// Trim, NFC, case-fold, NFC (as the API does). JavaScript has no case folding: upper- then
// lower-casing gives the same for what matters here ("ß" -> "ss", "İ" -> "i̇"), and the final
// sigma (which lower-casing puts back at the end of a word) is folded to "σ" as case folding does.
export function normalizeTag(raw) {
  const folded = raw.trim().replace(/^#+/, "").normalize("NFC").toUpperCase().toLowerCase();
  return folded.replace(/ς/g, "σ").normalize("NFC");
}

// "Beach, #sunset  beach" -> {tags: ["beach", "sunset"], error: null}
export function parseTags(text) {
  const tags = [];
  for (const part of text.split(/[\s,]+/)) {
    const tag = normalizeTag(part);
    if (!tag) continue;
    if (!TAG.test(tag)) {
      return { tags, error: `"${part.trim()}" is not a valid tag: use letters, digits, "_" or "-" (at most 40).` };
    }
    if (!tags.includes(tag)) tags.push(tag);
  }
  if (tags.length > MAX_TAGS) return { tags, error: `At most ${MAX_TAGS} tags per photo.` };
  return { tags, error: null };
}

export function isValidTag(tag) {
  return TAG.test(tag);
}

// A title or description as the API checks it (validation.py): trimmed, at most MAX_* characters
// (code points, as Python counts them), no control characters, no bidirectional overrides (they
// can make text display as something else); a description may keep its line breaks and tabs.
const BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069";
const FORBIDDEN_IN_TEXT = new RegExp(`[\\p{Cc}\\p{Cs}\\p{Zl}\\p{Zp}${BIDI_CONTROLS}]`, "u");
const LINE_BREAKS = /[\n\t\u2028\u2029]/g;

function textError(name, text, max, keep) {
  const value = text.trim();
  if ([...value].length > max) return `The ${name} must be at most ${max} characters.`;
  if (FORBIDDEN_IN_TEXT.test(keep ? value.replace(keep, "") : value)) {
    return `The ${name} must not contain control characters or direction overrides.`;
  }
  return null;
}

export function titleError(text) {
  return textError("title", text, MAX_TITLE, null);
}

export function descriptionError(text) {
  return textError("description", text, MAX_DESCRIPTION, LINE_BREAKS);
}
