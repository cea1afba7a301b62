"""Presentation: house theme and charts, KPI tables, findings, i18n and HTML rendering."""
