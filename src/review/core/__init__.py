"""The bottom layer: small pure helpers every other layer may use.

Nothing here imports from ``review`` above it (only the standard library and
:mod:`review.errors`/:mod:`review.paths`), so any module can depend on it without cycles.
The layers and the rule that enforces them are drawn in README.md ("Architecture").

Modules
-------
``calendar``     month arithmetic on :class:`datetime.date`
``fingerprint``  ``sha256:`` digests: canonical JSON, files, folders, the package's code
``files``        atomic writes (file, JSON, a whole folder or store) and canonical JSON text
``environment``  ``review`` version, git commit and library versions (provenance)
``validation``   pydantic validation errors as one readable message per key
"""
