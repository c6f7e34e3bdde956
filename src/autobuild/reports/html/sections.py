"""One section of the page per kind of output folder (see :data:`.folder.FOLDER_FILES`).

Each ``_<kind>_section(folder)`` reads the files of that kind in ``folder`` and returns the
:class:`~autobuild.reports.html.page._Section` that shows them: tables of its numbers and the
figures it holds or that can be drawn from them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autobuild.exceptions import DataError
from autobuild.reports.html.files import _floats, _mean, _read_csv, _read_json, _without_arch
from autobuild.reports.html.page import (
    _Figure,
    _histogram_figure,
    _is_number,
    _key_values,
    _Section,
    _table,
)

if TYPE_CHECKING:
    from autobuild.scoring.tables import FeatureImportance


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
        section.blocks.append(
            _histogram_figure(
                "built_scores.png",
                "Scores of the ranked architectures",
                "How the scores of the ranked architectures spread; the line marks the top-1.",
                scores,
                {"top-1": scores[0]},
                xlabel="score",
                plot_title=f"Scores of the {len(scores)} ranked architectures",
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
