"""Data-borne names in the reader's language: params ``labels`` and ``data_label``."""

from __future__ import annotations

import math

import pytest

from review.config import load_params
from review.errors import ParamsError
from review.paths import PARAMS_DIR
from review.report.i18n import data_label


def test_data_label_uses_the_params_labels_of_the_language():
    labels = {"zh": {"Wenzhou": "温州"}, "en": {"推荐有礼": "Refer a friend"}}
    assert data_label("Wenzhou", "zh", labels) == "温州"
    assert data_label("Wenzhou", "en", labels) == "Wenzhou"  # no en label: as it is
    assert data_label("推荐有礼", "en", labels) == "Refer a friend"
    assert data_label("Ningbo", "zh", None) == "Ningbo"
    assert data_label(None, "zh", labels) == "—" and data_label(math.nan, "en", labels) == "—"


def test_labels_are_checked_by_language(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text('period: "2026-01"\nstart: "2026-01-01"\nend: "2026-01-31"\n'
                 "labels: {fr: {Wenzhou: Wenzhou}}\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="labels"):
        load_params(f)


@pytest.mark.parametrize("period", ["2026-08", "2026-09", "2026-10", "2026-Q3"])
def test_demo_regions_milestones_and_benchmarks_have_zh_labels(period):
    from review.data.demo import _REGIONS

    p = load_params(PARAMS_DIR / f"{period}.yaml")
    zh = p.labels["zh"]
    assert all(region in zh for region, _, _ in _REGIONS)
    assert all(m.name in zh for m in p.milestones)
    for name in ("industry", "Peer Bank A", "Industry NPS survey", "App stores"):
        assert name in zh


def test_tables_label_data_borne_names_and_keep_code_labels():
    import pandas as pd
    from bs4 import BeautifulSoup

    from review.report.tables import Col, data_table, translate_codes

    df = pd.DataFrame({"region": ["Wenzhou", "Atlantis"], "channel": ["branch", "branch"],
                       "users": [120, 80]})
    labels = {"zh": {"Wenzhou": "温州", "branch": "NOT USED"}}
    html = data_table(df, [Col("region", "col.region"),
                           Col("channel", "col.channel", codes="acquisition_channel"),
                           Col("users", "col.users", "count")], "zh", labels=labels)
    rows = [[td.get_text() for td in tr.find_all("td")]
            for tr in BeautifulSoup(html, "html.parser").select("tbody tr")]
    # a catalog code label wins over params labels; an unlabelled name stays as it is
    assert rows == [["温州", "网点", "120"], ["Atlantis", "网点", "80"]]
    out = translate_codes(df, "region", "zh", labels=labels)
    assert out["region"].tolist() == ["温州", "Atlantis"] and df["region"][0] == "Wenzhou"


def test_labels_are_not_in_the_metrics_cache_key():
    from review.cache import metrics_key

    p = load_params(PARAMS_DIR / "2026-10.yaml")
    relabelled = p.model_copy(update={"labels": {"zh": {"Wenzhou": "温州市"}}})
    retargeted = p.model_copy(update={"currency": "USD"})
    key = metrics_key(p, data_fp="sha256:x", code="sha256:y")
    assert metrics_key(relabelled, data_fp="sha256:x", code="sha256:y") == key
    assert metrics_key(retargeted, data_fp="sha256:x", code="sha256:y") != key
