"""Tests of autobuild.reports.html: the self-contained HTML page of an output folder."""

from __future__ import annotations

import importlib.util
import json
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.unit.reports.html_folders import make_folders

from autobuild.cli.main import main
from autobuild.exceptions import DataError
from autobuild.reports import write_demo_report, write_html_report, write_study_report
from autobuild.reports.demo import FIGURES
from autobuild.reports.html import FOLDER_FILES, MAX_ROWS, detect_kinds

requires_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None, reason="matplotlib is not installed"
)
DATA_URI = 'src="data:image/png;base64,'

# Figures each folder's page holds (embedded when in the folder, else drawn).
FIGURE_COUNT = {"train": 1, "score": 2, "build": 2, "ensemble": 1, "search": 1, "combined": 5}
SECTION = {
    "train": "Predictor (autobuild train)",
    "score": "Module scores and feature importance (autobuild score)",
    "build": "Built architectures (autobuild build)",
    "ensemble": "Ensemble (autobuild ensemble)",
    "search": "Search (autobuild search)",
}


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_folders(
        tmp_path_factory.mktemp("outputs"),
        ("train", "score", "build", "combined", "ensemble", "search"),
    )


def network_urls(page: str) -> list[str]:
    """Every src/href/url() that would load something over the network."""
    refs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", page, flags=re.I)
    refs += re.findall(r"""url\(\s*["']?([^"')]+)""", page, flags=re.I)
    return [r for r in refs if not r.startswith("data:")] + re.findall(r"https?://", page)


def copy_folder(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    (dst / "report.html").unlink(missing_ok=True)
    return dst


# --------------------------------------------------------------------------------------------
# Every kind of folder
# --------------------------------------------------------------------------------------------


@requires_matplotlib
@pytest.mark.parametrize("kind", ["train", "score", "build", "ensemble", "search", "combined"])
def test_each_folder_kind_renders(
    folders: dict[str, Path], kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = copy_folder(folders[kind], tmp_path / kind)
    with caplog.at_level(logging.WARNING, logger="autobuild"):
        path = write_html_report(folder)
    assert path == folder / "report.html"
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count(DATA_URI) == FIGURE_COUNT[kind]
    assert '<table class="sortable"' in page
    assert "Figures left out" not in page
    assert network_urls(page) == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    kinds = ("train", "score", "build") if kind == "combined" else (kind,)
    assert detect_kinds(folder) == kinds
    for k in kinds:
        assert f"<h2>{SECTION[k]}</h2>" in page
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".")]
    assert leftovers == []


@requires_matplotlib
def test_folder_contents_show_in_the_tables(folders: dict[str, Path], tmp_path: Path) -> None:
    build = write_html_report(folders["build"], tmp_path / "b.html").read_text()
    first = (folders["build"] / "built.csv").read_text().splitlines()[1]
    arch_id = first.split(",")[1].strip('"')
    assert f"<td>{arch_id}</td>" in build
    assert '<th scope="row">distinct</th>' in build  # the reduced space's size

    train = write_html_report(folders["train"], tmp_path / "t.html").read_text()
    metrics = json.loads((folders["train"] / "metrics.json").read_text())
    assert f"<td>{metrics['n_train']}</td>" in train
    assert "Held-out Spearman correlation of each hop" in train

    search = write_html_report(folders["search"], tmp_path / "s.html").read_text()
    assert "The Pareto front" in search
    assert "Every evaluation" in search

    ens = write_html_report(folders["ensemble"], tmp_path / "e.html").read_text()
    assert "s0_f0" in ens
    assert "s0_f1" in ens


def test_out_file_leaves_the_folder_alone(folders: dict[str, Path], tmp_path: Path) -> None:
    before = sorted(p.name for p in folders["build"].iterdir())
    path = write_html_report(folders["build"], tmp_path / "sub" / "page.html")
    assert path.is_file()
    assert sorted(p.name for p in folders["build"].iterdir()) == before


@pytest.mark.usefixtures("no_matplotlib")
def test_without_matplotlib_tables_and_a_hint(
    folders: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="autobuild"):
        page = write_html_report(folders["combined"], tmp_path / "r.html").read_text()
    assert "<img" not in page
    assert '<table class="sortable"' in page
    assert "Figures left out:" in page
    assert "pip install &#x27;autobuild[plot]&#x27;" in page
    left_out = page.split("Figures left out:")[1].split("</p>")[0]
    for title in ("Spearman correlation per hop", "Feature importance", "The top-K modules"):
        assert title in left_out
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "matplotlib" in warnings[0].getMessage()


@pytest.mark.usefixtures("no_matplotlib")
def test_figures_in_the_folder_are_embedded_without_matplotlib(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    folder = copy_folder(folders["search"], tmp_path / "search")
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    (folder / "front.png").write_bytes(png)
    page = write_html_report(folder).read_text()
    assert page.count(DATA_URI) == 1
    assert "Figures left out" not in page


# --------------------------------------------------------------------------------------------
# Markup: escaping, sorting, no network
# --------------------------------------------------------------------------------------------


def test_values_are_html_escaped(tmp_path: Path) -> None:
    evil = '<script>alert("x")</script>&amp;'
    (tmp_path / "built.csv").write_text(
        f'rank,arch_id,arch,score\n1,"{evil.replace(chr(34), chr(34) * 2)}","[]",1.5\n'
        '2,"a<b",[],0.5\n'
    )
    page = write_html_report(tmp_path, title="<b>title</b>").read_text()
    assert evil not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;amp;" in page
    assert "<td>a&lt;b</td>" in page
    assert "<title>&lt;b&gt;title&lt;/b&gt;</title>" in page
    assert page.count("<script>") == 1  # the page's own sorting script only


def test_sortable_table_markup(tmp_path: Path) -> None:
    rows = "rank,arch_id,arch,score\n" + "".join(
        f"{i},a{i},[],{v}\n" for i, v in enumerate([3.5, float("nan"), 10.0], start=1)
    )
    (tmp_path / "built.csv").write_text(rows)
    page = write_html_report(tmp_path).read_text()
    table = page.split('<table class="sortable"')[1].split("</table>")[0]
    assert '<th scope="col" class=num data-type="number">rank</th>' in table
    assert '<th scope="col" data-type="text">arch_id</th>' in table
    assert '<td class="num" data-sort="3.5">3.5</td>' in table
    assert '<td class="num" data-sort="">–</td>' in table  # NaN: no sort key, sorts last
    assert '<td class="num" data-sort="10.0">10</td>' in table
    assert "<thead>" in table
    assert "<tbody>" in table
    assert 'querySelectorAll("table.sortable")' in page
    assert "aria-sort" in page
    assert network_urls(page) == []
    assert "Content-Security-Policy" in page


def test_long_tables_are_cut_and_name_their_file(tmp_path: Path) -> None:
    n = MAX_ROWS + 7
    (tmp_path / "built.csv").write_text(
        "rank,arch_id,score\n" + "".join(f"{i},a{i},{i}\n" for i in range(n))
    )
    page = write_html_report(tmp_path).read_text()
    assert f"first {MAX_ROWS} of {n} rows; all of them are in built.csv" in page
    table = page.split('<table class="sortable"')[1].split("</table>")[0]
    assert table.count("<tr>") == MAX_ROWS + 1


# --------------------------------------------------------------------------------------------
# Wrong folders
# --------------------------------------------------------------------------------------------


def test_wrong_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="holds no output of an autobuild command") as err:
        write_html_report(tmp_path)
    for files in FOLDER_FILES.values():
        for name in files:
            assert name in str(err.value)
    with pytest.raises(DataError, match="does not exist"):
        write_html_report(tmp_path / "missing")
    with pytest.raises(DataError, match="is a file"):
        write_html_report(tmp_path / "notes.txt")
    assert not (tmp_path / "report.html").exists()


def test_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "ensemble.json").write_text("{not json")
    with pytest.raises(DataError, match=r"ensemble\.json"):
        write_html_report(tmp_path)


def test_cli_report(
    folders: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "page.html"
    assert main(["report", str(folders["build"]), "--out", str(out)]) == 0
    assert f"(build): {out}" in capsys.readouterr().out
    assert out.is_file()
    assert main(["report", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("autobuild report: error: ")
    assert "does not exist" in err
    assert "Traceback" not in err
    assert main(["report"]) == 2
    assert "give the output folder" in capsys.readouterr().err
    assert main(["report", "--study", "s"]) == 2
    assert "--study needs --out" in capsys.readouterr().err
    assert main(["report", str(folders["build"]), "--study", "s", "--out", str(out)]) == 2
    assert main(["report", str(folders["build"]), "--storage", "sqlite:///x.db"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["report", "--help"])
    assert exc.value.code == 0
    assert "report.html" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# The demo folder and studies
# --------------------------------------------------------------------------------------------


@requires_matplotlib
def test_demo_folder(folders: dict[str, Path], tmp_path: Path) -> None:
    """A demo folder (report.md, its PNGs, summary.json, scores) embeds the demo's figures."""
    from tests.unit.reports.test_reports import report_kwargs

    rng = np.random.default_rng(0)
    write_demo_report(tmp_path, **report_kwargs(93.0 - rng.gamma(2.0, 0.9, 500)))
    for name in ("feature_importance.csv", "value_importance.csv", "subgraph_scores.csv"):
        (tmp_path / name).write_bytes((folders["score"] / name).read_bytes())
    table = report_kwargs(np.zeros(1))["summary_table"]
    (tmp_path / "summary.json").write_text(json.dumps({"table": table, "n_labelled": 100}))
    assert detect_kinds(tmp_path) == ("demo", "score")
    page = write_html_report(tmp_path).read_text()
    assert page.count(DATA_URI) == len(FIGURES)  # the four PNGs of the demo, none redrawn
    assert "<td>22212220</td>" in page
    assert "True accuracy and rank of each result" in page
    assert network_urls(page) == []


def test_study_report(tmp_path: Path, tiny_space: Any) -> None:
    from autobuild.study import RandomSampler, create_study

    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    with create_study(
        tiny_space, "acc:max,lat:min", storage=storage, name="s1", sampler=RandomSampler()
    ) as study:
        trials = study.ask(4)
        for i, trial in enumerate(trials[:3]):
            study.tell(trial, {"acc": 90.0 + i, "lat": 5.0 - i % 2})
    out = tmp_path / "study.html"
    assert write_study_report("s1", storage, out) == out
    page = out.read_text()
    assert "<h2>Study s1</h2>" in page
    for text in ("Best trials", "Every trial", "pending", "complete"):
        assert text in page
    assert '<table class="sortable"' in page
    assert network_urls(page) == []
    if importlib.util.find_spec("matplotlib") is not None:
        assert page.count(DATA_URI) == 1
    assert main(["report", "--study", "s1", "--storage", storage, "--out", str(out)]) == 0
    assert main(["report", "--study", "nope", "--storage", storage, "--out", str(out)]) == 1
