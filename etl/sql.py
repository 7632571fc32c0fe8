"""Values written into the SQL the ETL layer builds.

DuckDB takes no parameters where the ETL layer needs literal text (the CASE arms that name a rejected row's
reason, SET statements, CREATE ... AS SELECT), so the text is quoted here, in one place.
"""

from __future__ import annotations


def quoted(text: str | None) -> str:
    """A SQL string literal of `text` (NULL for None), its quotes doubled."""
    return "NULL" if text is None else "'" + text.replace("'", "''") + "'"
