"""The HTTP API: figures, trends, drill-down and load status, behind sign-in, scoped by role, audited."""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """create_app on first use: importing api.accounts (the CLI's user commands) must not build the
    whole app with FastAPI and the dashboard."""
    if name == "create_app":
        from api.app import create_app

        return create_app
    raise AttributeError(f"module 'api' has no attribute {name!r}")
