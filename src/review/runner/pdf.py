"""``report.pdf`` (A4) beside ``report.html``, printed by the system's Chromium.

No browser is downloaded: the Chromium found on ``PATH`` (``chromium``, ``chromium-browser``,
``google-chrome``; or ``$REVIEW_CHROMIUM``) prints the page headless and offline (every host
name resolves to nothing), with a throw-away profile and without header or footer. The page
size and margins come from the report's print CSS (``@page { size: A4 }``). Without a
Chromium, or when it fails, the report is complete without the PDF and the reason is returned
as a note (the manifest records it). ``REVIEW_PDF=0`` turns the PDF off.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

PDF = "report.pdf"
CHROMIUM_ENV = "REVIEW_CHROMIUM"
PDF_ENV = "REVIEW_PDF"
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The Chromium executable to print with, or ``None``."""
    given = os.environ.get(CHROMIUM_ENV)
    if given:
        return shutil.which(given)
    return next((found for name in _NAMES if (found := shutil.which(name))), None)


def enabled() -> bool:
    """``False`` when ``$REVIEW_PDF`` is ``0`` (tests with doubles, or no PDF wanted)."""
    return os.environ.get(PDF_ENV, "1").strip() != "0"


def write_pdf(html: Path, pdf: Path, *, timeout: float = 180.0) -> str | None:
    """Print ``html`` to ``pdf`` (A4); ``None`` when written, else why not (a note).

    Never raises for a missing or failing browser: the PDF is an extra, not the report.
    """
    chromium = find_chromium()
    if chromium is None:
        return ("report.pdf not written: no Chromium on this machine (install the system "
                "package `chromium`; README, 'Setup')")
    with tempfile.TemporaryDirectory(prefix="review-pdf-") as profile:
        tmp = Path(pdf).with_name(f".{Path(pdf).name}.part")
        args = [chromium, "--headless", "--disable-gpu", "--no-first-run", "--disable-sync",
                "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--user-data-dir={profile}", "--no-pdf-header-footer",
                "--run-all-compositor-stages-before-draw",
                f"--print-to-pdf={tmp}", Path(html).resolve().as_uri()]
        if os.geteuid() == 0:  # Chromium refuses to run as root with its sandbox
            args.insert(2, "--no-sandbox")
        try:
            done = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  timeout=timeout, start_new_session=True, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            tmp.unlink(missing_ok=True)
            return f"report.pdf not written: Chromium failed ({type(exc).__name__})"
        if done.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
            tmp.unlink(missing_ok=True)
            return f"report.pdf not written: Chromium exited with code {done.returncode}"
        tmp.replace(pdf)
    return None
