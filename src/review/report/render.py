"""Executed notebooks → one self-contained, deterministic HTML file (the batch runner calls this).

What a reader gets
------------------
* Cell outputs only: code inputs and prompts are hidden; cells tagged ``parameters``,
  ``injected-parameters``, ``remove`` or ``analyst-note`` are removed with their outputs;
  stdout/stderr streams and script/widget outputs are dropped; error outputs stay visible so a
  failed run can be diagnosed; markdown cells without those tags are shown.
* One page: ``<html lang="zh-CN|en">``, charset and viewport, the report CSS inline
  (``assets/report.css``: responsive, print CSS with a page break per section), images as
  data URIs, a table of contents built from the sections' ``h1``–``h3`` headings with unique
  ids, collapsed, after the first section (the summary opens the page). Nothing external is referenced: the ``basic`` nbconvert template (no require.js, no
  MathJax), no web fonts, external ``src`` of analysts' content removed, and a
  Content-Security-Policy that forbids any network load.
* Deterministic: the same notebooks give byte-identical HTML (no timestamps, no random ids;
  cell ids are renumbered per section).
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import nbformat
from bs4 import BeautifulSoup
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from review.report import commentary as notes
from review.report.i18n import check_lang, t
from review.report.show import slugify

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
CSS_PATH = HERE / "assets" / "report.css"
TEMPLATES_DIR = HERE / "templates"

#: Cells with any of these tags are removed with their outputs.
REMOVE_TAGS: frozenset[str] = frozenset(
    {"parameters", "injected-parameters", "remove", "analyst-note"}
)
#: Output data types dropped: they need scripts (and often a CDN) to show anything.
DROP_MIMETYPES: frozenset[str] = frozenset({
    "application/javascript",
    "application/vnd.jupyter.widget-view+json",
    "application/vnd.jupyter.widget-state+json",
    "application/vnd.plotly.v1+json",
    "application/vnd.bokehjs_load.v0+json",
    "application/vnd.bokehjs_exec.v0+json",
})
HTML_LANG = {"zh": "zh-CN", "en": "en"}
#: No network loads of any kind; inline styles and data-URI images only.
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
       "base-uri 'none'; form-action 'none'")
_EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
_LOADING_ATTRS = ("src", "srcset", "data", "poster", "background")
_HEADINGS = ("h1", "h2", "h3")


def prepare_notebook(nb: nbformat.NotebookNode, *, section: str = "s") -> nbformat.NotebookNode:
    """A copy of ``nb`` holding only what the reader sees (the input is not changed).

    Removes tagged cells (:data:`REMOVE_TAGS`), raw cells other than HTML, code cells left
    without outputs, stream outputs and script/widget data (:data:`DROP_MIMETYPES`); empties
    code sources; numbers cell ids ``<section>-<n>`` (ASCII letters, digits, ``-``, ``_``) so
    they are unique across sections.
    """
    prefix = re.sub(r"[^A-Za-z0-9_-]+", "", section)[:40] or "s"  # nbformat's id pattern
    out = copy.deepcopy(nb)
    out.metadata.pop("widgets", None)
    cells = []
    for cell in out.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & REMOVE_TAGS:
            continue
        if cell.cell_type == "raw" and \
                cell.get("metadata", {}).get("raw_mimetype", "").lower() != "text/html":
            continue
        if cell.cell_type == "code":
            outputs = []
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream":
                    continue
                if "data" in output:
                    data = {k: v for k, v in output["data"].items() if k not in DROP_MIMETYPES}
                    if not data:
                        continue
                    output["data"] = nbformat.NotebookNode(data)
                outputs.append(output)
            if not outputs:
                continue
            cell.outputs = outputs
            cell.source = ""
        if "id" in cell or out.get("nbformat_minor", 0) >= 5:
            cell["id"] = f"{prefix}-{len(cells)}"
        cells.append(cell)
    out.cells = cells
    return out


@lru_cache(maxsize=1)
def _exporter():
    from nbconvert import HTMLExporter  # imported here: it is slow to import

    return HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                        exclude_output_prompt=True, anchor_link_text="")


@lru_cache(maxsize=1)
def _page_template():
    env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)),
                      autoescape=select_autoescape(["html", "j2"]), keep_trailing_newline=True)
    return env.get_template("report.html.j2")


def _notebook_body(nb: nbformat.NotebookNode, section: str) -> str:
    body, _ = _exporter().from_notebook_node(prepare_notebook(nb, section=section))
    return body


def _unique(base: str, used: set[str]) -> str:
    anchor, n = base, 1
    while anchor in used:
        n += 1
        anchor = f"{base}-{n}"
    used.add(anchor)
    return anchor


def _block_external(soup: BeautifulSoup) -> None:
    """Remove every reference that would make a browser load something from the network.

    An external image becomes its alt text; scripts, frames, media and stylesheets with an
    external URL are removed; links (``<a href>``) are kept: following one is the reader's
    choice, nothing is loaded by opening the page.
    """
    for tag in list(soup.find_all(True)):
        if tag.decomposed:
            continue
        attrs = ("href",) if tag.name == "link" else _LOADING_ATTRS
        url = next((v for a in attrs if isinstance(v := tag.get(a), str) and _EXTERNAL.match(v)),
                   None)
        if url is None:
            continue
        log.warning("report: removed the external reference %r of a <%s>", url, tag.name)
        if tag.name == "img":
            note = soup.new_tag("span", attrs={"class": "blocked"})
            note.string = tag.get("alt") or "[image]"
            tag.replace_with(note)
        elif tag.name in ("script", "iframe", "link", "object", "embed", "video", "audio",
                          "source", "track"):
            tag.decompose()
        else:
            for a in attrs:
                if isinstance(tag.get(a), str) and _EXTERNAL.match(tag[a]):
                    del tag[a]


def _headings(soup: BeautifulSoup) -> list[tuple[int, str, str]]:
    """Give every h1–h3 a unique id; return ``(level, id, text)`` in document order."""
    for a in soup.select("a.anchor-link"):
        a.decompose()
    heads = soup.find_all(_HEADINGS)
    used = {str(tag["id"]) for tag in soup.find_all(id=True) if tag.name not in _HEADINGS}
    entries = []
    for tag in heads:
        text = " ".join(tag.get_text(" ", strip=True).split())
        current = tag.get("id")
        base = current if isinstance(current, str) and current and "%" not in current \
            and not any(c.isspace() for c in current) else slugify(text)
        tag["id"] = _unique(base, used)
        entries.append((int(tag.name[1]), tag["id"], text))
    return entries


def _toc_html(entries: list[tuple[int, str, str]]) -> str:
    """A nested ordered list of two levels: the top heading level found, and the next one."""
    # the page's title (an h1 above everything) is not an entry when sections follow it
    entries = [e for e in entries if e[0] > 1] or entries
    if not entries:
        return ""
    top = min(level for level, _, _ in entries)
    out, open_sub = ["<ol>"], False
    for level, anchor, text in entries:
        if level > top + 1 or not text:
            continue
        link = f'<a href="#{Markup.escape(anchor)}">{Markup.escape(text)}</a>'
        if level == top:
            if open_sub:
                out.append("</ol></li>")
                open_sub = False
            elif len(out) > 1:
                out.append("</li>")
            out.append(f"<li>{link}")
        else:
            if not open_sub:
                if len(out) == 1:  # a sub-heading before any top heading
                    out.append("<li>")
                out.append("<ol>")
                open_sub = True
            out.append(f"<li>{link}</li>")
    out.append("</ol></li>" if open_sub else "</li>")
    out.append("</ol>")
    return "".join(out)


def _add_commentary(soup: BeautifulSoup, commentary: Mapping[str, str], lang: str) -> None:
    """Each section's commentary in its slot, else at the end of its (host) section."""
    for sid in notes.SECTIONS:
        text = commentary.get(sid, "").strip()
        if not text:
            continue
        aside = BeautifulSoup(
            f'<aside class="commentary" data-section="{sid}">'
            f'<p class="commentary-title">{Markup.escape(t("report.commentary", lang))}</p>'
            f"{notes.to_html(text)}</aside>", "html.parser")
        slot = soup.find(attrs={"data-commentary-slot": sid})
        host = soup.find("section", id=f"sec-{notes.HOST_SECTION.get(sid, sid)}")
        if slot is not None:
            slot.replace_with(aside)
        elif host is not None:
            host.append(aside)
        else:
            log.warning("report: commentary for %r has no section to go to", sid)


def assemble_report(sections: Sequence[tuple[str, nbformat.NotebookNode]], *, title: str,
                    lang: str, subtitle: str | None = None,
                    commentary: Mapping[str, str] | None = None) -> str:
    """One self-contained HTML page of several executed notebooks, in the given order.

    Parameters
    ----------
    sections
        ``(name, notebook)`` pairs; ``name`` (e.g. ``"summary"``) gives the section's id
        ``sec-<name>``. Each becomes a ``<section class="report-section">``.
    title
        Page title and ``<h1>`` (e.g. ``t("report.title", lang)``).
    lang
        ``"zh"`` or ``"en"``: the ``lang`` attribute and the TOC caption.
    subtitle
        Optional line under the title (e.g. the period).
    commentary
        The analyst's commentary, ``{section id: Markdown}`` (:mod:`review.report.commentary`),
        rendered sanitised at the end of each section (``plan`` at the end of evaluation).

    Returns
    -------
    str
        The page, with ONE table of contents over all sections (a collapsible ``<nav>`` after
        the first section, never before it). Same input, same bytes.
    """
    check_lang(lang)
    used: set[str] = set()
    parts = []
    for i, (name, nb) in enumerate(sections, start=1):
        slug = _unique(slugify(name), used)
        body = _notebook_body(nb, f"s{i}")
        parts.append(f'<section class="report-section" id="sec-{slug}">\n{body}\n</section>')
    soup = BeautifulSoup("\n".join(parts), "html.parser")
    _add_commentary(soup, commentary or {}, lang)
    _block_external(soup)
    toc = _toc_html(_headings(soup))
    if toc:  # collapsible, after the first section: the summary opens the page
        label = Markup.escape(t("report.toc", lang))
        nav = BeautifulSoup(f'<nav class="toc" aria-label="{label}"><details>'
                            f'<summary class="toc-title">{label}</summary>{toc}</details></nav>',
                            "html.parser")
        first = soup.find("section", class_="report-section")
        if first is not None:
            first.insert_after(nav)
        else:
            soup.insert(0, nav)
    page = _page_template().render(
        html_lang=HTML_LANG[lang], title=title, subtitle=subtitle, csp=CSP,
        css=Markup(CSS_PATH.read_text(encoding="utf-8")), body=Markup(str(soup)),
    )
    return page


def notebook_to_html(nb: nbformat.NotebookNode, *, title: str, lang: str) -> str:
    """One executed notebook as a self-contained HTML page (see :func:`assemble_report`)."""
    return assemble_report([(title, nb)], title=title, lang=lang)
