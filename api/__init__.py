"""The HTTP API: figures, trends, drill-down and load status, behind sign-in, scoped by role, audited."""

from api.app import create_app

__all__ = ["create_app"]
