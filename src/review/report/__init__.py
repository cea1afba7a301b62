"""Presentation: house theme and charts, KPI tables, findings, i18n, blocks and HTML rendering.

Modules: :mod:`~review.report.i18n` (the zh/en catalog), :mod:`~review.report.theme` and
:mod:`~review.report.charts` (figures), :mod:`~review.report.tables` (formatted HTML tables),
:mod:`~review.report.show` (what notebook cells display), :mod:`~review.report.findings`
(problems and suggestions), :mod:`~review.report.blocks` (the report's blocks, one per
notebook cell) and :mod:`~review.report.render` (self-contained HTML via nbconvert).
Import the one you need: ``from review.report import blocks``.
"""
