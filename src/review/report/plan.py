"""总结与下期计划: the period's assessment and the drafted next-period plan, as HTML.

The rules are :mod:`review.metrics.plan` (tested there on hand-built numbers); this module
only words their result in the report's language:

1. **Overall assessment** — one sentence from the KPI statuses.
2. **What worked / what did not** — the best green and worst red KPIs with their numbers, the
   campaigns to scale and to stop with theirs.
3. **Next-period plan (draft)** — the budget shift with its expected new users; proposed
   targets (table); campaigns to scale, continue or stop (table).
4. A slot for the analyst's ``plan`` commentary (:mod:`review.report.commentary`).

Every data-borne name goes through :func:`review.report.i18n.data_label` or a code label, and
every text is escaped.
"""

from __future__ import annotations

import html as _html
from collections.abc import Mapping
from typing import Any

from review.metrics import plan as rules
from review.metrics.result import KpiValue
from review.report.i18n import check_lang, code_label, data_label, t
from review.report.numbers import format_value
from review.report.tables import format_target

#: The KPIs' tables in :class:`~review.metrics.result.PeriodMetrics` the plan reads.
LTV_CAC_TABLE = "budget.ltv_cac"
CAMPAIGNS_TABLE = "campaigns.summary"


def _e(text: object) -> str:
    return _html.escape(str(text), quote=True)


def _kpi_label(key: str, lang: str) -> str:
    return t(f"kpi.{key}", lang)


def _kpi_evidence(k: KpiValue, lang: str, currency: str) -> str:
    return t("plan.kpi_evidence", lang, kpi=_kpi_label(k.key, lang),
             value=format_value(k.value, k.unit, lang, currency=currency),
             target=format_target(k.target, k.unit, k.direction, lang, currency=currency),
             attainment=format_value(k.attainment, "ratio", lang))


def assessment_sentence(a: rules.Assessment, lang: str) -> str:
    """The one-sentence verdict of :func:`review.metrics.plan.assess`."""
    check_lang(lang)
    if not a.rated:
        return t("plan.verdict.none", lang)
    return t(f"plan.verdict.{a.verdict}", lang, rated=a.rated, green=a.green, amber=a.amber,
             red=a.red)


def budget_sentence(s: rules.BudgetShift | None, lang: str, currency: str) -> str:
    """The budget shift as one sentence (or why there is none)."""
    if s is None:
        return t("plan.budget_none", lang)
    ch = {"from_channel": code_label("acquisition_channel", s.from_channel, lang),
          "to_channel": code_label("acquisition_channel", s.to_channel, lang)}
    return t("plan.budget_shift", lang, **ch,
             amount=format_value(s.amount, "currency", lang, currency=currency),
             share=format_value(rules.DEFAULT_SHIFT_SHARE, "ratio", lang),
             to_ratio=format_value(s.to_ltv_cac, "multiple", lang),
             from_ratio=format_value(s.from_ltv_cac, "multiple", lang),
             to_cac=format_value(s.to_cac, "currency", lang, currency=currency),
             from_cac=format_value(s.from_cac, "currency", lang, currency=currency),
             gained=format_value(s.gained_users, "count", lang),
             lost=format_value(s.lost_users, "count", lang),
             net=format_value(s.net_users, "count", lang))


def campaign_sentence(d: rules.CampaignDecision, lang: str, currency: str) -> str:
    """Why a campaign is scaled, continued or stopped, with its numbers."""
    return t(f"plan.reason.{d.reason}", lang,
             inc=format_value(d.incremental, "count", lang),
             lo=format_value(d.incremental_lo, "count", lang),
             hi=format_value(d.incremental_hi, "count", lang),
             roi=format_value(d.roi, "ratio", lang),
             roi_lo=format_value(d.roi_lo, "ratio", lang),
             roi_hi=format_value(d.roi_hi, "ratio", lang),
             cost=format_value(d.cost, "currency", lang, currency=currency),
             participants=format_value(d.participants, "count", lang))


def _table(head: list[str], rows: list[list[str]], cls: str) -> str:
    """Cells are HTML already escaped by the caller."""
    th = "".join(f'<th scope="col">{_e(h)}</th>' for h in head)
    body = "".join("<tr>" + "".join(
        (f'<th scope="row">{c}</th>' if i == 0 else f"<td>{c}</td>") for i, c in enumerate(r))
        + "</tr>" for r in rows)
    return (f'<div class="table-wrap"><table class="{cls}"><thead><tr>{th}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def plan_html(kpis: Mapping[str, KpiValue], tables: Mapping[str, Any], *, lang: str,
              currency: str = "CNY", labels: Mapping[str, Mapping[str, str]] | None = None
              ) -> str:
    """The 总结与下期计划 part of the evaluation section (``data-block="plan"``).

    Parameters
    ----------
    kpis, tables
        The period's :class:`~review.metrics.result.PeriodMetrics` ``kpis`` and ``tables``.
    lang, currency, labels
        The params' language, currency and ``labels``.
    """
    check_lang(lang)
    values = list(kpis.values())
    a = rules.assess(values)
    parts = ['<div data-commentary-slot="evaluation"></div>',
             '<div class="plan" data-block="plan">',
             f'<h3 id="plan">{_e(t("plan.title", lang))}</h3>',
             f'<h4>{_e(t("plan.assessment", lang))}</h4>',
             f'<p class="verdict">{_e(assessment_sentence(a, lang))}</p>']

    decisions = rules.campaign_decisions(tables.get(CAMPAIGNS_TABLE))

    def names(kind: str) -> list[str]:
        out = []
        for d in decisions:
            if d.decision == kind:
                name = data_label(d.name or d.campaign_id, lang, labels)
                out.append(f"{_e(name)}：{_e(campaign_sentence(d, lang, currency))}"
                           if lang == "zh" else
                           f"{_e(name)}: {_e(campaign_sentence(d, lang, currency))}")
        return out

    worked = [_e(_kpi_evidence(kpis[k], lang, currency)) for k in a.worked] + names("scale")
    did_not = [_e(_kpi_evidence(kpis[k], lang, currency)) for k in a.did_not] + names("stop")
    for key, items in (("plan.worked", worked), ("plan.did_not", did_not)):
        parts.append(f"<h4>{_e(t(key, lang))}</h4>")
        parts.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>" if items
                     else f'<p class="note">{_e(t("plan.nothing", lang))}</p>')

    parts.append(f'<h4>{_e(t("plan.next", lang))}</h4>')
    parts.append(f'<p><strong>{_e(t("plan.budget", lang))}</strong> '
                 f"{_e(budget_sentence(rules.budget_shift(tables.get(LTV_CAC_TABLE)), lang, currency))}"
                 "</p>")
    parts.append(f'<p class="note">{_e(t("plan.budget_assumption", lang))}</p>')

    proposals = rules.propose_targets(values)
    if proposals:
        rows = []
        for p in proposals:
            k = kpis[p.key]

            def fmt(v: float, k: KpiValue = k) -> str:
                return _e(format_value(v, k.unit, lang, currency=currency))

            rows.append([_e(_kpi_label(p.key, lang)), fmt(p.value),
                         _e(format_target(p.target, k.unit, k.direction, lang,
                                          currency=currency)),
                         fmt(p.forecast),
                         _e(format_target(p.proposed, k.unit, k.direction, lang,
                                          currency=currency)),
                         _e(t(f"plan.basis.{p.basis}", lang))])
        parts.append(f'<p><strong>{_e(t("plan.targets", lang))}</strong></p>')
        parts.append(_table([t("col.kpi", lang), t("col.value", lang), t("col.target", lang),
                             t("plan.col.forecast", lang), t("plan.col.proposed", lang),
                             t("plan.col.basis", lang)], rows, "plan-targets"))
    if decisions:
        rows = [[_e(data_label(d.name or d.campaign_id, lang, labels)),
                 _e(t(f"plan.decision.{d.decision}", lang)),
                 _e(campaign_sentence(d, lang, currency))] for d in decisions]
        parts.append(f'<p><strong>{_e(t("plan.campaigns", lang))}</strong></p>')
        parts.append(_table([t("plan.col.campaign", lang), t("plan.col.decision", lang),
                             t("plan.col.why", lang)], rows, "plan-campaigns"))
    parts.append('<div data-commentary-slot="plan"></div></div>')
    return "".join(parts)
