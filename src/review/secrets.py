"""Credentials in data sources: ``${ENV_VAR}`` references, resolved only at connect time.

Kept free of heavy imports: notebooks and the runner use :func:`redact` without loading an
engine.
"""

from __future__ import annotations

import html
import json
import os
import re

from review.errors import DataSourceError

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: Resolved values shorter than this are not redacted (they would match everywhere).
MIN_SECRET_LENGTH = 4


def env_refs(source: str) -> list[str]:
    """Names of the environment variables ``source`` refers to (``${VAR}``), in order."""
    return _ENV_REF.findall(source)


def has_env_refs(source: str) -> bool:
    """Whether ``source`` refers to an environment variable (``${VAR}``)."""
    return bool(_ENV_REF.search(source))


def resolve_env(source: str) -> str:
    """Replace every ``${VAR}`` in ``source`` by the environment's value.

    Raises :class:`DataSourceError` naming the variable (never a value) when one is unset.
    """
    missing = [m for m in _ENV_REF.findall(source) if m not in os.environ]
    if missing:
        raise DataSourceError(
            f"data source refers to environment variable(s) {', '.join(missing)} "
            "which are not set; export them before running"
        )
    return _ENV_REF.sub(lambda m: os.environ[m.group(1)], source)


def redact(text: str, source: str | None = None) -> str:
    """``text`` as it may be shown or written: the one redactor of the package.

    * Any password part of a URL in ``text`` (``scheme://user:…@``) is masked as ``***``.
    * When ``source`` is given (a data source as written, with ``${VAR}`` references), every
      resolved value of its variables found in ``text`` is put back as its ``${VAR}``, also
      as it appears inside JSON strings and HTML. Values shorter than
      :data:`MIN_SECRET_LENGTH` characters are left alone.
    """
    text = re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)
    for name in env_refs(source or ""):
        value = os.environ.get(name, "")
        if len(value) < MIN_SECRET_LENGTH:
            continue
        ref = "${" + name + "}"
        for form in dict.fromkeys((value, json.dumps(value)[1:-1], html.escape(value))):
            text = text.replace(form, ref)
    return text
