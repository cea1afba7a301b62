"""Every text of the report, in Chinese and English, from one catalog.

The catalog ``assets/i18n.yaml`` is a flat mapping ``key → {zh: ..., en: ...}``; texts are
:meth:`str.format` templates with named fields (``"Period: {start} to {end}"``). Notebooks and
report blocks never write literal narrative: they call :func:`t` so that the ``lang``
parameter switches the whole report.

Key families
------------
``kpi.<key>`` / ``kpi.<key>.def``  label and one-line definition of every KPI of
:data:`review.kpis.KPI_CATALOG` (the definition is written once, in English, in that catalog;
the file carries only its Chinese translation and the English is added on loading) · ``unit.<unit>`` terse unit names · ``fmt.<unit>`` number
templates (``{v}``) used by :mod:`review.report.tables` · ``rag.<status>`` status labels ·
``section.<name>`` section titles · ``report.<name>`` report chrome · ``col.<name>`` table
headers · ``chart.<name>`` chart legends · ``code.<dimension>.<code>`` labels of data codes.
"""

from __future__ import annotations

import difflib
import string
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

import yaml

from review.data import contract
from review.errors import ReviewError

#: Languages of the report: Chinese (Simplified) and English.
LANGS: tuple[str, ...] = ("zh", "en")

#: Where the catalog lives (shipped as package data).
CATALOG_PATH = Path(__file__).resolve().parent / "assets" / "i18n.yaml"

#: Dimensions whose codes get labels (``code.<dimension>.<code>``), with the codes the data
#: contract allows. Age bands and regions are shown as they are.
CODE_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "acquisition_channel": contract.ACQUISITION_CHANNELS,
    "spend_channel": contract.SPEND_CHANNELS,
    "spend_category": contract.SPEND_CATEGORIES,
    "segment": contract.SEGMENTS,
    "city_tier": contract.CITY_TIERS,
    "txn_type": contract.TXN_TYPES,
    "txn_channel": contract.TXN_CHANNELS,
    "txn_status": ("success", "failed"),
    "feature": contract.FEATURES,
    "event": contract.EVENTS,
    "auth_method": contract.AUTH_METHODS,
    "platform": contract.PLATFORMS,
    "touch_channel": contract.TOUCH_CHANNELS,
    "severity": contract.SEVERITIES,
    "campaign_kind": contract.CAMPAIGN_KINDS,
    "variant": ("control",),
}


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise ReviewError(
                f"{loader.name}: line {key_node.start_mark.line + 1}: duplicate key {key!r}; "
                "keep one entry per key"
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def load_catalog(path: str | Path = CATALOG_PATH) -> dict[str, dict[str, str]]:
    """Read and structurally check a catalog file.

    Returns ``key → {lang: text}``. Raises :class:`~review.errors.ReviewError` naming the file
    and key when the YAML is not a flat mapping of ``{zh: str, en: str}`` entries or repeats a
    key. Content problems (empty texts, mismatched fields) are reported by
    :func:`check_catalog`.
    """
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        loader = _UniqueKeyLoader(fh)
        loader.name = str(path)
        try:
            data = loader.get_single_data()
        except yaml.YAMLError as exc:
            raise ReviewError(f"{path}: not valid YAML: {exc}") from None
        finally:
            loader.dispose()
    if not isinstance(data, dict):
        raise ReviewError(f"{path}: expected a mapping of key → {{zh: ..., en: ...}}")
    catalog: dict[str, dict[str, str]] = {}
    for key, entry in data.items():
        if not isinstance(entry, dict) or set(entry) - set(LANGS):
            raise ReviewError(
                f"{path}: key {key!r}: expected a mapping with the languages {list(LANGS)} "
                f"only, got {entry!r}"
            )
        bad = {lang: v for lang, v in entry.items() if not isinstance(v, str)}
        if bad:
            raise ReviewError(f"{path}: key {key!r}: texts must be strings (quote them): {bad}")
        catalog[str(key)] = dict(entry)
    return catalog


def with_kpi_definitions(catalog: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """``catalog`` with the English ``kpi.<key>.def`` texts taken from the KPI catalog.

    :data:`review.kpis.KPI_CATALOG` holds the one definition of every KPI (English); the
    i18n file holds only its translations.
    """
    from review.kpis import KPI_CATALOG

    merged = {key: dict(entry) for key, entry in catalog.items()}
    for kpi in KPI_CATALOG.values():
        merged.setdefault(f"kpi.{kpi.key}.def", {})["en"] = kpi.definition
    return merged


@lru_cache(maxsize=1)
def _catalog() -> dict[str, dict[str, str]]:
    return with_kpi_definitions(load_catalog(CATALOG_PATH))


def _fields(text: str) -> set[str]:
    """Named fields of a format template (``"{a} of {b:.1f}"`` → ``{"a", "b"}``)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def check_catalog(catalog: Mapping[str, Mapping[str, str]] | None = None) -> list[str]:
    """Every content problem of a catalog, one line each (empty list: the catalog is sound).

    Checks: every key has every language of :data:`LANGS`; no text is empty or blank; every
    text is a valid format template; both languages use the same ``{field}`` names; every
    KPI of :data:`review.kpis.KPI_CATALOG` has ``kpi.<key>`` and ``kpi.<key>.def``; every
    unit of the KPI catalog has ``unit.<unit>``; every code of :data:`CODE_DIMENSIONS` has a
    label; keys of one family (the part before the first dot) form one block in the file; the
    file does not repeat a KPI's English definition (it lives in the KPI catalog).
    """
    from review.kpis import KPI_CATALOG

    problems: list[str] = []
    if catalog is None:
        raw = load_catalog(CATALOG_PATH)
        problems += [f"{key}: the English definition lives in review.kpis.KPI_CATALOG; keep "
                     "only zh here" for key, entry in raw.items()
                     if key.startswith("kpi.") and key.endswith(".def") and "en" in entry]
        catalog = with_kpi_definitions(raw)
    else:
        catalog = with_kpi_definitions(dict(catalog))
    for key, entry in catalog.items():
        for lang in LANGS:
            text = entry.get(lang)
            if text is None:
                problems.append(f"{key}: missing language {lang!r}")
            elif not text.strip():
                problems.append(f"{key}: empty text for {lang!r}")
        fields: dict[str, set[str]] = {}
        for lang, text in entry.items():
            try:
                fields[lang] = _fields(text)
            except ValueError as exc:
                problems.append(f"{key}: {lang} text is not a valid template ({exc})")
        if len({frozenset(f) for f in fields.values()}) > 1:
            detail = ", ".join(f"{lang}: {sorted(f)}" for lang, f in sorted(fields.items()))
            problems.append(f"{key}: placeholders differ between languages ({detail})")
    for kpi in KPI_CATALOG.values():
        for key in (f"kpi.{kpi.key}", f"kpi.{kpi.key}.def", f"unit.{kpi.unit}"):
            if key not in catalog:
                problems.append(f"{key}: missing (needed by review.kpis.KPI_CATALOG)")
    for dim, codes in CODE_DIMENSIONS.items():
        for code in codes:
            if f"code.{dim}.{code}" not in catalog:
                problems.append(f"code.{dim}.{code}: missing label of a contract code")
    families = [key.split(".", 1)[0] for key in catalog]
    closed: set[str] = set()
    for prev, fam in zip(["", *families], families, strict=False):
        if fam != prev:
            if fam in closed:
                problems.append(f"{fam}.*: keys of this family are split into several blocks; "
                                "keep them together")
            closed.add(prev)
    return sorted(set(problems))


def check_lang(lang: str) -> None:
    """Raise ``ValueError`` unless ``lang`` is one of :data:`LANGS`."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; expected one of {list(LANGS)}")


def t(key: str, lang: str, **fmt: object) -> str:
    """The text of ``key`` in ``lang``, with ``{field}`` placeholders filled from ``fmt``.

    Raises ``ValueError`` for a language other than ``zh``/``en`` and ``KeyError`` naming the
    key (and close matches) when it is not in the catalog or a needed field is not given.
    """
    check_lang(lang)
    catalog = _catalog()
    entry = catalog.get(key)
    if entry is None:
        close = difflib.get_close_matches(key, list(catalog), n=3)
        hint = f"; did you mean {close}?" if close else ""
        raise KeyError(f"i18n key {key!r} is not in {CATALOG_PATH.name}; add it with zh and en "
                       f"texts{hint}")
    try:
        return entry[lang].format(**fmt)
    except KeyError as exc:
        raise KeyError(f"i18n key {key!r} needs the field {exc.args[0]!r}; "
                       f"given: {sorted(fmt)}") from None


def has(key: str) -> bool:
    """Whether ``key`` is in the catalog."""
    return key in _catalog()


def keys() -> set[str]:
    """Every key of the catalog."""
    return set(_catalog())


def code_label(dimension: str, code: object, lang: str) -> str:
    """Label of a data code (``code.<dimension>.<code>``), or the code itself when unlabelled.

    Age bands, regions and experiment variants other than ``control`` have no labels and are
    shown as they are, except the open codes ``other``/``unknown`` of any dimension (其他/未知); a missing value (``None``/``NaN``) gives ``"—"``.
    """
    check_lang(lang)
    if code is None or (isinstance(code, float) and code != code):
        return "—"
    key = f"code.{dimension}.{code}"
    if has(key):
        return t(key, lang)
    if code in contract.OPEN_CODES:  # any dimension: 其他 / 未知 (Other / Unknown)
        return t(f"code.open.{code}", lang)
    return str(code)


def data_label(name: object, lang: str,
               labels: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """Display name of a data-borne name (a region, campaign, milestone, benchmark source) in
    ``lang``: the params' ``labels[lang][name]``, else the name as it is (``"—"`` if missing).
    """
    check_lang(lang)
    if name is None or (isinstance(name, float) and name != name):
        return "—"
    text = str(name)
    return str((labels or {}).get(lang, {}).get(text, text))


def join_list(items: Iterable[object], lang: str) -> str:
    """Items as one phrase: ``"a、b"`` in Chinese, ``"a, b"`` in English."""
    check_lang(lang)
    return ("、" if lang == "zh" else ", ").join(str(i) for i in items)
