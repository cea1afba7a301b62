"""Tests of the presentation layer: i18n, charts, tables, rendering, browser."""
