"""The report's blocks: one module per section of the outline (README.md, "What you get").

Notebook cells call these, one per block: ``blocks.user_base(pm, cfg)``. Each block reads the
period's :class:`~review.metrics.result.PeriodMetrics` (never raw data) and builds a
:class:`~review.report.blocks._base.Block`: a value object holding what it shows, in order
(heading, a short narrative built from the numbers, charts, tables, notes), all in
``cfg.lang`` through the i18n catalog (keys ``block.*``, ``narr.*``, ``title.*``). The
functions of this package display that block (rendered in one place,
:meth:`Block.to_html`); ``<block>.build(pm, cfg)`` returns it without displaying, for tests
and for composing. A block whose breakdown tables are missing shows "not available: needs
table …" and the notebook goes on.

Modules: :mod:`._base` (Block, shared helpers, section titles), :mod:`.summary`,
:mod:`.market`, :mod:`.goals`, :mod:`.execution`, :mod:`.budget`, :mod:`.evaluation`,
:mod:`.appendix`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from review.report import show
from review.report.blocks import (
    _base,
    appendix,
    budget,
    evaluation,
    execution,
    goals,
    market,
    summary,
)
from review.report.blocks._base import Block
from review.report.blocks.execution import LATE_MILESTONES, milestone_status

__all__ = ["Block", "LATE_MILESTONES", "milestone_status"]


def _displayed(builder: Callable[..., Block]) -> Callable[..., None]:
    """The notebook-facing block: builds the :class:`Block`, then displays it."""

    @functools.wraps(builder)
    def block(*args: object, **kwargs: object) -> None:
        show.block(builder(*args, **kwargs))

    block.__module__ = __name__
    block.build = builder  # type: ignore[attr-defined]
    return block


def _findings_list(items, cfg, **kwargs) -> None:  # noqa: ANN001  (tests and notebooks)
    """Display findings as the problems block lists them (see ``_base._findings_list``)."""
    out = Block("findings")
    _base._findings_list(out, items, cfg, **kwargs)
    show.block(out)


section_title = _displayed(_base.section_title)

# summary
report_header = _displayed(summary.report_header)
overview = _displayed(summary.overview)
kpi_tiles = _displayed(summary.kpi_tiles)
top_findings = _displayed(summary.top_findings)

# market
user_base = _displayed(market.user_base)
segment_mix = _displayed(market.segment_mix)
channel_preference = _displayed(market.channel_preference)
functional_layering = _displayed(market.functional_layering)
logins_and_light_ops = _displayed(market.logins_and_light_ops)
security = _displayed(market.security)
penetration = _displayed(market.penetration)
benchmarks = _displayed(market.benchmarks)

# goals
targets_table = _displayed(goals.targets_table)
goal_trends = _displayed(goals.goal_trends)

# execution
milestones = _displayed(execution.milestones)
campaign_reach = _displayed(execution.campaign_reach)
delivery_by_channel = _displayed(execution.delivery_by_channel)
stability = _displayed(execution.stability)

# budget
budget_plan_vs_actual = _displayed(budget.budget_plan_vs_actual)
money_bridge = _displayed(budget.money_bridge)
burn_down = _displayed(budget.burn_down)
cac = _displayed(budget.cac)
campaign_roi = _displayed(budget.campaign_roi)
ltv = _displayed(budget.ltv)

# evaluation
funnel = _displayed(evaluation.funnel)
retention = _displayed(evaluation.retention)
experiments = _displayed(evaluation.experiments)
satisfaction = _displayed(evaluation.satisfaction)
risk_indicators = _displayed(evaluation.risk_indicators)
problems_and_suggestions = _displayed(evaluation.problems_and_suggestions)
plan = _displayed(evaluation.plan)

# appendix
data_quality = _displayed(appendix.data_quality)
provenance = _displayed(appendix.provenance)

__all__ += ["section_title", "report_header", "overview", "kpi_tiles", "top_findings", "user_base", "segment_mix", "channel_preference", "functional_layering", "logins_and_light_ops", "security", "penetration", "benchmarks", "targets_table", "goal_trends", "milestones", "campaign_reach", "delivery_by_channel", "stability", "budget_plan_vs_actual", "money_bridge", "burn_down", "cac", "campaign_roi", "ltv", "funnel", "retention", "experiments", "satisfaction", "risk_indicators", "problems_and_suggestions", "plan", "data_quality", "provenance"]
