"""The cold-start and memory sections measure the sam build output only while it holds the
sources as they are: after an edit without `make build`, they measured the old code."""

from __future__ import annotations

from pathlib import Path

from bench.cold_start import same_code


def test_a_build_is_used_only_while_it_holds_the_sources_as_they_are(tmp_path: Path) -> None:
    source, built = tmp_path / "src", tmp_path / "build"
    for root in (source, built):
        (root / "pkg").mkdir(parents=True)
        (root / "pkg" / "a.py").write_text("A = 1\n")
    (built / "pkg" / "extra.txt").write_text("built files the sources lack are fine")
    assert same_code(source, built)
    (source / "pkg" / "a.py").write_text("A = 2\n")  # edited since the build
    assert not same_code(source, built)
    (source / "pkg" / "a.py").write_text("A = 1\n")
    (source / "pkg" / "b.py").write_text("B = 1\n")  # added since the build
    assert not same_code(source, built)
