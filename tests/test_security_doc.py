"""docs/security.md names the test behind each promise: every file and test it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_test_the_security_doc_names_exists() -> None:
    doc = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    files = set(re.findall(r"`?([a-z_]+/test_[a-z0-9_]+\.py)", doc))
    names = set(re.findall(r"\b(test_[a-z0-9_]+)\b(?!\.py)", doc))
    assert files and names
    missing_files = sorted(f for f in files if not (ROOT / "tests" / f).is_file())
    defined = {m for p in (ROOT / "tests").rglob("test_*.py")
               for m in re.findall(r"^def (test_[a-z0-9_]+)\(", p.read_text(encoding="utf-8"), flags=re.M)}
    assert not missing_files and not sorted(names - defined), (missing_files, sorted(names - defined))
