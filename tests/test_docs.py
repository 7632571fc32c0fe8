"""The docs say what the code does: every setting is documented in README.md."""

from __future__ import annotations

from pathlib import Path

from core.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented_in_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    prefix = ENV_PREFIX
    missing = [f"{prefix}{name}".upper() for name in Settings.model_fields if f"`{prefix}{name}`".upper() not in readme.upper()]
    assert not missing, f"settings not documented in README.md: {missing}"


def test_every_documented_setting_exists() -> None:
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `KPIDASH_([A-Z_]+)` \|", readme, flags=re.M))
    known = {name.upper() for name in Settings.model_fields}
    assert documented <= known, f"README documents settings that do not exist: {documented - known}"
