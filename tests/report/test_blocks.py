"""Every report block renders for a normal period, an empty period and a partial source."""

import inspect
from dataclasses import replace

import pytest

from review.config import load_params
from review.metrics import compute_period
from review.paths import PARAMS_DIR
from review.report import blocks, show
from review.report.i18n import t

BLOCKS = [f for name, f in inspect.getmembers(blocks, inspect.isfunction)
          if f.__module__ == blocks.__name__ and not name.startswith("_")
          and list(inspect.signature(f).parameters)[:2] == ["pm", "cfg"]]


@pytest.fixture
def shown(monkeypatch):
    """What the blocks display, as HTML strings."""
    out: list[str] = []
    monkeypatch.setattr(show, "display", lambda obj: out.append(obj.data))
    return out


def _render_all(pm, cfg):
    for block in BLOCKS:
        block(pm, cfg)
    blocks.section_title("goals", pm, cfg)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_block_renders_the_demo_period(demo_params, demo_metrics, shown, lang):
    cfg = demo_params("2026-09").model_copy(update={"lang": lang})
    pm = demo_metrics("2026-09")
    _render_all(pm, cfg)
    html = "\n".join(shown)
    assert html.count("<img") >= 20
    unavailable = t("report.unavailable", lang, tables="\x00").split("\x00")[0]
    assert unavailable not in html  # nothing unavailable
    assert t("block.problems", lang) in html
    # the provenance shown is the one of the store these metrics came from
    assert pm.provenance["data"] in html and pm.provenance["metrics_code"] in html


def test_an_empty_period_shows_notes_not_errors(demo_params, demo_metrics, shown):
    _render_all(demo_metrics("2001-01"), demo_params("2001-01"))
    assert t("narr.no_data", "en") in "\n".join(shown)


def test_metrics_computed_without_the_cache_show_no_provenance(demo_params, demo_metrics,
                                                               shown):
    pm = demo_metrics("2026-09")
    blocks.provenance(replace(pm, provenance={}), demo_params("2026-09"))
    assert t("narr.no_provenance", "en") in "\n".join(shown)


class _Only:
    """A source exposing only some tables of another."""

    def __init__(self, con, names):
        self._con, self._names = con, names

    def list_tables(self):
        return list(self._names)

    def table(self, name):
        return self._con.table(name)


def test_a_source_without_spend_and_surveys_says_what_is_missing(demo_con, shown):
    cfg = load_params(PARAMS_DIR / "2026-09.yaml")
    partial = _Only(demo_con, ["users", "events", "transactions", "balances", "regions"])
    _render_all(compute_period(partial, cfg), cfg)
    html = "\n".join(shown)
    assert t("report.unavailable", "en", tables="spend") in html  # budget blocks
    assert t("report.unavailable", "en", tables="surveys, complaints") in html  # satisfaction


def test_blocks_are_value_objects_rendered_in_one_place(demo_params, demo_metrics, shown):
    # tests read what a block shows instead of counting <img> tags in its HTML
    cfg = demo_params("2026-09").model_copy(update={"lang": "zh"})
    pm = demo_metrics("2026-09")
    trends = blocks.goal_trends.build(pm, cfg)
    assert isinstance(trends, blocks.Block) and trends.kinds == ["heading", "chart", "chart",
                                                                 "chart"]
    assert [f.axes[0].get_title(loc="left") for f in trends.figures] == [
        t("kpi.mau_ratio", "zh"), t("kpi.reactivation_rate", "zh"), t("kpi.nps", "zh")]
    tiles = blocks.kpi_tiles.build(pm, cfg)
    assert tiles.kinds == ["html", "heading", "html"]
    assert 'class="verdict"' in tiles.parts[0][1] and "kpi-tile" in tiles.parts[2][1]
    plan = blocks.plan.build(pm, cfg)
    assert 'data-block="plan"' in plan.to_html()
    # displaying a block is one output: the same HTML
    blocks.plan(pm, cfg)
    assert shown == [plan.to_html()]
