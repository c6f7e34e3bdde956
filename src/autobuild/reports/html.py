"""One self-contained HTML page of an output folder (``autobuild report``).

:func:`write_html_report` reads the files a command wrote into its output folder and turns
them into ``report.html``: the folder's numbers as tables (sortable by clicking a column
header, with a few lines of inline JavaScript; the page reads just as well without it) and
its figures embedded as PNG ``data:`` URIs. The page needs no network: it names no external
URL and its Content-Security-Policy forbids loading anything.

The folders it knows (:data:`FOLDER_FILES` lists the files that identify each):

* ``demo`` -- ``autobuild demo``: the summary table and the demo's four figures;
* ``train`` -- a checkpoint: held-out metrics, the hop correlations, the configuration;
* ``ensemble`` -- an ensemble folder: its members and their held-out correlations;
* ``score`` -- module scores and feature importance;
* ``build`` -- the ranked architectures and the reduced space (top-K modules per unit);
* ``search`` -- the Pareto front and every evaluation.

A folder written by several commands (e.g. ``score`` and ``build`` with one ``--out``) gets
a section for each. :func:`write_study_report` does the same for a study in its storage.

Figures a folder already holds (``front.png``, the demo's PNGs) are embedded as they are;
the others are drawn from the folder's data, which needs matplotlib (``pip install
'autobuild[plot]'``). Without it the page still shows every table and says which figures
were left out and how to get them.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import logging
import math
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeGuard

from autobuild._atomic import write_text_atomic
from autobuild.exceptions import DataError
from autobuild.reports._style import MATPLOTLIB_HINT

if TYPE_CHECKING:
    from autobuild.scoring.tables import FeatureImportance

__all__ = [
    "FOLDER_FILES",
    "MAX_ROWS",
    "REPORT_FILE",
    "FolderKind",
    "detect_kinds",
    "write_html_report",
    "write_study_report",
]

logger = logging.getLogger(__name__)

#: The kinds of output folder :func:`write_html_report` knows.
FolderKind: TypeAlias = Literal["demo", "train", "ensemble", "score", "build", "search"]

#: The files that identify each kind of folder (all of them must be present).
FOLDER_FILES: dict[FolderKind, tuple[str, ...]] = {
    "demo": ("summary.json", "report.md"),
    "train": ("predictor.json", "metrics.json"),
    "ensemble": ("ensemble.json",),
    "score": ("feature_importance.csv", "value_importance.csv"),
    "build": ("built.csv",),
    "search": ("evaluated.csv", "pareto.json"),
}

_COMMAND_OF: dict[FolderKind, str] = {
    "demo": "autobuild demo",
    "train": "autobuild train",
    "ensemble": "autobuild ensemble",
    "score": "autobuild score",
    "build": "autobuild build",
    "search": "autobuild search",
}

#: Name of the page written into the folder by default.
REPORT_FILE = "report.html"

#: Rows shown per table; longer tables show their first rows and name the file with all.
MAX_ROWS = 500

_INSTALL_HINT = "pip install 'autobuild[plot]'"

# --------------------------------------------------------------------------------------------
# The page's building blocks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Figure:
    """A figure: the PNG ``file`` of the folder when present, else drawn by ``draw``."""

    file: str
    title: str
    caption: str
    draw: Callable[[Path], object] | None = None


_Block: TypeAlias = "str | _Figure"


@dataclass
class _Section:
    title: str
    blocks: list[_Block] = field(default_factory=list)


@dataclass
class _Figures:
    """What became of the figures while rendering: embedded, or left out (and why)."""

    embedded: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _para(text: str) -> str:
    return f"<p>{_esc(text)}</p>"


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cell_text(value: Any) -> str:
    """Display form of a cell: integers as such, other numbers with 4 significant digits."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _table(
    rows: Sequence[Mapping[str, Any]],
    *,
    caption: str = "",
    columns: Sequence[str] | None = None,
    source: str = "",
) -> str:
    """A sortable HTML table of ``rows`` (the union of their keys as header).

    Columns whose values are all numbers are right-aligned and sort numerically (their cells
    carry the raw value in ``data-sort``). At most :data:`MAX_ROWS` rows are shown; ``source``
    names the file that holds them all.
    """
    keys: list[str] = list(columns or [])
    if columns is None:
        for row in rows:
            keys.extend(k for k in row if k not in keys)
    if not rows or not keys:
        return _para(f"{caption}: none." if caption else "No rows.")
    numeric = {
        k: all(_is_number(r[k]) for r in rows if r.get(k) is not None)
        and any(r.get(k) is not None for r in rows)
        for k in keys
    }
    shown = rows[:MAX_ROWS]
    head = "".join(
        f'<th scope="col"{" class=num" if numeric[k] else ""}'
        f' data-type="{"number" if numeric[k] else "text"}">{_esc(k)}</th>'
        for k in keys
    )
    body = []
    for row in shown:
        cells = []
        for k in keys:
            value = row.get(k)
            if numeric[k]:
                sort = f"{float(value)!r}" if _is_number(value) and math.isfinite(value) else ""
                cells.append(f'<td class="num" data-sort="{sort}">{_esc(_cell_text(value))}</td>')
            else:
                cells.append(f"<td>{_esc(_cell_text(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(rows) > len(shown):
        where = f"; all of them are in {source}" if source else ""
        more = f" (first {len(shown)} of {len(rows)} rows{where})"
    cap = f'<h3 class="cap">{_esc(caption + more)}</h3>' if caption or more else ""
    label = f' aria-label="{_esc(caption)}"' if caption else ""
    return (
        f'{cap}<div class="scroll"><table class="sortable"{label}><thead><tr>{head}</tr>'
        f"</thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _key_values(pairs: Iterable[tuple[str, Any]], caption: str = "") -> str:
    """A two-column table of ``(name, value)`` pairs (not sortable: the order is the point)."""
    rows = "".join(
        f'<tr><th scope="row">{_esc(k)}</th><td>{_esc(_cell_text(v))}</td></tr>' for k, v in pairs
    )
    cap = f'<h3 class="cap">{_esc(caption)}</h3>' if caption else ""
    return f'{cap}<table class="pairs"><tbody>{rows}</tbody></table>'


# --------------------------------------------------------------------------------------------
# Reading the folder's files
# --------------------------------------------------------------------------------------------


def _number(text: str) -> Any:
    """A CSV cell as a number when it is one, else the text (empty: ``None``)."""
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value


def _read_csv(path: Path) -> list[dict[str, Any]]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return [{k: _number(v or "") for k, v in row.items()} for row in csv.DictReader(fh)]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"Cannot read {path}: {err}; rerun the command that wrote it.") from err


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"Cannot read {path}: {err}; rerun the command that wrote it.") from err


def _without_arch(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without their long ``arch`` JSON column when an ``arch_id`` column names them."""
    if rows and "arch_id" in rows[0] and "arch" in rows[0]:
        return [{k: v for k, v in r.items() if k != "arch"} for r in rows]
    return rows


def _floats(values: Iterable[Any]) -> list[float]:
    return [float(v) if _is_number(v) else math.nan for v in values]


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


# --------------------------------------------------------------------------------------------
# One section per kind of folder
# --------------------------------------------------------------------------------------------


def _demo_section(folder: Path) -> _Section:
    from autobuild.reports.demo import _CAPTIONS, FIGURES

    summary = _read_json(folder / "summary.json")
    section = _Section("Demo: what was built and how good it is")
    table = summary.get("table") if isinstance(summary, dict) else None
    if isinstance(table, list):
        section.blocks.append(_table(table, caption="True accuracy and rank of each result"))
    if isinstance(summary, dict):
        keys = ("n_labelled", "k", "seed", "built_arch", "built_accuracy", "heldout_srcc")
        section.blocks.append(
            _key_values([(k, summary[k]) for k in keys if k in summary], "Settings and results")
        )
    for key in ("hop_spearman", "accuracy_histogram"):
        title = key.replace("_", " ").capitalize()
        section.blocks.append(_Figure(FIGURES[key], title, _CAPTIONS[key]))
    return section


def _hop_figure(file: str, hop_srcc: Sequence[float], srcc: float | None, title: str) -> _Figure:
    def draw(path: Path) -> object:
        from autobuild.reports.plots import plot_hop_spearman

        return plot_hop_spearman(path, hop_srcc, srcc, title=title)

    return _Figure(
        file,
        "Spearman correlation per hop",
        "Each bar is the Spearman correlation between the L1 norm of the graph embedding at "
        "that hop and the target on held-out architectures (the orange bar: the prediction "
        "itself); the higher, the more that hop's module scores can be trusted.",
        draw,
    )


def _train_section(folder: Path) -> _Section:
    metrics = _read_json(folder / "metrics.json")
    if not isinstance(metrics, dict):
        raise DataError(f"{folder / 'metrics.json'} holds no object; rerun autobuild train.")
    section = _Section("Predictor (autobuild train)")
    keys: tuple[str, ...] = ("target", "space", "data", "n_train", "n_test", "srcc", "kendall")
    keys += ("mae",)
    keys += ("preset", "seed", "train_seconds")
    section.blocks.append(
        _key_values([(k, metrics[k]) for k in keys if k in metrics], "Held-out metrics")
    )
    hops = _floats(metrics.get("hop_srcc") or [])
    if hops:
        section.blocks.append(
            _table(
                [{"hop": i, "spearman": v} for i, v in enumerate(hops)],
                caption="Held-out Spearman correlation of each hop's embedding norm",
            )
        )
        srcc = metrics.get("srcc")
        section.blocks.append(
            _hop_figure(
                "hop_spearman.png",
                hops,
                float(srcc) if _is_number(srcc) else None,
                "Held-out Spearman correlation of each hop's embedding norm",
            )
        )
    if isinstance(metrics.get("baselines"), dict):
        section.blocks.append(
            _table(
                [{"model": k, "spearman": v} for k, v in metrics["baselines"].items()],
                caption="Baselines' held-out Spearman on the same split (one-hot features)",
            )
        )
    if isinstance(metrics.get("blend"), dict):
        section.blocks.append(_key_values(metrics["blend"].items(), "Stacking of the prediction"))
    if isinstance(metrics.get("config"), dict):
        section.blocks.append(_key_values(metrics["config"].items(), "Configuration"))
    return section


def _ensemble_section(folder: Path) -> _Section:
    index = _read_json(folder / "ensemble.json")
    members = index.get("members") if isinstance(index, dict) else None
    if not isinstance(members, list):
        raise DataError(f"{folder / 'ensemble.json'} lists no members; rerun autobuild ensemble.")
    section = _Section("Ensemble (autobuild ensemble)")
    section.blocks.append(
        _key_values(
            [("space", index.get("space")), ("members", len(members))]
            + [(k, v) for k, v in index.items() if k in ("folds", "seeds", "direction")]
        )
    )
    rows = []
    n_hops = max((len(m.get("hop_srcc") or []) for m in members), default=0)
    for m in members:
        hops = _floats(m.get("hop_srcc") or [])
        row = {k: m.get(k) for k in ("name", "fold", "shuffle", "seed", "srcc", "n_train")}
        row |= {f"hop {i}": hops[i] if i < len(hops) else None for i in range(n_hops)}
        rows.append(row)
    section.blocks.append(_table(rows, caption="Members and their held-out Spearman"))
    if n_hops:
        mean_hops = [_mean(_floats(r[f"hop {i}"] for r in rows)) for i in range(n_hops)]
        srcc = _mean(_floats(m.get("srcc") for m in members))
        section.blocks.append(
            _hop_figure(
                "ensemble_hop_spearman.png",
                mean_hops,
                srcc if math.isfinite(srcc) else None,
                "Members' mean held-out Spearman correlation per hop",
            )
        )
    return section


def _importance(folder: Path) -> FeatureImportance:
    from autobuild.scoring.tables import CategoryImportance, FeatureImportance, ValueImportance

    cats = _read_csv(folder / "feature_importance.csv")
    values = _read_csv(folder / "value_importance.csv")
    try:
        return FeatureImportance(
            tuple(
                CategoryImportance(str(c["category"]), float(c["share"]), 0.0, 0.0) for c in cats
            ),
            tuple(
                ValueImportance(str(v["category"]), v["value"], float(v["score"]), int(v["count"]))
                for v in values
            ),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise DataError(
            f"Unexpected feature importance files in {folder} ({err}); rerun autobuild score."
        ) from err


def _layers(subgraph: Any) -> list[Mapping[str, Any]]:
    """A module's layers, flattened over the stages of a unit of several stages."""
    if isinstance(subgraph, str):
        try:
            subgraph = json.loads(subgraph)
        except json.JSONDecodeError:
            return [{"layer": subgraph}]
    if not isinstance(subgraph, list):
        return []
    out: list[Mapping[str, Any]] = []
    for item in subgraph:
        if isinstance(item, list):
            out.extend(x for x in item if isinstance(x, dict))
        elif isinstance(item, dict):
            out.append(item)
    return out


def _chains_figure(file: str, chains: Any, title: str, caption: str) -> _Figure:
    def draw(path: Path) -> object:
        from autobuild.reports.chains import plot_subgraph_chains

        return plot_subgraph_chains(path, chains, title=title)

    return _Figure(file, title, caption, draw)


def _score_section(folder: Path) -> _Section:
    importance = _importance(folder)
    section = _Section("Module scores and feature importance (autobuild score)")
    scores_path = folder / "subgraph_scores.csv"
    if scores_path.is_file():
        scores = _read_csv(scores_path)
        unit_of = "stage" if scores and "stage" in scores[0] else "unit"
        by_unit: dict[str, list[dict[str, Any]]] = {}
        for row in scores:
            by_unit.setdefault(str(row.get(unit_of)), []).append(row)
        best = [r for rows in by_unit.values() for r in rows[:5]]
        section.blocks.append(
            _table(
                best,
                caption="The 5 best-scored modules of each unit",
            )
        )
        chains = {
            unit: {
                "best": [(_layers(r.get("subgraph")), _score(r)) for r in rows[:3]],
                "worst": [(_layers(r.get("subgraph")), _score(r)) for r in rows[-3:][::-1]]
                if len(rows) > 3
                else [],
            }
            for unit, rows in by_unit.items()
        }
        section.blocks.append(
            _chains_figure(
                "subgraphs.png",
                chains,
                "Highest- and lowest-scored modules per stage",
                "Each row is one module drawn as its chain of layers from input to output, "
                "coloured by its score; for every unit the highest-scored modules are on top.",
            )
        )
        section.blocks.append(
            _table(scores, caption="Every module's score", source=scores_path.name)
        )
    section.blocks.append(
        _table(
            [{"category": c.category, "share": c.share} for c in importance.categories],
            caption="Share of the hop-0 embedding norm per feature category",
        )
    )
    section.blocks.append(
        _table(
            [
                {"category": v.category, "value": v.value, "score": v.score, "count": v.count}
                for v in importance.values
            ],
            caption="Score of each feature value (count: training nodes with that value)",
        )
    )
    if (folder / "op_importance.png").is_file():  # an IR checkpoint's figure
        section.blocks.append(
            _Figure("op_importance.png", "Op-type importance", "Op-type importance.")
        )
    else:

        def draw(path: Path) -> object:
            from autobuild.reports.plots import plot_feature_importance

            return plot_feature_importance(path, importance)

        section.blocks.append(
            _Figure(
                "feature_importance.png",
                "Feature importance",
                "Left: the share of a node's hop-0 embedding norm each feature category "
                "contributes; right: the scalar the feature MLP gives each value.",
                draw,
            )
        )
    return section


def _score(row: Mapping[str, Any]) -> float:
    value = row.get("score")
    return float(value) if _is_number(value) else math.nan


def _build_section(folder: Path) -> _Section:
    built = _read_csv(folder / "built.csv")
    section = _Section("Built architectures (autobuild build)")
    reduced_path = folder / "reduced_space.json"
    if reduced_path.is_file():
        reduced = _read_json(reduced_path)
        if isinstance(reduced, dict):
            section.blocks.append(
                _key_values(
                    [(k, reduced.get(k)) for k in ("space", "k", "direction", "size", "distinct")],
                    "Reduced space",
                )
            )
            units = reduced.get("units") or []
            chains = {
                str(u.get("unit")): {
                    "best": [
                        (_layers(sg), float(s))
                        for sg, s in zip(u.get("subgraphs", []), u.get("scores", []), strict=False)
                    ]
                }
                for u in units
                if isinstance(u, dict)
            }
            if chains:
                section.blocks.append(
                    _chains_figure(
                        "reduced_space.png",
                        chains,
                        "The top-K modules kept per unit",
                        "The reduced space combines these modules, one per unit; each row is "
                        "one module, coloured by its score.",
                    )
                )
    section.blocks.append(
        _table(
            _without_arch(built), caption="Ranked architectures, best first", source="built.csv"
        )
    )
    scores = [v for v in _floats(r.get("score") for r in built) if math.isfinite(v)]
    if len(scores) >= 2:

        def draw(path: Path) -> object:
            from autobuild.reports.plots import plot_accuracy_histogram

            return plot_accuracy_histogram(
                path,
                scores,
                {"top-1": scores[0]},
                xlabel="score",
                log=False,
                title=f"Scores of the {len(scores)} ranked architectures",
                low_percentile=0.0,
                bins=min(60, max(10, len(scores) // 2)),
            )

        section.blocks.append(
            _Figure(
                "built_scores.png",
                "Scores of the ranked architectures",
                "How the scores of the ranked architectures spread; the line marks the top-1.",
                draw,
            )
        )
    return section


def _search_section(folder: Path) -> _Section:
    pareto = _read_json(folder / "pareto.json")
    evaluated = _read_csv(folder / "evaluated.csv")
    if not isinstance(pareto, dict):
        raise DataError(f"{folder / 'pareto.json'} holds no object; rerun autobuild search.")
    objectives = [(str(o[0]), str(o[1])) for o in pareto.get("objectives", [])]
    front = [
        {"arch_id": p.get("arch_id"), **(p.get("metrics") or {})}
        if isinstance(p.get("metrics"), dict)
        else {k: v for k, v in p.items() if k not in ("arch", "index")}
        for p in pareto.get("pareto", [])
        if isinstance(p, dict)
    ]
    if (folder / "pareto.csv").is_file():
        front = _without_arch(_read_csv(folder / "pareto.csv"))
    states: dict[str, int] = {}
    for row in evaluated:
        status = str(row.get("status") or "ok")
        states[status] = states.get(status, 0) + 1
    section = _Section("Search (autobuild search)")
    section.blocks.append(
        _key_values(
            [
                ("objectives", ", ".join(f"{m}:{d}" for m, d in objectives)),
                ("constraints", ", ".join(map(str, pareto.get("constraints") or [])) or "none"),
                ("evaluations", len(evaluated)),
                *((f"status {k}", v) for k, v in states.items()),
                ("on the Pareto front", len(front)),
            ]
        )
    )
    section.blocks.append(_table(front, caption="The Pareto front", source="pareto.csv"))
    if len(objectives) == 2:
        ok = [r for r in evaluated if str(r.get("status") or "ok") == "ok"]
        values = [[_floats([r.get(m)])[0] for m, _ in objectives] for r in ok]

        def draw(path: Path) -> object:
            from autobuild.reports.fronts import plot_fronts

            return plot_fronts(
                path,
                {"search": (values, [d for _, d in objectives])},
                objectives,
                title=f"Pareto front of {len(evaluated)} evaluations",
            )

        section.blocks.append(
            _Figure(
                "front.png",
                "Pareto front",
                "The non-dominated evaluations joined by their attainment staircase.",
                draw if values else None,
            )
        )
    section.blocks.append(
        _table(_without_arch(evaluated), caption="Every evaluation", source="evaluated.csv")
    )
    return section


_SECTIONS: dict[FolderKind, Callable[[Path], _Section]] = {
    "demo": _demo_section,
    "train": _train_section,
    "ensemble": _ensemble_section,
    "score": _score_section,
    "build": _build_section,
    "search": _search_section,
}


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def detect_kinds(folder: str | Path) -> tuple[FolderKind, ...]:
    """The kinds of output the folder holds (see :data:`FOLDER_FILES`), in report order.

    Args:
        folder: An output folder of ``autobuild train``, ``score``, ``build``, ``demo``,
            ``ensemble`` or ``search``.

    Returns:
        Every kind whose files are all in ``folder`` (at least one).

    Raises:
        DataError: ``folder`` is not a folder, or holds none of those sets of files (the
            message lists what each command writes).
    """
    path = Path(folder)
    if not path.is_dir():
        what = "is a file" if path.exists() else "does not exist"
        raise DataError(
            f"{path} {what}; give the output folder of an autobuild command "
            "(train, score, build, demo, ensemble or search)."
        )
    kinds = tuple(
        kind for kind, files in FOLDER_FILES.items() if all((path / f).is_file() for f in files)
    )
    if not kinds:
        expected = "; ".join(
            f"{_COMMAND_OF[k]}: {', '.join(files)}" for k, files in FOLDER_FILES.items()
        )
        raise DataError(
            f"{path} holds no output of an autobuild command; expected the files of one of "
            f"them ({expected}). Give the --out folder of such a command."
        )
    return kinds


def write_html_report(
    folder: str | Path,
    out: str | Path | None = None,
    *,
    title: str | None = None,
) -> Path:
    """Write one self-contained HTML page of an output folder.

    Args:
        folder: Output folder of ``autobuild train``, ``score``, ``build``, ``demo``,
            ``ensemble`` or ``search`` (several of them in one folder get a section each).
        out: The HTML file to write (atomically); default: ``FOLDER/report.html``.
        title: Title of the page; default: names the folder.

    Returns:
        The path of the written page.

    Raises:
        DataError: ``folder`` is not an output folder of those commands, or one of its files
            cannot be read.
    """
    path = Path(folder)
    kinds = detect_kinds(path)
    sections = [_SECTIONS[kind](path) for kind in kinds]
    page_title = title or f"AutoBuild report: {path.resolve().name}"
    intro = f"Output of {', '.join(_COMMAND_OF[k] for k in kinds)} in {path}."
    target = Path(out) if out is not None else path / REPORT_FILE
    return _write_page(target, page_title, intro, sections, path)


def write_study_report(name: str, storage: str, out: str | Path) -> Path:
    """Write one self-contained HTML page of a study in its storage.

    The page shows where the study stands (as ``autobuild study status``), its best trials
    (the Pareto front with several objectives), every trial, and a figure: the front of two
    objectives, or the distribution of one.

    Args:
        name: The study's name.
        storage: The study's storage URL, e.g. ``sqlite:///autobuild.db``.
        out: The HTML file to write (atomically).

    Returns:
        The path of the written page.

    Raises:
        ConfigError: No study of that name in that storage.
    """
    from autobuild.study import load_study, study_summary

    with load_study(name, storage) as study:
        summary = study_summary(study)
        objectives = [(str(m), str(d)) for m, d in study.objectives]
        trials = [
            {
                "trial_id": t.id,
                "arch_id": t.arch_id,
                "state": t.state,
                "round": t.round,
                **{m: t.metrics.get(m) for m, _ in objectives},
                "error": t.error or "",
            }
            for t in study.trials
        ]
    section = _Section(f"Study {name}")
    states = summary.get("states", {})
    section.blocks.append(
        _key_values(
            [
                ("study", summary.get("name")),
                ("space", summary.get("space")),
                ("objectives", ", ".join(summary.get("objectives", []))),
                ("storage", summary.get("storage")),
                ("sampler", (summary.get("sampler") or {}).get("name")),
                ("trials", summary.get("trials")),
                *((f"trials {k}", v) for k, v in states.items()),
                ("rounds learnt", summary.get("rounds")),
            ]
        )
    )
    section.blocks.append(_table(summary.get("best", []), caption="Best trials"))
    top = [
        {
            "objective": obj,
            "unit": unit,
            "module": module.get("subgraph"),
            "score": module.get("score"),
        }
        for obj, units in (summary.get("top_modules") or {}).items()
        for unit, module in units.items()
    ]
    if top:
        section.blocks.append(_table(top, caption="Best-scored module per unit, last round"))
    complete = [t for t in trials if t["state"] == "complete"]
    if len(objectives) == 2 and complete:
        values = [[_floats([t[m]])[0] for m, _ in objectives] for t in complete]

        def draw(path: Path) -> object:
            from autobuild.reports.fronts import plot_fronts

            return plot_fronts(
                path,
                {name: (values, [d for _, d in objectives])},
                objectives,
                title=f"Pareto front of {len(complete)} complete trials",
            )

        section.blocks.append(
            _Figure("front.png", "Pareto front", "The non-dominated complete trials.", draw)
        )
    elif len(objectives) == 1 and len(complete) >= 2:
        metric, direction = objectives[0]
        values1 = [v for v in _floats(t[metric] for t in complete) if math.isfinite(v)]
        best = (max if direction == "max" else min)(values1) if values1 else math.nan

        def draw1(path: Path) -> object:
            from autobuild.reports.plots import plot_accuracy_histogram

            return plot_accuracy_histogram(
                path,
                values1,
                {"best": best},
                xlabel=metric,
                log=False,
                title=f"{metric} of {len(values1)} complete trials",
                low_percentile=0.0,
                bins=min(60, max(10, len(values1) // 2)),
            )

        section.blocks.append(
            _Figure(
                "values.png",
                f"Distribution of {metric}",
                f"The told {metric} of every complete trial; the line marks the best.",
                draw1 if values1 else None,
            )
        )
    section.blocks.append(_table(trials, caption="Every trial"))
    intro = f"Study {name!r} in {storage}."
    return _write_page(Path(out), f"AutoBuild study: {name}", intro, [section], None)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def _figure_html(figure: _Figure, folder: Path | None, scratch: Path, done: _Figures) -> str:
    """The ``<figure>`` of ``figure``, or the empty string when it is left out."""
    existing = folder / figure.file if folder is not None else None
    png: bytes | None = None
    if existing is not None and existing.is_file():
        png = existing.read_bytes()
    elif figure.draw is not None:
        target = scratch / figure.file
        try:
            figure.draw(target)
        except ImportError:
            done.left_out.append(figure.title)
            return ""
        png = target.read_bytes()
    if png is None:  # neither in the folder nor drawable
        done.left_out.append(figure.title)
        return ""
    done.embedded.append(figure.title)
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{_esc(figure.title)}">'
        f"<figcaption>{_esc(figure.caption)}</figcaption></figure>"
    )


def _write_page(
    target: Path, title: str, intro: str, sections: Sequence[_Section], folder: Path | None
) -> Path:
    done = _Figures()
    parts: list[str] = []
    with tempfile.TemporaryDirectory(prefix="autobuild-report-") as tmp:
        for section in sections:
            parts.append(f"<section><h2>{_esc(section.title)}</h2>")
            for block in section.blocks:
                if isinstance(block, _Figure):
                    parts.append(_figure_html(block, folder, Path(tmp), done))
                else:
                    parts.append(block)
            parts.append("</section>")
    notice = ""
    if done.left_out:
        logger.warning(
            "%s: %d figure(s) left out of %s (%s)",
            MATPLOTLIB_HINT,
            len(done.left_out),
            target,
            ", ".join(done.left_out),
        )
        notice = (
            '<p class="notice">Figures left out: '
            f"{_esc(', '.join(done.left_out))}. Drawing them needs matplotlib: "
            f"<code>{_esc(_INSTALL_HINT)}</code>, then run <code>autobuild report</code> "
            "again.</p>"
        )
    page = _PAGE.format(
        title=_esc(title),
        intro=_esc(intro),
        notice=notice,
        body="\n".join(parts),
        style=_STYLE,
        script=_SCRIPT,
    )
    return write_text_atomic(target, page)


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1100px;padding:1.5rem;color:#1d1d1f;background:#fff;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.25rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;
margin-top:2rem}
.notice{background:#fff4e5;border-left:4px solid #DD8452;padding:.6rem .8rem}
.scroll{overflow:auto;max-height:32rem;margin:.3rem 0 .8rem}
table{border-collapse:collapse;font-size:.88rem;margin:0}
h3.cap{font-size:.95rem;margin:1.2rem 0 .3rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
thead th{background:#eef2f8;position:sticky;top:0}
table.sortable thead th{cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table.pairs th{background:#f6f6f6;font-weight:600}
tbody tr:nth-child(even){background:#fafafa}
figure{margin:1.2rem 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.88rem;color:#555;margin-top:.3rem}
.hint{display:none;color:#555;font-size:.85rem}.js .hint{display:block}
"""

# Sorts a table.sortable by the clicked (or Enter-ed) header: numbers by their data-sort
# value (missing ones last), text by locale order; a second click reverses.
_SCRIPT = """
document.documentElement.className += " js";
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    th.tabIndex = 0;
    th.title = "Sort by this column";
    function key(row) {
      var cell = row.cells[col];
      if (th.getAttribute("data-type") !== "number") { return cell.textContent; }
      var v = cell.getAttribute("data-sort");
      return v === null || v === "" ? null : parseFloat(v);
    }
    function sort() {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === null || y === null) { return (x === null) - (y === null); }
        var r = typeof x === "number" ? x - y : x.localeCompare(y, undefined, {numeric: true});
        return asc ? r : -r;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
    });
  });
});
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<h1>{title}</h1>
<p>{intro}</p>
<p class="hint">Click a column header to sort a table by it; click again to reverse.</p>
{notice}
{body}
<script>{script}</script>
</body>
</html>
"""
