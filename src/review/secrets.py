"""Credentials in data sources: ``${ENV_VAR}`` references, resolved only at connect time.

Kept free of heavy imports: notebooks and the runner use :func:`redact` without loading an
engine.
"""

from __future__ import annotations

import os
import re

from review.errors import DataSourceError

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


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


def redact(source: str) -> str:
    """The source as it may be shown: any password part of a URL (``user:…@``) is masked."""
    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", source)
