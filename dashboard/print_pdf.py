"""HTML to PDF with headless Chromium's own print engine: what QA on a Page (and later the board pack)
prints with. The page's CSS decides the paper (`@page{size:A4}`) and margins; headers and footers of
the browser are left off. One short-lived Chromium process per document, its own throwaway profile,
no network (the HTML carries its styles inline and the file is opened from disk).

Chromium is KPIDASH_CHROMIUM, else the first of chromium, chromium-browser, google-chrome on the PATH;
without one, PdfUnavailable says what to install. The caller can still offer the HTML.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from core.settings import get_settings

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium")
TIMEOUT_SECONDS = 90


class PdfUnavailable(Exception):
    """No PDF could be made; the message says why and what to do."""


def find_chromium() -> str | None:
    """The Chromium to print with, or None."""
    configured = get_settings().chromium
    if configured:
        return configured if Path(configured).is_file() or shutil.which(configured) else None
    return next((found for name in CANDIDATES if (found := shutil.which(name))), None)


def html_to_pdf(html: str, timeout: float = TIMEOUT_SECONDS) -> bytes:
    """The PDF Chromium prints from the HTML (paper and margins from its @page rule)."""
    chromium = find_chromium()
    if chromium is None:
        where = get_settings().chromium
        raise PdfUnavailable(
            f"No PDF renderer: {'KPIDASH_CHROMIUM (' + where + ') is not a program' if where else 'no Chromium found'}. "
            "Install Chromium (Debian: apt-get install chromium) or set KPIDASH_CHROMIUM; the HTML version prints "
            "to PDF from any browser.")
    with tempfile.TemporaryDirectory(prefix="kpidash-pdf-") as tmp:
        page, out = Path(tmp) / "page.html", Path(tmp) / "page.pdf"
        page.write_text(html, encoding="utf-8")
        command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                   "--no-first-run", "--disable-background-networking", "--disable-sync", "--disable-extensions",
                   f"--user-data-dir={Path(tmp) / 'profile'}", "--no-pdf-header-footer", "--hide-scrollbars",
                   f"--print-to-pdf={out}", page.as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise PdfUnavailable(f"Chromium did not finish printing the PDF within {timeout:g} s; try again") from None
        except OSError as exc:
            raise PdfUnavailable(f"Chromium ({chromium}) could not be started: {exc.strerror or exc}") from None
        if not out.is_file() or out.stat().st_size == 0:
            said = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise PdfUnavailable(f"Chromium did not print the PDF (exit {done.returncode}"
                                 f"{': ' + said[-1] if said else ''})")
        return out.read_bytes()
