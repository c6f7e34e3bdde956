"""`autobuild demo` end to end (skipped without $AUTOBUILD_DATA)."""

import json

import pytest

from autobuild.cli.main import main

pytestmark = [pytest.mark.integration, pytest.mark.data]


def test_demo_writes_report_and_summary(tmp_path, nasbench_available, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--n-labeled", "60", "--seed", "1", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "built_arch",
        "reduced_archs",
        "labelled_archs",
        "reranked_arch",
        "built_rank",
        "reduced_best_rank",
        "reranked_rank",
        "labelled_best_rank",
        "n_labelled",
        "k",
    ):
        assert key in summary
    assert len(summary["reduced_archs"]) == 27
    assert len(summary["labelled_archs"]) == 60
    assert summary["built_arch"] == summary["reduced_archs"][0]
    assert summary["reranked_arch"] in summary["reduced_archs"]
    assert 1 <= summary["reduced_best_rank"] <= summary["built_rank"] <= 6561
    report = (out / "report.md").read_text()
    for png in (
        "hop_spearman.png",
        "feature_importance.png",
        "subgraphs.png",
        "accuracy_histogram.png",
    ):
        assert (out / png).stat().st_size > 1000
        assert png in report
    assert (out / "subgraph_scores.csv").is_file()
    page = (out / "report.html").read_text(encoding="utf-8")  # the same report, in one page
    assert page.count('src="data:image/png;base64,') >= 4
    assert "optimum of the space" in page
    assert "optimum of the space" in capsys.readouterr().out
