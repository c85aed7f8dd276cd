"""The README is a front door (at most 200 lines) and every relative link in it and in docs/ resolves:
the file exists, and an anchor names a heading of that file (GitHub's slugs)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    fence, found = False, set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and line.startswith("#"):
            found.add(slug(line.lstrip("#")))
    return found


def relative_links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return [t for t in LINK.findall(text) if not re.match(r"^[a-z]+:", t)]


def test_the_readme_is_a_front_door():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 200
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme and "docs/compose.png" in readme


def test_every_relative_link_resolves():
    broken = []
    for path in FILES:
        for target in relative_links(path):
            file, _, anchor = target.partition("#")
            dest = (path.parent / file).resolve() if file else path
            if not dest.exists() or (anchor and dest.suffix == ".md" and anchor not in anchors(dest)):
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert not broken, broken


def test_the_manual_is_split_by_reader():
    for name in ("musicians", "researchers", "developers"):
        assert (ROOT / "docs" / f"{name}.md").stat().st_size > 5_000
    assert slug('Designs, screening and the claim "they could not tell" (for researchers)') == \
        "designs-screening-and-the-claim-they-could-not-tell-for-researchers"
