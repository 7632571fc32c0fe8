"""docs/kpis.md and the registry list the same KPIs, in the same order."""

from __future__ import annotations

import re
from pathlib import Path

from kpis import KPIS

DOC = Path(__file__).resolve().parents[2] / "docs" / "kpis.md"


def test_docs_define_every_kpi_of_the_registry_and_no_other() -> None:
    documented = re.findall(r"^### `([a-z0-9_]+)`", DOC.read_text(encoding="utf-8"), flags=re.M)
    assert documented == [k.id for k in KPIS]
