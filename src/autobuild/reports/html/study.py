"""One self-contained HTML page of a study in its storage (``autobuild report --study``)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from autobuild.reports.html.files import _floats
from autobuild.reports.html.page import (
    _Figure,
    _histogram_figure,
    _key_values,
    _Section,
    _table,
    _write_page,
)

__all__ = ["write_study_report"]


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

        figure = _histogram_figure(
            "values.png",
            f"Distribution of {metric}",
            f"The told {metric} of every complete trial; the line marks the best.",
            values1,
            {"best": best},
            xlabel=metric,
            plot_title=f"{metric} of {len(values1)} complete trials",
        )
        # No finite value: the page lists the figure as left out instead of drawing it.
        section.blocks.append(figure if values1 else dataclasses.replace(figure, draw=None))
    section.blocks.append(_table(trials, caption="Every trial"))
    intro = f"Study {name!r} in {storage}."
    return _write_page(Path(out), f"AutoBuild study: {name}", intro, [section], None)
