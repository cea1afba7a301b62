"""Milestones: statuses are decided on codes at the period's end; only late ones count late."""

from datetime import date

import pytest

from review.config import Params
from review.metrics.result import PeriodMetrics
from review.report import blocks, show
from review.report.i18n import t

END = date(2026, 9, 30)  # the period 2026-09 ends on 30 September


@pytest.mark.parametrize(("planned", "actual", "status"), [
    (date(2026, 9, 10), date(2026, 9, 8), "done_on_time"),   # 2 days early
    (date(2026, 9, 10), date(2026, 9, 10), "done_on_time"),  # on the day
    (date(2026, 9, 10), date(2026, 9, 15), "done_late"),     # 5 days late
    (date(2026, 10, 15), None, "pending"),                   # due after the period: not late
    (date(2026, 9, 20), None, "overdue"),                    # due in the period, not done
    (END, None, "overdue"),                                  # due on the last day, not done
])
def test_milestone_status_known_answers(planned, actual, status):
    assert blocks.milestone_status(planned, actual, END) == status


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pending_milestones_are_not_counted_late(monkeypatch, lang):
    shown: list[str] = []
    monkeypatch.setattr(show, "display", lambda obj: shown.append(obj.data))
    cfg = Params.from_dict({
        "period": "2026-09", "start": "2026-09-01", "end": "2026-09-30", "lang": lang,
        "milestones": [
            {"name": "on time", "planned": "2026-09-10", "actual": "2026-09-08"},
            {"name": "late", "planned": "2026-09-10", "actual": "2026-09-15"},
            {"name": "next month", "planned": "2026-10-15"},
            {"name": "forgotten", "planned": "2026-09-20"},
        ]})
    pm = PeriodMetrics(period="2026-09", start="2026-09-01", end="2026-09-30",
                       compare_start="2026-08-01", compare_end="2026-08-31", lang=lang,
                       currency="CNY")
    blocks.milestones(pm, cfg)
    html = "\n".join(shown)
    # 4 milestones; not done on time: "late" (done late) + "forgotten" (overdue) = 2;
    # "next month" is pending (planned after 30 Sept) and does not count
    assert t("narr.milestones", lang, n=4, late=2) in html
    for status in ("done_on_time", "done_late", "pending", "overdue"):
        assert t(f"milestone.{status}", lang) in html
