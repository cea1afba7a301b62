"""Pydantic validation errors as one readable message: every problem, named by its key."""

from __future__ import annotations

from pydantic import ValidationError


def format_validation_error(exc: ValidationError, *, origin: str, what: str,
                            unknown_key_hint: str) -> str:
    """``"<origin>: invalid <what>"`` then one line per problem: ``  key.path: message``.

    Parameters
    ----------
    exc
        The pydantic error.
    origin
        Where the input came from (a file path, "notebook"…).
    what
        What was being validated ("parameters", "import mapping").
    unknown_key_hint
        Said of an unknown key, e.g. ``"see README.md, Parameters"``.
    """
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key (check the spelling; {unknown_key_hint})"
        lines.append(f"  {key}: {msg}")
    return f"{origin}: invalid {what}\n" + "\n".join(lines)
