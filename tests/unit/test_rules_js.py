"""One definition of each input rule (issue 17, item 5): the gallery's copies in web/js/rules.js
judge the same table of cases (rule_cases.json) as the API's code does.

The Python half runs here; the JavaScript half runs rules.js in Node (the gallery's module as it
is, imported from a data: URL), so `make test` needs no browser. Lengths at the limits are added
to the table here, as strings of 200 or 2000 characters do not belong in a JSON file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from image_service.errors import BadRequest
from image_service.validation import (
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    parse_edit,
    parse_user_id,
)
from tests.support.environment import ROOT

CASES_FILE = Path(__file__).with_name("rule_cases.json")
RULES_JS = ROOT / "web" / "js" / "rules.js"


def cases() -> dict[str, Any]:
    table = json.loads(CASES_FILE.read_text(encoding="utf-8"))
    # At the limits, counted in characters (code points) as Python counts them: an emoji is one.
    table["title"]["valid"] += ["x" * MAX_TITLE_CHARS, "😀" * MAX_TITLE_CHARS]
    table["title"]["invalid"] += ["x" * (MAX_TITLE_CHARS + 1), "😀" * (MAX_TITLE_CHARS + 1)]
    table["description"]["valid"] += ["x" * MAX_DESCRIPTION_CHARS]
    table["description"]["invalid"] += ["x" * (MAX_DESCRIPTION_CHARS + 1)]
    return table


def python_verdicts(table: dict[str, Any]) -> dict[str, Any]:
    def accepts(check: Any, value: str) -> Any:
        try:
            return check(value)
        except BadRequest:
            return False

    def tag(value: str) -> Any:
        return parse_edit(json.dumps({"tags": [value]})).tags[0]

    def title(value: str) -> bool:
        return parse_edit(json.dumps({"title": value})).title is not None

    def description(value: str) -> bool:
        return parse_edit(json.dumps({"description": value})).description is not None

    return {
        "user_id": {v: bool(accepts(parse_user_id, v)) for k in ("valid", "invalid") for v in table["user_id"][k]},
        "tag": {v: accepts(tag, v) for v in [t for t, _ in table["tag"]["valid"]] + table["tag"]["invalid"]},
        "title": {v: accepts(title, v) for k in ("valid", "invalid") for v in table["title"][k]},
        "description": {v: accepts(description, v) for k in ("valid", "invalid") for v in table["description"][k]},
    }


# rules.js judges the same values: USER_ID, normalizeTag + isValidTag (what parseTags uses for
# each tag typed), titleError and descriptionError.
NODE_SCRIPT = """
const fs = require("fs");
const [rulesPath, casesJson] = [process.argv[1], fs.readFileSync(0, "utf8")];
const source = fs.readFileSync(rulesPath, "utf8");
import("data:text/javascript," + encodeURIComponent(source)).then((rules) => {
  const table = JSON.parse(casesJson);
  const values = (rule) => rule === "tag"
    ? [...table.tag.valid.map(([typed]) => typed), ...table.tag.invalid]
    : [...table[rule].valid, ...table[rule].invalid];
  const judge = {
    user_id: (v) => rules.USER_ID.test(v),
    tag: (v) => { const t = rules.normalizeTag(v); return rules.isValidTag(t) ? t : false; },
    title: (v) => rules.titleError(v) === null,
    description: (v) => rules.descriptionError(v) === null,
  };
  const out = {};
  for (const rule of Object.keys(judge)) out[rule] = Object.fromEntries(values(rule).map((v) => [v, judge[rule](v)]));
  process.stdout.write(JSON.stringify(out));
});
"""


def javascript_verdicts(table: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("no node on PATH: web/js/rules.js cannot be run here")
    result = subprocess.run(
        [node, "-e", NODE_SCRIPT, str(RULES_JS)],
        input=json.dumps(table),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_the_table_says_what_the_api_does() -> None:
    table = cases()
    verdicts = python_verdicts(table)
    for rule in ("user_id", "title", "description"):
        assert all(verdicts[rule][v] for v in table[rule]["valid"]), (rule, verdicts[rule])
        assert not any(verdicts[rule][v] for v in table[rule]["invalid"]), (rule, verdicts[rule])
    assert {typed: verdicts["tag"][typed] for typed, _ in table["tag"]["valid"]} == dict(table["tag"]["valid"])
    assert not any(verdicts["tag"][v] for v in table["tag"]["invalid"]), verdicts["tag"]


@pytest.mark.parametrize("rule", ["user_id", "tag", "title", "description"])
def test_the_gallerys_rules_js_judges_every_case_as_the_api_does(rule: str) -> None:
    table = cases()
    expected = python_verdicts(table)[rule]
    actual = javascript_verdicts(table)[rule]
    differ = {value: (expected[value], actual.get(value)) for value in expected if expected[value] != actual.get(value)}
    assert not differ, f"rules.js and the API disagree on {rule} (value: (API, rules.js)): {differ}"


# The gallery's first check of a file (sniffImageType: FORMATS, heifType) on the first bytes of
# HEIF files, against the API's reading of the same bytes (image_service.heif).
HEIF_HEADS = {
    "iphone": (b"heic", b"mif1", b"heic", b"miaf"),
    "heix": (b"heix", b"mif1", b"heix"),
    "generic with hevc": (b"mif1", b"mif1", b"heic"),
    "sequence": (b"msf1", b"msf1", b"hevc"),
    "avif": (b"avif", b"mif1", b"avif"),
    "generic av1": (b"mif1", b"mif1", b"avif", b"miaf"),
    "mp4 video": (b"isom", b"isom", b"mp41"),
}
HEIF_NODE_SCRIPT = """
const fs = require("fs");
const source = fs.readFileSync(process.argv[1], "utf8");
const heads = JSON.parse(fs.readFileSync(0, "utf8"));
import("data:text/javascript," + encodeURIComponent(source)).then((rules) => {
  const out = {};
  for (const [name, bytes] of Object.entries(heads)) {
    const b = Uint8Array.from(bytes);
    out[name] = Object.entries(rules.FORMATS).filter(([, matches]) => matches(b)).map(([type]) => type);
  }
  process.stdout.write(JSON.stringify(out));
});
"""


def heif_head(major: bytes, *compatible: bytes) -> bytes:
    brands = major + bytes(4) + b"".join(compatible)
    return (8 + len(brands)).to_bytes(4, "big") + b"ftyp" + brands + bytes(64 - 8 - len(brands))


def test_the_gallery_reads_heif_brands_as_the_api_does() -> None:
    from image_service.heif import heif_content_type

    node = shutil.which("node")
    if node is None:
        pytest.skip("no node on PATH: web/js/rules.js cannot be run here")
    heads = {name: heif_head(*brands) for name, brands in HEIF_HEADS.items()}
    result = subprocess.run(
        [node, "-e", HEIF_NODE_SCRIPT, str(RULES_JS)],
        input=json.dumps({name: list(head) for name, head in heads.items()}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    gallery = json.loads(result.stdout)
    api = {name: [t] if (t := heif_content_type(head)) else [] for name, head in heads.items()}
    assert gallery == api
    assert api["iphone"] == ["image/heic"] and api["avif"] == []
