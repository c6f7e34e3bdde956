"""Build or rank architectures from module scores (``autobuild build``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from autobuild.cli._args import add_shift, k_list, positive_int
from autobuild.cli._loading import load_scorer, shared_direction
from autobuild.cli._output import best_text, print_table
from autobuild.cli.commands.base import Command
from autobuild.exceptions import CLIUsageError

__all__ = ["BuildCommand"]


class BuildCommand(Command):
    name = "build"
    help = "Build architectures from module scores (top-K per unit), or rank candidates."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "checkpoint",
            type=Path,
            nargs="+",
            help="Checkpoint folder(s) from 'train', or ensemble folders from 'ensemble'; "
            "several combine by the union of their top-K sets and must share one direction. "
            "Architectures are ranked best first in that direction (lowest score or "
            "prediction first for a checkpoint trained with --direction min).",
        )
        parser.add_argument(
            "--k",
            type=k_list,
            default=[3],
            help="Subgraphs kept per unit (a stage, or the stages a space scores together): "
            "one number or one per unit, comma-separated (default: 3).",
        )
        parser.add_argument(
            "--top",
            type=positive_int,
            default=None,
            help="How many ranked architectures to write (default: the whole reduced space, "
            "or every candidate).",
        )
        parser.add_argument(
            "--candidates",
            type=Path,
            help="Rank the architectures of this file (an 'arch' column) instead of building.",
        )
        parser.add_argument(
            "--global",
            dest="set_global",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="Value of a global feature for the built architectures, e.g. "
            "--global resolution=208 (default: the space's default).",
        )
        parser.add_argument(
            "--mode",
            choices=["union", "concat"],
            default="union",
            help="How several checkpoints' top-K sets combine (default: union).",
        )
        parser.add_argument(
            "--rerank",
            nargs="?",
            const="auto",
            choices=["auto", "regressor", "gnn", "units", "mean"],
            metavar="HEAD",
            help="Order the whole reduced space (or the candidates) by the checkpoint's "
            "prediction of each architecture instead of summed stage scores; optional "
            "prediction head (auto: 'mean' for a predictor with a unit head, 'regressor' for "
            "an ensemble).",
        )
        add_shift(parser)
        parser.add_argument("--out", type=Path, required=True, help="Output folder.")

    def run(self, args: argparse.Namespace) -> int:
        import json

        from autobuild._atomic import write_csv_atomic, write_json_atomic
        from autobuild.construction import MAX_FULL_RANKING, rank_candidates, reduce_space
        from autobuild.data import read_architectures

        if args.rerank and len(args.checkpoint) > 1:
            raise CLIUsageError(
                f"--rerank orders by one checkpoint's predictions, got {len(args.checkpoint)} "
                "checkpoints; give exactly one."
            )
        preds = [load_scorer(c) for c in args.checkpoint]
        space = preds[0].space
        for c, p in zip(args.checkpoint[1:], preds[1:], strict=True):
            if p.space.fingerprint() != space.fingerprint():
                raise CLIUsageError(
                    f"Checkpoint {c} was trained on space {p.space.name!r}, the first on "
                    f"{space.name!r}; combine checkpoints of one space."
                )
        direction = shared_direction(args.checkpoint, preds)
        if args.candidates is not None:
            if len(preds) > 1:
                raise CLIUsageError("--candidates ranks with one checkpoint; give exactly one.")
            pool = read_architectures(args.candidates, space)
            ranked = rank_candidates(preds[0], pool, shift=args.shift or "auto")
        else:
            k = args.k[0] if len(args.k) == 1 else args.k
            globals_ = _global_values(space, args.set_global)
            tables = [
                p.score_modules(globals_=globals_, shift=args.shift or "auto") for p in preds
            ]
            reduced = reduce_space(tables, k, mode=args.mode)
            if args.rerank and reduced.num_distinct() > MAX_FULL_RANKING:
                raise CLIUsageError(
                    f"--rerank predicts every architecture of the reduced space, which has "
                    f"{reduced.num_distinct():,} (at most {MAX_FULL_RANKING:,}); use a "
                    "smaller --k."
                )
            ranked = reduced.ranked(None if args.rerank else args.top)
            write_json_atomic(
                args.out / "reduced_space.json",
                {
                    "space": space.name,
                    "k": args.k,
                    "direction": direction,
                    "size": reduced.size(),
                    "distinct": reduced.num_distinct(),
                    "units": [
                        {
                            "unit": space.unit_name(u),
                            "subgraphs": [_subgraph_json(space, u, sg) for sg in cands],
                            "scores": list(scs),
                        }
                        for u, (cands, scs) in enumerate(
                            zip(reduced.candidates, reduced.scores, strict=True)
                        )
                    ],
                },
            )
        if args.rerank:
            ranked = preds[0].rerank(ranked, head=args.rerank)
        ranked = ranked[: args.top] if args.top else ranked
        extra = ["prediction", "spread"] if args.rerank else []
        write_csv_atomic(
            args.out / "built.csv",
            ["rank", "arch_id", "arch", "score", *extra],
            (
                [
                    i + 1,
                    space.arch_id(b.arch),
                    json.dumps(space.to_json(b.arch)),
                    b.score,
                    *([b.prediction, b.spread] if args.rerank else []),
                ]
                for i, b in enumerate(ranked)
            ),
        )
        archs = [space.to_json(b.arch) for b in ranked]
        write_json_atomic(args.out / "built.json", archs)
        native = space.native
        if native is not None and hasattr(native, "to_ofa_dict"):
            write_json_atomic(
                args.out / "built_ofa.json", [native.to_ofa_dict(space, b.arch) for b in ranked]
            )
        print_table(
            ["rank", "arch_id", "score", *extra[:1]],
            [
                [
                    str(i + 1),
                    space.arch_id(b.arch),
                    f"{b.score:.4g}",
                    *([f"{b.prediction:.4g}"] if args.rerank else []),
                ]
                for i, b in enumerate(ranked[:10])
            ],
        )
        by = "prediction" if args.rerank else "score"
        print(
            f"{len(ranked)} ranked architectures in {args.out / 'built.csv'} (best first: "
            f"{best_text(direction)} {by})"
        )
        return 0


def _global_values(space: Any, items: list[str]) -> tuple[Any, ...] | None:
    """``--global NAME=VALUE`` items as the space's global values (defaults elsewhere)."""
    if not items:
        return None
    from autobuild.encoding import SequenceGraphEncoder

    names = [f.name for f in space.global_features]
    values = list(SequenceGraphEncoder(space).default_globals())
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or name not in names:
            raise CLIUsageError(
                f"--global expects NAME=VALUE with NAME one of {names}, got {item!r}."
            )
        feature = space.global_features[names.index(name)]
        value = feature.coerce(text)
        if value is None:
            raise CLIUsageError(
                f"--global {name}={text!r} is not allowed; allowed values: {feature.describe()}."
            )
        values[names.index(name)] = value
    return tuple(values)


def _subgraph_json(space: Any, unit: int, subgraph: Any) -> Any:
    from autobuild.scoring import subgraph_to_json

    return subgraph_to_json(space, unit, subgraph)
