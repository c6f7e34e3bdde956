"""Tests of autobuild.reports: the figures (PNG files) and the demo's Markdown report."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autobuild.reports import (
    plot_accuracy_histogram,
    plot_feature_importance,
    plot_hop_spearman,
    plot_subgraph_chains,
    write_demo_report,
)
from autobuild.reports._style import MATPLOTLIB_HINT
from autobuild.reports.demo import FIGURES, markdown_table
from autobuild.scoring.tables import CategoryImportance, FeatureImportance, ValueImportance

requires_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None, reason="matplotlib is not installed"
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAN = float("nan")


# --------------------------------------------------------------------------------------------
# Helpers and fixtures
# --------------------------------------------------------------------------------------------


def assert_png(path: Path, *, min_side: int = 200) -> None:
    """``path`` is a non-empty PNG that matplotlib reads back with a plausible shape."""
    from matplotlib.image import imread

    assert path.is_file()
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = imread(path)
    assert image.ndim == 3
    assert image.shape[2] in (3, 4)
    assert min(image.shape[:2]) >= min_side
    assert max(image.shape[:2]) <= 20_000
    assert float(np.std(image[..., :3])) > 0.01  # something was drawn


def assert_no_temp_files(folder: Path) -> None:
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]
    assert leftovers == []


def importance(*, single_value: bool = False) -> FeatureImportance:
    values = [
        ValueImportance("stage", 1, 0.3, 100),
        ValueImportance("stage", 2, 0.5, 100),
        ValueImportance("layer", 1, 0.6, 50),
        ValueImportance("layer", 2, 0.4, 50),
        ValueImportance("op", "proj", 0.4, 80),
        ValueImportance("op", "mb3_k3", 1.1, 80),
        ValueImportance("op", "mb6_k5", 1.6, 80),
    ]
    categories = [
        CategoryImportance("stage", 0.18, 1.0, 0.1),
        CategoryImportance("layer", 0.27, 1.1, 0.2),
        CategoryImportance("op", 0.55, 2.0, 0.3),
    ]
    if single_value:
        values.append(ValueImportance("resolution", 224, 0.5, 300))
        categories.append(CategoryImportance("resolution", 0.05, 0.5, 0.0))
    return FeatureImportance(tuple(categories), tuple(values))


def ops(*names: str) -> list[dict[str, Any]]:
    return [{"op": n} for n in names]


def nb_macro_chains() -> dict[str, dict[str, list[tuple[Sequence[Mapping[str, Any]], float]]]]:
    return {
        "s1": {
            "best": [(ops("mb6_k5", "mb6_k5", "mb3_k3"), 93.0), (ops("mb6_k5"), 92.9)],
            "worst": [(ops("proj"), 90.1), (ops("proj", "proj"), 90.4)],
        },
        "s2": {
            "best": [(ops("mb6_k5", "mb3_k3"), 92.7)],
            "worst": [(ops("proj", "proj", "proj"), 89.9)],
        },
    }


@pytest.fixture
def space_values() -> np.ndarray:
    rng = np.random.default_rng(0)
    bulk = 93.1 - rng.gamma(2.0, 0.9, 2000)
    tail = rng.uniform(45.0, 88.0, 20)
    return np.clip(np.concatenate([bulk, tail]), 45.0, 93.1)


def report_kwargs(space_values: np.ndarray) -> dict[str, Any]:
    return {
        "title": "AutoBuild demo on NAS-Bench-Macro",
        "summary_table": [
            {
                "what": "built top-1",
                "arch": "22212220",
                "accuracy": 93.13,
                "rank": 1.5,
                "evaluations": 101,
            },
            {
                "what": "K=3 space best",
                "arch": "22212221",
                "accuracy": 93.126,
                "rank": 3.0,
                "evaluations": 128,
            },
        ],
        "hop_srcc": [0.2, 0.5, 0.7],
        "predictor_srcc": 0.85,
        "feature_importance": importance(),
        "chains": nb_macro_chains(),
        "space_values": space_values,
        "marks": {"built top-1": 93.13, "K=3 best": 93.13, "random median": 91.0},
        "notes": ["Trained on 100 labelled architectures.", "Seed 0."],
    }


# --------------------------------------------------------------------------------------------
# plot_hop_spearman
# --------------------------------------------------------------------------------------------


@requires_matplotlib
def test_hop_spearman_writes_png(tmp_path: Path) -> None:
    out = plot_hop_spearman(
        tmp_path / "hop.png",
        [0.21, 0.48, 0.67, 0.74, 0.79],
        0.86,
        reference=[0.2, 0.5, 0.7, 0.8, 0.9],
    )
    assert out == tmp_path / "hop.png"
    assert_png(out)
    assert out.stat().st_mode & 0o777 == 0o644  # not the private mode of a temporary file
    assert_no_temp_files(tmp_path)


@requires_matplotlib
@requires_matplotlib
@requires_matplotlib
@pytest.mark.parametrize(
    ("hops", "pred", "ref"),
    [
        pytest.param([0.95], None, None, id="single-hop"),
        pytest.param([0.95], 0.97, [0.9, 0.99], id="single-hop-pred-ref"),
        pytest.param([NAN, 0.4, NAN], 0.6, None, id="nan-hops"),
        pytest.param([NAN], None, None, id="all-nan"),
        pytest.param([-0.3, 0.1], -0.1, [NAN, -0.5], id="negative"),
        pytest.param([0.2, 0.3], None, [0.1, 0.2, 0.3, 0.4], id="long-reference"),
        pytest.param([], 0.5, None, id="prediction-only"),
    ],
)
def test_hop_spearman_edge_cases(
    tmp_path: Path, hops: list[float], pred: float | None, ref: list[float] | None
) -> None:
    assert_png(plot_hop_spearman(tmp_path / "hop.png", hops, pred, reference=ref))


@requires_matplotlib
def test_hop_spearman_creates_parent_folders(tmp_path: Path) -> None:
    assert_png(plot_hop_spearman(tmp_path / "a" / "b" / "hop.png", [0.1, 0.2]))


@requires_matplotlib
def test_plot_replaces_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "hop.png"
    target.write_bytes(b"old")
    plot_hop_spearman(target, [0.1, 0.2])
    assert_png(target)
    assert_no_temp_files(tmp_path)


# --------------------------------------------------------------------------------------------
# plot_feature_importance
# --------------------------------------------------------------------------------------------


@requires_matplotlib
def test_feature_importance_writes_png(tmp_path: Path) -> None:
    assert_png(plot_feature_importance(tmp_path / "fi.png", importance()))
    assert_no_temp_files(tmp_path)


@requires_matplotlib
def test_feature_importance_category_with_one_value(tmp_path: Path) -> None:
    assert_png(plot_feature_importance(tmp_path / "fi.png", importance(single_value=True)))


@requires_matplotlib
def test_feature_importance_values_without_category_row(tmp_path: Path) -> None:
    fi = FeatureImportance(
        (CategoryImportance("kernel", 1.0, 1.0, 0.0),),
        (ValueImportance("kernel", 3, 0.2, 5), ValueImportance("expand", 6, 0.0, 0)),
    )
    assert_png(plot_feature_importance(tmp_path / "fi.png", fi))


@requires_matplotlib
def test_feature_importance_empty(tmp_path: Path) -> None:
    assert_png(plot_feature_importance(tmp_path / "fi.png", FeatureImportance((), ())))


# --------------------------------------------------------------------------------------------
# plot_subgraph_chains
# --------------------------------------------------------------------------------------------


@requires_matplotlib
def test_subgraph_chains_writes_png(tmp_path: Path) -> None:
    assert_png(plot_subgraph_chains(tmp_path / "chains.png", nb_macro_chains()))
    assert_no_temp_files(tmp_path)


@requires_matplotlib
def test_subgraph_chains_one_layer(tmp_path: Path) -> None:
    chains = {"s1": {"best": [(ops("mb6_k5"), 93.0)]}}
    assert_png(plot_subgraph_chains(tmp_path / "c.png", chains), min_side=100)


@requires_matplotlib
def test_subgraph_chains_multi_feature_grow_with_rows(tmp_path: Path) -> None:
    from matplotlib.image import imread

    rng = np.random.default_rng(0)

    def layers(n: int) -> list[dict[str, Any]]:
        return [
            {"expand": int(rng.choice([3, 4, 6])), "kernel": int(rng.choice([3, 5, 7]))}
            for _ in range(n)
        ]

    big = {
        f"s{u}": {
            "best": [(layers(5), 80.0 - j) for j in range(3)],
            "worst": [(layers(1 + j), 70.0 + j) for j in range(3)],
        }
        for u in range(1, 6)
    }
    small = {"s1": {"best": [(layers(5), 80.0)], "worst": [(layers(2), 70.0)]}}
    big_png = plot_subgraph_chains(tmp_path / "big.png", big, value_range=(60.0, 90.0))
    small_png = plot_subgraph_chains(tmp_path / "small.png", small)
    assert_png(big_png)
    assert_png(small_png)
    assert imread(big_png).shape[0] > 3 * imread(small_png).shape[0]


@pytest.mark.parametrize(
    "chains",
    [
        pytest.param({}, id="empty"),
        pytest.param({"s1": {"best": [], "worst": []}}, id="no-rows"),
        pytest.param({"s1": {"worst": [(ops("proj"), 1.0)]}}, id="worst-only"),
        pytest.param({"s1": {"best": [(ops("proj"), 1.0), (ops("proj"), 1.0)]}}, id="equal"),
        pytest.param({"s1": {"best": [([], 1.0), (ops("proj"), NAN)]}}, id="empty-layers-nan"),
        pytest.param(
            {"s5+s6": {"best": [([{"op": "a", "flag": True, "w": 0.25}], 2.0)]}},
            id="three-features",
        ),
    ],
)
def test_subgraph_chains_edge_cases(tmp_path: Path, chains: Any) -> None:
    assert_png(plot_subgraph_chains(tmp_path / "c.png", chains), min_side=100)


# --------------------------------------------------------------------------------------------
# plot_accuracy_histogram
# --------------------------------------------------------------------------------------------


@requires_matplotlib
def test_accuracy_histogram_writes_png(tmp_path: Path, space_values: np.ndarray) -> None:
    marks = {"built top-1": 93.1, "K=3 best": 93.1, "K=3 median": 92.6, "random": 91.0}
    assert_png(plot_accuracy_histogram(tmp_path / "h.png", space_values, marks))
    assert_no_temp_files(tmp_path)


@pytest.mark.parametrize("log", [True, False])
@requires_matplotlib
def test_accuracy_histogram_coinciding_marks(
    tmp_path: Path, space_values: np.ndarray, log: bool
) -> None:
    marks = {"a": 92.0, "b": 92.0, "c": 92.0, "d": 92.01, "e": NAN}
    assert_png(plot_accuracy_histogram(tmp_path / "h.png", space_values, marks, log=log))


@pytest.mark.parametrize(
    ("values", "marks"),
    [
        pytest.param([], {}, id="empty"),
        pytest.param([91.0] * 10, {"x": 91.0}, id="constant"),
        pytest.param([90.0, 91.0, NAN, 92.0], {"far below": 50.0}, id="mark-below-zoom"),
    ],
)
def test_accuracy_histogram_edge_cases(
    tmp_path: Path, values: list[float], marks: dict[str, float]
) -> None:
    assert_png(plot_accuracy_histogram(tmp_path / "h.png", values, marks))


# --------------------------------------------------------------------------------------------
# Missing matplotlib
# --------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_matplotlib")
def test_plots_raise_import_error_with_hint(tmp_path: Path) -> None:
    with pytest.raises(ImportError, match=r"pip install 'autobuild\[plot\]'"):
        plot_hop_spearman(tmp_path / "hop.png", [0.1])
    with pytest.raises(ImportError, match="matplotlib"):
        plot_subgraph_chains(tmp_path / "c.png", nb_macro_chains())
    assert MATPLOTLIB_HINT.startswith("Plots need matplotlib")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# Markdown report
# --------------------------------------------------------------------------------------------


def test_markdown_table_formats_cells() -> None:
    table = markdown_table(
        [
            {"what": "a|b", "accuracy": 93.126, "rank": 1.5, "n": 3},
            {"what": "c", "accuracy": NAN, "rank": 3281.0, "n": None, "extra": True},
        ]
    )
    lines = table.splitlines()
    assert lines[0] == "| what | accuracy | rank | n | extra |"
    assert lines[1] == "|---|---:|---:|---:|---|"
    assert lines[2] == "| a\\|b | 93.13 | 1.5 | 3 | – |"
    assert lines[3] == "| c | – | 3281 | – | yes |"
    assert markdown_table([]) == ""


def test_markdown_table_numpy_scalars() -> None:
    table = markdown_table(
        [{"accuracy": np.float32(93.126), "rank": np.float64(2.0), "n": np.int64(7)}]
    )
    assert table.splitlines()[1:] == ["|---:|---:|---:|", "| 93.13 | 2 | 7 |"]


@requires_matplotlib
def test_write_demo_report(tmp_path: Path, space_values: np.ndarray) -> None:
    out = tmp_path / "report"
    path = write_demo_report(out, **report_kwargs(space_values))
    assert path == out / "report.md"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# AutoBuild demo on NAS-Bench-Macro\n")
    assert "| what | arch | accuracy | rank | evaluations |" in text
    assert "| built top-1 | 22212220 | 93.13 | 1.5 | 101 |" in text
    for name in FIGURES.values():
        assert f"]({name})" in text
        assert_png(out / name)
    assert "Spearman correlation" in text
    assert "top value `mb6_k5`" in text  # top value per category, in text
    assert "- Trained on 100 labelled architectures." in text
    assert "pip install" not in text
    assert sorted(p.name for p in out.iterdir()) == sorted([*FIGURES.values(), "report.md"])


@pytest.mark.usefixtures("no_matplotlib")
def test_write_demo_report_without_matplotlib(
    tmp_path: Path, space_values: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="autobuild.reports"):
        path = write_demo_report(tmp_path, **report_kwargs(space_values))

    text = path.read_text(encoding="utf-8")
    assert "pip install 'autobuild[plot]'" in text
    assert "![" not in text
    assert ".png" not in text
    assert "| what | arch | accuracy | rank | evaluations |" in text
    assert "top value `mb6_k5`" in text
    assert "mb6_k5 → mb6_k5 → mb3_k3" in text  # the subgraphs as text instead
    assert "built top-1: 93.13" in text
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "matplotlib" in warnings[0].getMessage()


@requires_matplotlib
def test_write_demo_report_minimal(tmp_path: Path) -> None:
    path = write_demo_report(
        tmp_path,
        title="t",
        summary_table=[],
        hop_srcc=[NAN],
        predictor_srcc=None,
        feature_importance=FeatureImportance((), ()),
        chains={},
        space_values=[],
        marks={},
    )
    text = path.read_text(encoding="utf-8")
    assert "_No results._" in text
    assert "hop 0: n/a" in text
    assert "## Notes" not in text
    assert_no_temp_files(tmp_path)
