"""axe-core (Deque's accessibility engine, from the axe-playwright-python package on PyPI, which ships
axe.min.js) run in the page under test: WCAG 2.0, 2.1 and 2.2 A and AA rules, plus best practices."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.base import AXE_SCRIPT

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def axe_violations(page: Any, context: str | None = None) -> list[str]:
    """Each violation as "rule-id (impact): target, target, ...: help", empty when the page passes.
    `context` limits the scan to one element (a CSS selector), e.g. the open records dialog."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)  # evaluated by the test harness, so the page's CSP does not apply
    result = page.evaluate(
        "([context, tags]) => axe.run(context ? document.querySelector(context) : document, "
        "{runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", [context, TAGS])
    return [f"{v['id']} ({v['impact']}): " + ", ".join(" ".join(n["target"]) for n in v["nodes"][:6])
            + f": {v['help']}" for v in result["violations"]]
