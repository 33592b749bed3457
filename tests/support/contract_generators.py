"""Hypothesis strategies for requests near the spec's edges, and real images to put in them.

The schema-driven generators (schemathesis) rarely hit what a client actually gets wrong:
a limit plus one, surrounding whitespace, upper case, a decomposed accent, a trailing newline.
These strategies start from a valid request and change one or two things in those ways.
"""

from __future__ import annotations

import base64
import io
from functools import cache
from typing import Any

from hypothesis import strategies as st

from tests.support.contract import Contract

EXAMPLE_IMAGE_ID = "01JDQ8ZB3F2T6X8W4N5R7K9M0P"
FORMATS = {
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/jpeg": "JPEG",
    "image/webp": "WEBP",
    "image/heic": "HEIF",  # pillow-heif writes the heic brand, which image/heif takes too
    "image/heif": "HEIF",
}

# Characters that trip normalisation or anchors: whitespace only Python strips, controls,
# combining marks, letters whose lower case changes length or is not a word character.
WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2003\u2028\u3000\ufeff"
TRICKY = "\x00\x07\x7f\x9f\u0301\u0308İẞΣσςǅﬁ\u0958²_-.@#/%+ ="

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
tricky_text = st.text(alphabet=st.sampled_from(WHITESPACE + TRICKY) | st.characters(codec="utf-8"), max_size=12)


@cache
def image_bytes(content_type: str) -> bytes:
    from PIL import Image

    if FORMATS[content_type] == "HEIF":
        from image_service.heif import register_opener

        register_opener()
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), (10, 120, 200)).save(buffer, format=FORMATS[content_type])
    return buffer.getvalue()


@cache
def image_base64(content_type: str) -> str:
    return base64.b64encode(image_bytes(content_type)).decode()


def limit(contract: Contract, *path: str) -> Any:
    """A number from the spec, e.g. ``limit(c, "UploadRequest", "title", "maxLength")``."""
    node: Any = contract.spec["components"]["schemas"][path[0]]
    for key in path[1:-1]:
        node = node["properties"][key] if "properties" in node and key in node["properties"] else node[key]
    return node[path[-1]]


def around(number: int) -> st.SearchStrategy[int]:
    return st.sampled_from([max(number - 1, 0), number, number + 1])


def pad(value: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    spaces = st.text(alphabet=WHITESPACE, max_size=3)
    return st.tuples(spaces, value, spaces).map("".join)


def text_of_length(length: st.SearchStrategy[int], alphabet: str = "aé東 ") -> st.SearchStrategy[str]:
    return length.flatmap(lambda n: st.text(alphabet=alphabet, min_size=n, max_size=n))


def upload_bodies(contract: Contract) -> st.SearchStrategy[dict[str, Any]]:
    """Upload bodies that are valid, or valid but for one or two edits at an edge."""
    max_title = limit(contract, "UploadRequest", "title", "maxLength")
    max_description = limit(contract, "UploadRequest", "description", "maxLength")
    max_tags = limit(contract, "UploadRequest", "tags", "maxItems")
    content_types = contract.spec["components"]["schemas"]["ContentType"]["enum"]

    tag = st.one_of(
        st.from_regex(r"\A[a-z0-9][a-z0-9_-]{0,39}\Z"),
        st.sampled_from(
            ["Beach", "BEACH", "cafe\u0301", "東京", "İstanbul", "ǅemal", "straße", "ΣΟΦΊΑ", "x" * 40, "x" * 41]
        ),
        tricky_text,
    )
    edits: dict[str, st.SearchStrategy[Any]] = {
        "user_id": st.one_of(
            st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._@-]{0,70}\Z"),
            st.sampled_from(["alice\n", "alice ", " alice", "ali ce", "ålice", "a" * 64, "a" * 65, ""]),
            json_values,
        ),
        "title": st.one_of(pad(text_of_length(around(max_title))), tricky_text, json_values),
        "description": st.one_of(
            pad(text_of_length(around(max_description), alphabet="aé\n\t ")), tricky_text, json_values
        ),
        "tags": st.one_of(
            st.lists(pad(tag), max_size=max_tags + 2),
            around(max_tags).flatmap(lambda n: st.lists(pad(tag), min_size=n, max_size=n)),
            # Repeats count as sent: max_tags + 1 copies of one tag is one too many.
            around(max_tags).map(lambda n: ["Same"] * (n - 1) + [" same "]),
            json_values,
        ),
        "content_type": st.one_of(content_type_texts(contract), json_values),
        "keep_location": st.one_of(st.sampled_from([True, False, "true", "FALSE", "yes", "", "1", None]), json_values),
        "image_base64": st.one_of(
            st.sampled_from(content_types)
            .map(image_base64)
            .flatmap(
                lambda data: st.sampled_from(
                    [data, data + "\n", data.rstrip("="), " " + data, data + "===", "=" + data]
                )
            ),
            st.from_regex(r"\A[A-Za-z0-9+/=\n ]{0,12}\Z"),
            json_values,
        ),
    }

    def build(content_type: str, changes: list[tuple[str, Any]], drop: list[str]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "user_id": "alice",
            "title": "Sunset",
            "description": "From the pier.",
            "tags": ["sunset"],
            "content_type": content_type,
            "image_base64": image_base64(content_type),
        }
        for name, value in changes:
            body[name] = value
        for name in drop:
            body.pop(name, None)
        return body

    change = st.sampled_from(sorted(edits)).flatmap(lambda name: edits[name].map(lambda value: (name, value)))
    unknown = st.sampled_from(["owner", "User_id", "tags ", "image"]).map(lambda name: (name, "x"))
    # Mostly one or two edits of known fields; now and then an unknown field or a missing one.
    changes = st.lists(change, max_size=2) | st.lists(change | unknown, min_size=1, max_size=2)
    drops = st.just([]) | st.just([]) | st.lists(st.sampled_from(sorted(edits)), max_size=1)
    return st.builds(build, st.sampled_from(content_types), changes, drops)


def content_type_texts(contract: Contract) -> st.SearchStrategy[str]:
    content_types = contract.spec["components"]["schemas"]["ContentType"]["enum"]
    spellings = [*content_types, "image/jpg", "IMAGE/PNG", "Image/Webp", "image/png; q=1", "image/tiff", "image/"]
    return pad(st.sampled_from(spellings))


def raw_content_types(contract: Contract) -> st.SearchStrategy[str]:
    """``Content-Type`` headers that make ``POST /images`` read the body as the image."""
    return content_type_texts(contract).map(str.strip).filter(lambda text: text.lower().startswith("image/"))


def raw_upload_queries(contract: Contract) -> st.SearchStrategy[list[tuple[str, str]]]:
    """The query of a raw-body upload: metadata as text, tags comma-separated."""
    max_title = limit(contract, "TitleInput", "maxLength")
    values = {
        "user_id": st.sampled_from(["alice", "alice\n", "", "a b", "a" * 64, "a" * 65]) | tricky_text,
        "title": pad(text_of_length(around(max_title))) | tricky_text,
        "description": st.sampled_from(["", "two\nlines", "bell\x07"]) | tricky_text,
        "tags": st.lists(st.sampled_from(["sunset", " Beach", "", "a b", "x" * 41, "Same", "same"]), max_size=12).map(
            ",".join
        ),
        "keep_location": st.sampled_from(["true", "FALSE", "", "yes"]),
        "other": st.just("1"),
    }
    pair = st.sampled_from(sorted(values)).flatmap(lambda name: values[name].map(lambda value: (name, value)))
    with_owner = st.lists(pair, max_size=4, unique_by=lambda item: item[0]).map(
        lambda pairs: [("user_id", "alice"), *pairs]
    )
    return with_owner | st.lists(pair, max_size=4)


def variants() -> st.SearchStrategy[str]:
    return st.sampled_from(["original", "thumbnail", "display", "", "Thumbnail", "small"]) | tricky_text


def list_queries(contract: Contract) -> st.SearchStrategy[list[tuple[str, str]]]:
    """``GET /images`` query strings as (name, value) pairs, near the edges."""
    max_page = limit(contract, "ImagePage", "items", "maxItems")
    max_token = limit(contract, "ImagePage", "next_token", "maxLength")
    values = {
        "user_id": st.one_of(st.sampled_from(["alice", "alice\n", "", "a b", "a" * 64, "a" * 65]), tricky_text),
        "tag": st.one_of(st.sampled_from(["sunset", " Sunset ", "cafe\u0301", "İ", "", "a b", "x" * 41]), tricky_text),
        "limit": st.one_of(
            around(max_page).map(str),
            st.sampled_from(["0", "1", "01", "0005", "00005", "-1", "+5", "1.0", "1e2", " 5", "", "٣"]),
        ),
        "next_token": st.one_of(
            around(max_token).map(lambda n: "t" * n), st.sampled_from(["", "x.y", "%%", "a" * 10]), tricky_text
        ),
        "other": st.sampled_from(["1", ""]),
    }
    pair = st.sampled_from(sorted(values)).flatmap(lambda name: values[name].map(lambda value: (name, value)))
    # Mostly each parameter once; sometimes one repeated (the same value or another).
    once = st.lists(pair, max_size=4, unique_by=lambda item: item[0])
    return once | st.lists(pair, max_size=4)


def image_ids() -> st.SearchStrategy[str]:
    valid = st.from_regex(r"\A[0-7][0-9A-HJKMNP-TV-Z]{25}\Z")
    return st.one_of(
        valid,
        st.sampled_from(
            [
                EXAMPLE_IMAGE_ID,
                EXAMPLE_IMAGE_ID + "\n",
                EXAMPLE_IMAGE_ID.lower(),
                EXAMPLE_IMAGE_ID[:-1],
                EXAMPLE_IMAGE_ID + "0",
                "8" + EXAMPLE_IMAGE_ID[1:],
                EXAMPLE_IMAGE_ID[:-1] + "U",
                " " + EXAMPLE_IMAGE_ID,
            ]
        ),
        st.from_regex(r"\A[0-9A-Z]{24,27}\Z"),
        st.text(min_size=1, max_size=30).filter(lambda text: "/" not in text),
    )
