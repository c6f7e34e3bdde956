"""Score the subgraphs and feature values of a checkpoint (``autobuild score``)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from autobuild.cli._args import add_shift
from autobuild.cli._loading import load_scorer
from autobuild.cli._output import best_text, print_table
from autobuild.cli.commands.base import Command

__all__ = ["ScoreCommand"]

logger = logging.getLogger("autobuild.cli")


class ScoreCommand(Command):
    name = "score"
    help = (
        "Score every stage subgraph (module) and every feature value of a checkpoint; "
        "subgraphs are listed best first in the checkpoint's direction (lowest first for "
        "--direction min)."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "checkpoint",
            type=Path,
            help="Checkpoint folder from 'train', or an ensemble folder from 'ensemble'.",
        )
        add_shift(parser)
        parser.add_argument("--out", type=Path, required=True, help="Output folder.")

    def run(self, args: argparse.Namespace) -> int:
        from autobuild.scoring import feature_importance, write_records

        pred = load_scorer(args.checkpoint)
        # Feature importance reads one FE-MLP: an ensemble's first member's.
        first = pred.members[0]
        if first.config.graph_format == "ir":
            return _write_op_importance(first, args.out)
        # An ensemble's scores are confidence-weighted, with a spread.
        scores = pred.score_modules(shift=args.shift or "auto")
        importance = feature_importance(first)
        args.out.mkdir(parents=True, exist_ok=True)
        write_records(args.out / "subgraph_scores.csv", _score_rows(scores), space=pred.space)
        write_records(args.out / "feature_importance.csv", importance.categories)
        write_records(args.out / "value_importance.csv", importance.values)
        rows = []
        for u in range(pred.space.num_units):
            best = scores.top_k(u, 1)[0]
            rows.append(
                [
                    pred.space.unit_name(u),
                    str(len(scores.unit(u))),
                    _layers_text(pred.space, best),
                    f"{best.score:.4g} ± {best.spread:.2g}"
                    if best.spread
                    else f"{best.score:.4g}",
                ]
            )
        print_table(["unit", "subgraphs", "best subgraph", "score"], rows)
        print(
            f"Scores of {len(scores.records):,} subgraphs (best first: "
            f"{best_text(scores.direction)} score) and feature importance in {args.out}"
        )
        return 0


def _score_rows(scores: Any) -> list[Any]:
    """Subgraph records in unit order, best first within a unit."""
    return [r for u in range(scores.space.num_units) for r in scores.unit(u)]


def _layers_text(space: Any, record: Any) -> str:
    """A short text of a subgraph's layers, e.g. ``mb6_k5 > mb6_k5`` or ``e6:k5 > e4:k3``."""
    layers = [layer for stage in record.subgraph for layer in stage]
    if not layers:
        return "(empty)"
    return " > ".join(":".join(str(v) for v in layer) for layer in layers)


def _write_op_importance(pred: Any, out: Path) -> int:
    """``score`` for IR checkpoints: op-type importance (IR graphs have no stage modules)."""
    from autobuild.scoring import feature_importance, write_records

    importance = feature_importance(pred)
    out.mkdir(parents=True, exist_ok=True)
    write_records(out / "feature_importance.csv", importance.categories)
    write_records(out / "value_importance.csv", importance.values)
    plotted = ""
    try:
        from autobuild.reports.plots import plot_feature_importance

        plot_feature_importance(
            out / "op_importance.png", importance, title="Op-type importance (IR FE-MLP)"
        )
        plotted = ", op_importance.png"
    except ImportError:
        logger.warning("matplotlib is not installed; skipping op_importance.png")
    ops = [v for v in importance.values if v.category == "op"]
    print_table(
        ["op", "score", "training nodes"],
        [[str(v.value), f"{v.score:.4g}", str(v.count)] for v in ops],
    )
    print(
        f"IR checkpoint: op-type importance in {out} (feature_importance.csv, "
        f"value_importance.csv{plotted}); module scores need a sequence-graph checkpoint."
    )
    return 0
