from __future__ import annotations

import os
from pathlib import Path

from agent.knowledge.discover import Found, Skipped, discover


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("text\n")


def test_a_folder_is_walked_in_sorted_order_with_sources_relative_to_it(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    touch(docs, "zeta.md", "b/returns.html", "a.txt", "b/a/deep.jsonl", "faq.csv", "B.markdown", "c.htm")
    result = discover([docs])
    assert [found.source for found in result.found] == [
        "B.markdown", "a.txt", "b/a/deep.jsonl", "b/returns.html", "c.htm", "faq.csv", "zeta.md",
    ]
    assert result.found[2] == Found(docs / "b" / "a" / "deep.jsonl", "b/a/deep.jsonl")
    assert result.skipped == ()


def test_hidden_files_and_folders_are_passed_over_and_other_types_reported(tmp_path: Path) -> None:
    touch(tmp_path, "guide.md", ".draft.md", ".git/HEAD.md", "sub/.hidden/x.md", "manual.pdf", "sub/logo.PNG", "Makefile")
    result = discover([tmp_path])
    assert [found.source for found in result.found] == ["guide.md"]
    assert set(result.skipped) == {
        Skipped(tmp_path / "manual.pdf", "unsupported file type .pdf"),
        Skipped(tmp_path / "sub" / "logo.PNG", "unsupported file type .png"),
        Skipped(tmp_path / "Makefile", "unsupported file type (no suffix)"),
    }


def test_files_named_directly_are_sourced_by_name_in_the_order_given(tmp_path: Path) -> None:
    touch(tmp_path, "x/returns.md", "y/hours.txt", "y/notes.docx")
    result = discover([tmp_path / "y" / "hours.txt", tmp_path / "x" / "returns.md", tmp_path / "y" / "notes.docx"])
    assert result.found == (
        Found(tmp_path / "y" / "hours.txt", "hours.txt"),
        Found(tmp_path / "x" / "returns.md", "returns.md"),
    )
    assert result.skipped == (Skipped(tmp_path / "y" / "notes.docx", "unsupported file type .docx"),)


def test_a_missing_path_is_skipped_and_the_rest_still_found(tmp_path: Path) -> None:
    touch(tmp_path, "docs/a.md")
    missing = tmp_path / "nowhere"
    result = discover([missing, tmp_path / "docs"])
    assert result.skipped == (Skipped(missing, "no such file or folder"),)
    assert [found.source for found in result.found] == ["a.md"]


def test_a_file_reached_twice_is_found_once(tmp_path: Path) -> None:
    touch(tmp_path, "docs/a.md", "docs/b.md")
    result = discover([tmp_path / "docs" / "b.md", tmp_path / "docs"])
    assert [found.source for found in result.found] == ["b.md", "a.md"]


def test_links_to_folders_are_not_followed_and_broken_links_reported(tmp_path: Path) -> None:
    touch(tmp_path, "docs/a.md")
    os.symlink(tmp_path / "docs", tmp_path / "docs" / "loop")
    os.symlink(tmp_path / "gone.md", tmp_path / "docs" / "dangling.md")
    result = discover([tmp_path / "docs"])
    assert [found.source for found in result.found] == ["a.md"]
    assert result.skipped == (Skipped(tmp_path / "docs" / "dangling.md", "broken link"),)
