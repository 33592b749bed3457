"""Hashtags in every script (issue 14, item 10): one rule in the code, the spec and the gallery.

Real hashtags in many scripts are accepted (as their NFC, case-folded form); look-alikes and
invisible characters are refused. The same table runs through ``validation.normalize_tag``, the
spec's pattern (read by the ``regex`` module, as ECMAScript's ``u`` flag reads it) and, with
node, through ``web/js/rules.js`` itself.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import regex

from image_service import validation
from image_service.errors import BadRequest
from tests.support.contract import contract

ROOT = Path(__file__).resolve().parents[2]

# (as typed, the tag it becomes)
ACCEPTED = [
    ("İstanbul", "i\u0307stanbul"),  # Turkish: the dotted capital folds to i + COMBINING DOT ABOVE
    ("Straße", "strasse"),  # German: case folding, not just lower-casing
    ("नमस्ते", "नमस्ते"),  # Devanagari: virama and vowel signs are combining marks
    ("हिन्दी", "हिन्दी"),
    ("தமிழ்", "தமிழ்"),  # Tamil
    ("ประเทศไทย", "ประเทศไทย"),  # Thai: vowel signs above and below
    ("مرحبا", "مرحبا"),  # Arabic
    ("عَرَبِيّ", "عَرَبِيّ"),  # Arabic with harakat (marks)
    ("שָׁלוֹם", "שָׁלוֹם"),  # Hebrew with niqqud
    ("Αθήνα", "αθήνα"),  # Greek
    ("ΟΔΟΣ", "οδοσ"),  # Greek: final sigma folds to sigma
    ("Москва", "москва"),  # Cyrillic
    ("東京", "東京"),  # CJK
    ("서울", "서울"),  # Korean (Hangul syllables)
    ("বাংলা", "বাংলা"),  # Bengali
    ("საქართველო", "საქართველო"),  # Georgian
    ("ኢትዮጵያ", "ኢትዮጵያ"),  # Ethiopic
    ("Phở", "phở"),  # Vietnamese, typed decomposed or composed: one tag
    ("Pho\u031b\u0309", "phở"),
    ("२०२६", "२०२६"),  # Devanagari digits
    (" Beach_2026-summer ", "beach_2026-summer"),
]
REFUSED = [
    "cat\u202egnp",  # bidi override: displays as something else
    "ca\u200dt",  # zero-width joiner: looks like "cat", is not
    "ca\u200ct",  # zero-width non-joiner (Persian hashtags use "_" for the half-space)
    "c\u200bat",  # zero-width space
    "\ufeffcat",  # BOM
    "\u0301cat",  # a mark with no letter to sit on
    "cat dog",
    "cat!",
    "#cat",  # the gallery strips a leading "#"; the API takes the tag itself
    "😀",
    "cat😀",
    "-cat",
    "_cat",
    "a\x00b",
    "a" * 41,
    "",
]


@pytest.mark.parametrize(("typed", "tag"), ACCEPTED)
def test_real_hashtags_in_every_script_are_accepted(typed: str, tag: str) -> None:
    assert validation.normalize_tag(typed) == tag
    assert unicodedata.is_normalized("NFC", tag)


@pytest.mark.parametrize("typed", REFUSED)
def test_look_alikes_invisible_characters_and_symbols_are_refused(typed: str) -> None:
    with pytest.raises(BadRequest) as refused:
        validation.normalize_tag(typed)
    assert refused.value.code == "invalid_tag"


def test_the_code_and_the_spec_pattern_agree_on_every_code_point() -> None:
    spec_pattern = regex.compile(contract().spec["components"]["schemas"]["Tag"]["pattern"].replace("$", r"\Z"))
    assert spec_pattern.pattern.startswith(validation.TAG_PATTERN[:-1])
    # Code points Python's Unicode database (the runtime's version) has assigned: engines built
    # on a newer Unicode version may know more letters, which is their business.
    for code_point in range(sys.maxunicode + 1):
        char = chr(code_point)
        if unicodedata.category(char) == "Cn":
            continue
        for text in (char, "a" + char):
            assert validation.is_tag(text) == bool(spec_pattern.match(text)), hex(code_point)
    for typed, tag in ACCEPTED:
        assert spec_pattern.match(tag), typed
    for typed in REFUSED:
        assert not spec_pattern.match(validation.fold_tag(typed)), typed


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_gallery_applies_the_same_rule() -> None:
    script = f"""
        import {{ normalizeTag, isValidTag, TAG }} from {json.dumps((ROOT / "web/js/rules.js").as_uri())};
        const table = JSON.parse(process.argv[1]);
        const out = {{
          accepted: table.accepted.map(([typed]) => [normalizeTag(typed), isValidTag(normalizeTag(typed))]),
          refused: table.refused.map((typed) => isValidTag(normalizeTag(typed))),
          source: TAG.source,
        }};
        console.log(JSON.stringify(out));
    """
    # The gallery strips a leading "#" (people type hashtags), and JavaScript's trim() counts a
    # leading BOM as white space (so "\ufeffcat" is sent as "cat"); everything else it refuses too.
    refused = [typed for typed in REFUSED if not typed.startswith(("#", "\ufeff"))]
    table = json.dumps({"accepted": ACCEPTED, "refused": refused})
    result = subprocess.run(
        [shutil.which("node") or "node", "--input-type=module", "-e", script, table],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = json.loads(result.stdout)
    assert out["source"] == validation.TAG_PATTERN
    assert out["accepted"] == [[tag, True] for _, tag in ACCEPTED]
    assert out["refused"] == [False] * len(refused)
