"""The analyst's commentary of a period: ``params/<period>.commentary.md`` beside the params.

The file (or ``<period>.commentary.zh.md`` / ``.en.md``, which wins for a report in that
language) holds one ``## <section>`` heading per section it comments on::

    ## summary
    Growth came from the referral wave; October's dip is the holiday week.

    ## plan
    - Move half of the offline budget to referrals from 1 December.

Section ids: :data:`SECTIONS` (``plan`` is the 总结与下期计划 part at the end of evaluation).
Text above the first heading, and headings that name no section, are not shown. Each
section's text is rendered at the end of that section of ``report.html`` as sanitised
Markdown: raw HTML is shown as text (a ``<script>`` is inert), links only to ``http(s)`` and
``mailto``, no images, headings inside the text shown below the section's own headings.

The commentary is not an input of the metrics or of the notebooks: editing it rebuilds the
period's ``report.html`` only (the batch runner compares :func:`commentary_hash`).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

#: The section ids a commentary may use, in report order.
SECTIONS: tuple[str, ...] = ("summary", "market", "goals", "execution", "budget",
                             "evaluation", "plan")
#: Where a section's commentary goes when the page has no slot for it: ``plan`` closes the
#: evaluation section.
HOST_SECTION = {"plan": "evaluation"}
_HEADING = re.compile(r"^##[ \t]+(\S+)[ \t]*#*[ \t]*$")
_SAFE_LINK = re.compile(r"^(https?:|mailto:|#)", re.IGNORECASE)


def commentary_file(params_file: Path, period: str, lang: str) -> Path | None:
    """The commentary file of ``period`` beside ``params_file`` for ``lang``, or ``None``.

    ``<period>.commentary.<lang>.md`` first, then ``<period>.commentary.md``.
    """
    folder = Path(params_file).parent
    for name in (f"{period}.commentary.{lang}.md", f"{period}.commentary.md"):
        if (folder / name).is_file():
            return folder / name
    return None


def commentary_hash(params_file: Path, period: str, lang: str) -> str:
    """``sha256:<hex>`` of the commentary file that applies (``""`` when there is none)."""
    path = commentary_file(params_file, period, lang)
    if path is None:
        return ""
    return "sha256:" + hashlib.sha256(path.name.encode() + b"\0" + path.read_bytes()).hexdigest()


def parse(text: str) -> dict[str, str]:
    """``{section id: Markdown}`` of a commentary file's text (empty sections left out).

    A heading repeated adds to its section; unknown section ids are dropped.
    """
    parts: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        m = _HEADING.match(line)
        if m:
            current = m[1].lower() if m[1].lower() in SECTIONS else None
            if current is not None:
                parts.setdefault(current, [])
            continue
        if current is not None:
            parts[current].append(line)
    return {k: "\n".join(v).strip() for k, v in parts.items() if "\n".join(v).strip()}


def load(params_file: Path, period: str, lang: str) -> dict[str, str]:
    """The period's commentary as ``{section id: Markdown}`` (``{}`` without a file)."""
    path = commentary_file(params_file, period, lang)
    return parse(path.read_text(encoding="utf-8")) if path is not None else {}


def to_html(markdown: str) -> str:
    """Sanitised HTML of one section's Markdown (see the module docstring)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    md.validateLink = lambda url: bool(_SAFE_LINK.match(url.strip()))
    html = md.render(markdown)
    # the section's own headings are h2/h3: the analyst's become h4–h6
    html = re.sub(r"<(/?)h([1-6])>",
                  lambda m: f"<{m[1]}h{min(6, max(4, int(m[2]) + 3))}>", html)
    return html.replace("<a href=", '<a rel="noopener noreferrer" href=')


def template(period: str) -> str:
    """An empty commentary file for ``period`` (what ``review params new`` writes)."""
    head = (f"Analyst commentary, {period} / 分析师评论。Write under a section's heading; "
            "empty sections are not shown, text above the first heading neither.\n")
    return head + "".join(f"\n## {s}\n" for s in SECTIONS)
