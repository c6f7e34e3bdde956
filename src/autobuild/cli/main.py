"""The ``autobuild`` command line: a thin layer over the Python API.

Every command parses its arguments, calls the same public functions a Python user would,
writes its results atomically and returns an exit status: 0 on success, 1 when the data or
a file is wrong (one line on stderr), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from autobuild._progress import progress_bar
from autobuild.exceptions import AutobuildError, CLIUsageError

__all__ = ["entrypoint", "main"]

logger = logging.getLogger("autobuild.cli")


class _Command:
    """A subcommand: ``add_arguments`` declares its options, ``run`` does the work."""

    name = ""
    help = ""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Declare the command's options."""

    def run(self, args: argparse.Namespace) -> int:
        """Run the command; return the exit status."""
        raise NotImplementedError


class _SpacesCommand(_Command):
    name = "spaces"
    help = "List the built-in search spaces (or describe a TOML space) with subgraph counts."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "space", nargs="?", help="A built-in space name or a .toml file to describe."
        )

    def run(self, args: argparse.Namespace) -> int:
        from autobuild import spaces

        names = [args.space] if args.space else spaces.list_spaces()
        rows = []
        for name in names:
            space = spaces.get(name)
            per_unit = [space.count_subgraphs(u) for u in range(space.num_units)]
            rows.append(
                [
                    space.name,
                    " ".join(f"{s.min_layers}-{s.max_layers}" for s in space.stages),
                    ", ".join(space.layer_feature_names),
                    " / ".join(f"{n:,}" for n in per_unit),
                    f"{sum(per_unit):,}",
                    _big(space.size()),
                ]
            )
        _print_table(
            [
                "space",
                "layers per stage",
                "layer features",
                "subgraphs per unit",
                "subgraphs",
                "architectures",
            ],
            rows,
        )
        return 0


class _SampleCommand(_Command):
    name = "sample"
    help = "Write N distinct, uniformly sampled architectures of a space to a CSV file."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        _add_space(parser)
        parser.add_argument("--n", type=_positive_int, required=True, help="How many.")
        parser.add_argument("--seed", type=int, default=0, help="Random seed (default: 0).")
        parser.add_argument("--out", type=Path, required=True, help="Output CSV file.")

    def run(self, args: argparse.Namespace) -> int:
        import json

        from autobuild import spaces
        from autobuild._atomic import write_csv_atomic

        space = spaces.get(args.space)
        archs = space.sample(args.n, seed=args.seed)
        write_csv_atomic(
            args.out,
            ["arch_id", "arch"],
            ([space.arch_id(a), json.dumps(space.to_json(a))] for a in archs),
        )
        logger.info("Wrote %d architectures of %s to %s", len(archs), space.name, args.out)
        return 0


class _TrainCommand(_Command):
    name = "train"
    help = "Train an AutoBuild predictor on labelled architectures."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from autobuild.predictor.config import CONV_NAMES, GRAPH_FORMATS, PRESETS, READOUTS

        _add_labelled(parser)
        parser.add_argument(
            "--test-fraction",
            type=_fraction,
            default=0.1,
            help="Held-out fraction for the reported metrics (default: 0.1; 0 trains on all).",
        )
        parser.add_argument(
            "--preset",
            choices=sorted(PRESETS),
            default="default",
            help="Hyper-parameter preset: 'default' (measured best), 'latency' (sum readout, "
            "for additive costs such as latency) or 'paper' (the authors').",
        )
        parser.add_argument("--epochs", type=_positive_int, help="Override the epoch count.")
        parser.add_argument("--lr", type=float, help="Override the learning rate.")
        parser.add_argument("--batch-size", type=_positive_int, help="Override the batch size.")
        parser.add_argument("--conv", choices=CONV_NAMES, help="GNN layer type.")
        parser.add_argument("--readout", choices=list(READOUTS), help="Graph pooling per hop.")
        parser.add_argument("--hidden-channels", type=_positive_int, help="GNN width.")
        parser.add_argument("--num-layers", type=_positive_int, help="GNN layers (hops 1..M).")
        parser.add_argument(
            "--corr-lambda", type=float, help="Weight of the hop ranking loss (0: MSE only)."
        )
        parser.add_argument(
            "--wide",
            type=_wide,
            help="Weight of the one-hot ridge term blended with the GNN's prediction: 'auto' "
            "(default: chosen by 2-fold validation on the training labels, with the weight of "
            "the best hop's norm) or a number in [0, 1] (0: the GNN alone).",
        )
        parser.add_argument(
            "--slot-features",
            action="store_const",
            const=True,
            help="Give the FE-MLP a scalar per (stage, position, value) of every categorical "
            "layer feature (off by default).",
        )
        parser.add_argument(
            "--format",
            dest="graph_format",
            choices=list(GRAPH_FORMATS),
            help="Graph format: 'sequence' (one node per layer, default) or 'ir' (the ONNX op "
            "graph of each built network; needs the onnx package).",
        )
        parser.add_argument(
            "--direction",
            choices=["max", "min"],
            default="max",
            help="Whether higher (max) or lower (min) targets are better (default: max).",
        )
        parser.add_argument("--unit", default="", help="Unit of the target, e.g. ms.")
        parser.add_argument(
            "--device", default="", help="Device the target was measured on, e.g. 2080Ti."
        )
        parser.add_argument(
            "--no-baselines",
            dest="baselines",
            action="store_false",
            help="Skip the one-hot ridge and gradient-boosted-trees baselines that are "
            "otherwise measured on the same held-out split.",
        )
        parser.add_argument("--out", type=Path, required=True, help="Checkpoint folder.")

    def run(self, args: argparse.Namespace) -> int:
        from autobuild.predictor import train_predictor

        overrides = {
            k: getattr(args, k)
            for k in (
                "epochs",
                "lr",
                "batch_size",
                "conv",
                "readout",
                "hidden_channels",
                "num_layers",
                "corr_lambda",
                "wide",
                "slot_features",
                "graph_format",
            )
            if getattr(args, k) is not None
        }
        data, target = _load_labelled(args.space, args.data, args.target, args.strict)
        result = train_predictor(
            data,
            target,
            n_labeled=args.n_labeled,
            seed=args.seed,
            test_fraction=args.test_fraction,
            preset=args.preset,
            strict=args.strict,
            progress=sys.stderr.isatty(),
            out=args.out,
            metadata={"direction": args.direction, "unit": args.unit, "device": args.device},
            baselines=args.baselines,
            **overrides,
        )
        m = result.metrics
        print(
            f"Trained on {m['n_train']} architectures in {m['train_seconds']:.1f} s; "
            f"checkpoint: {args.out}"
        )
        if m.get("blend"):
            b = m["blend"]
            gnn = 1 - b["weight"] - b["hop_weight"]
            print(
                f"prediction: {gnn:.1f} x GNN + {b['weight']:.1f} x one-hot ridge + "
                f"{b['hop_weight']:.1f} x hop {b['hop']} norm, by 2-fold validation (Spearman "
                f"{b['srcc']:.4f}; GNN alone {b['srcc_gnn']:.4f}, ridge alone "
                f"{b['srcc_wide']:.4f}, hop alone {b['srcc_hop']:.4f})"
            )
        if m["n_test"]:
            hops = "  ".join(f"hop{i} {v:.3f}" for i, v in enumerate(m["hop_srcc"]))
            print(
                f"held-out ({m['n_test']}): Spearman {m['srcc']:.4f}  Kendall "
                f"{m['kendall']:.4f}  MAE {m['mae']:.4g}"
            )
            print(f"hop Spearman: {hops}")
            if m.get("baselines"):
                scores = "  ".join(f"{k} {v:.4f}" for k, v in m["baselines"].items())
                print(f"baselines' held-out Spearman (one-hot features): {scores}")
        return 0


class _PredictCommand(_Command):
    name = "predict"
    help = "Predict the target and the per-hop embedding norms of architectures."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("checkpoint", type=Path, help="Checkpoint folder from 'train'.")
        parser.add_argument(
            "--data",
            type=Path,
            help="File with an 'arch' column (optional for nasbench-macro checkpoints).",
        )
        parser.add_argument("--out", type=Path, required=True, help="Output CSV file.")

    def run(self, args: argparse.Namespace) -> int:
        from autobuild._atomic import write_csv_atomic
        from autobuild.data import load_nasbench_macro, read_architectures
        from autobuild.predictor import AutoBuildPredictor

        pred = AutoBuildPredictor.load(args.checkpoint)
        space = pred.space
        if args.data is not None:
            archs = read_architectures(args.data, space)
        elif space.name == "nasbench-macro" and space.native is not None:
            archs = list(load_nasbench_macro().archs)
        else:
            raise CLIUsageError(f"--data is required for a checkpoint of space {space.name!r}.")
        values = pred.predict(archs)
        norms = pred.hop_norms(archs)
        header = ["arch_id", "prediction"] + [f"hop{i}" for i in range(norms.shape[1])]
        write_csv_atomic(
            args.out,
            header,
            (
                [space.arch_id(a), float(p), *map(float, h)]
                for a, p, h in zip(archs, values, norms, strict=True)
            ),
        )
        logger.info("Wrote %d predictions to %s", len(archs), args.out)
        return 0


class _ScoreCommand(_Command):
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
        _add_shift(parser)
        parser.add_argument("--out", type=Path, required=True, help="Output folder.")

    def run(self, args: argparse.Namespace) -> int:
        from autobuild.predictor import AutoBuildPredictor
        from autobuild.scoring import feature_importance, score_modules, write_records

        pred = _load_scorer(args.checkpoint)
        if isinstance(pred, AutoBuildPredictor) and pred.config.graph_format == "ir":
            return _write_op_importance(pred, args.out)
        if isinstance(pred, AutoBuildPredictor):
            scores = score_modules(pred, shift=args.shift or "auto")
            importance = feature_importance(pred)
        else:  # an ensemble: confidence-weighted scores with a spread; importance of member 1
            scores = pred.score_modules(shift=args.shift or "eq5")
            importance = feature_importance(pred.members[0])
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
        _print_table(["unit", "subgraphs", "best subgraph", "score"], rows)
        print(
            f"Scores of {len(scores.records):,} subgraphs (best first: "
            f"{_best_text(scores.direction)} score) and feature importance in {args.out}"
        )
        return 0


class _BuildCommand(_Command):
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
            type=_k_list,
            default=[3],
            help="Subgraphs kept per unit (a stage, or the stages a space scores together): "
            "one number or one per unit, comma-separated (default: 3).",
        )
        parser.add_argument(
            "--top",
            type=_positive_int,
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
        _add_shift(parser)
        parser.add_argument("--out", type=Path, required=True, help="Output folder.")

    def run(self, args: argparse.Namespace) -> int:
        import json

        from autobuild._atomic import write_csv_atomic, write_json_atomic
        from autobuild.construction import MAX_FULL_RANKING, rank_candidates, reduce_space, rerank
        from autobuild.data import read_architectures
        from autobuild.predictor import AutoBuildPredictor
        from autobuild.scoring import score_modules

        if args.rerank and len(args.checkpoint) > 1:
            raise CLIUsageError(
                f"--rerank orders by one checkpoint's predictions, got {len(args.checkpoint)} "
                "checkpoints; give exactly one."
            )
        preds = [_load_scorer(c) for c in args.checkpoint]
        space = preds[0].space
        for c, p in zip(args.checkpoint[1:], preds[1:], strict=True):
            if p.space.fingerprint() != space.fingerprint():
                raise CLIUsageError(
                    f"Checkpoint {c} was trained on space {p.space.name!r}, the first on "
                    f"{space.name!r}; combine checkpoints of one space."
                )
        direction = _shared_direction(args.checkpoint, preds)
        if args.candidates is not None:
            if len(preds) > 1:
                raise CLIUsageError("--candidates ranks with one checkpoint; give exactly one.")
            pool = read_architectures(args.candidates, space)
            if isinstance(preds[0], AutoBuildPredictor):
                ranked = rank_candidates(preds[0], pool, shift=args.shift or "auto")
            else:
                ranked = preds[0].rank_candidates(pool, shift=args.shift or "eq5")
        else:
            k = args.k[0] if len(args.k) == 1 else args.k
            globals_ = _global_values(space, args.set_global)
            tables = [
                score_modules(p, globals_=globals_, shift=args.shift or "auto")
                if isinstance(p, AutoBuildPredictor)
                else p.score_modules(globals_=globals_, shift=args.shift or "eq5")
                for p in preds
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
            scorer = preds[0]
            if isinstance(scorer, AutoBuildPredictor):
                ranked = rerank(ranked, scorer, head=args.rerank)
            else:
                ranked = scorer.rerank(ranked, head=args.rerank)
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
        _print_table(
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
            f"{_best_text(direction)} {by})"
        )
        return 0


def _shared_direction(paths: Sequence[Path], scorers: Sequence[Any]) -> str:
    """The direction ('max' or 'min') that every checkpoint or ensemble ranks in."""
    from autobuild.ensemble import PredictorEnsemble
    from autobuild.predictor.direction import predictor_direction

    found = [
        s.direction if isinstance(s, PredictorEnsemble) else predictor_direction(s)
        for s in scorers
    ]
    if len(set(found)) > 1:
        listed = ", ".join(f"{p} ({d})" for p, d in zip(paths, found, strict=True))
        raise CLIUsageError(
            f"Checkpoints of different directions cannot be combined: {listed}; build from "
            "checkpoints whose targets are all better high (max) or all better low (min)."
        )
    return found[0]


def _best_text(direction: str) -> str:
    return "lowest" if direction == "min" else "highest"


class _MeasureCommand(_Command):
    name = "measure"
    help = "Measure params, FLOPs or CPU latency of architectures (resumable)."

    METRICS = ("params", "flops", "latency-cpu", "latency-cuda")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        _add_space(parser)
        parser.add_argument(
            "--archs", type=Path, required=True, help="File with an 'arch' column."
        )
        parser.add_argument("--metric", choices=self.METRICS, required=True)
        parser.add_argument(
            "--threads", type=_positive_int, default=1, help="CPU threads for latency (1)."
        )
        parser.add_argument(
            "--repeats", type=_positive_int, default=50, help="Timed runs for latency (50)."
        )
        parser.add_argument(
            "--out",
            type=Path,
            required=True,
            help="Output CSV; re-running skips architectures it already holds.",
        )

    def run(self, args: argparse.Namespace) -> int:
        import csv
        import json

        from autobuild import spaces
        from autobuild._atomic import write_csv_atomic
        from autobuild.data import read_architectures
        from autobuild.evaluation import CostEvaluator, LatencyEvaluator

        space = spaces.get(args.space)
        archs = read_architectures(args.archs, space)
        if args.metric in ("params", "flops"):
            evaluator: Any = CostEvaluator(space)
            column = args.metric
        else:
            device = args.metric.split("-")[1]
            evaluator = LatencyEvaluator(
                space, device=device, threads=args.threads, repeats=args.repeats
            )
            column = evaluator.metrics[0].name
        done: dict[str, str] = {}
        if args.out.exists():
            with args.out.open(newline="") as fh:
                for row in csv.DictReader(fh):
                    if row.get(column):
                        done[row["arch_id"]] = row[column]
        ids = [space.arch_id(a) for a in archs]
        todo = [a for a, i in zip(archs, ids, strict=True) if i not in done]
        logger.info("%d of %d architectures to measure", len(dict.fromkeys(todo)), len(archs))

        def write() -> None:
            write_csv_atomic(
                args.out,
                ["arch_id", "arch", column],
                (
                    [i, json.dumps(space.to_json(a)), done.get(i, "")]
                    for a, i in zip(archs, ids, strict=True)
                ),
            )

        bar = progress_bar(len(todo), sys.stderr.isatty(), desc=column, unit="arch")
        for lo in range(0, len(todo), 16):
            chunk = list(dict.fromkeys(todo[lo : lo + 16]))
            for arch, rec in zip(chunk, evaluator.evaluate(chunk), strict=True):
                value = float(rec[column])
                done[space.arch_id(arch)] = str(int(value)) if value.is_integer() else repr(value)
            write()  # every chunk lands on disk: a killed run resumes from here
            if bar is not None:
                bar.update(len(todo[lo : lo + 16]))
        if bar is not None:
            bar.close()
        write()
        print(f"{len(archs)} architectures with {column} in {args.out}")
        return 0


def _add_labelled(parser: argparse.ArgumentParser) -> None:
    """Options shared by the commands that learn from labelled data."""
    _add_space(parser)
    parser.add_argument(
        "--data",
        type=Path,
        help="CSV/JSON/Parquet file with an 'arch' column and metric columns (optional "
        "for nasbench-macro: the benchmark table is used).",
    )
    parser.add_argument(
        "--target",
        help="Target expression over metric names, e.g. 'acc/latency'; higher is better "
        "unless --direction min (or negate a cost, e.g. '-fid') (default for nasbench-macro: "
        "mean_acc).",
    )
    parser.add_argument(
        "--n-labeled", type=_positive_int, help="Use N random rows of the data (seeded)."
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="Random seed of the labelled draw, split and weights (the same N and seed draw "
        "the same rows in train, ensemble and exhaustive; default: 0).",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="Refuse NaN/infinite metrics or targets instead of skipping them.",
    )


def _add_ensemble_options(parser: argparse.ArgumentParser) -> None:
    from autobuild.ensemble import EXECUTORS

    parser.add_argument("--folds", type=_positive_int, default=5, help="Folds (default: 5).")
    parser.add_argument(
        "--seeds", type=_positive_int, default=4, help="Shuffling seeds (default: 4)."
    )
    parser.add_argument(
        "--executor",
        choices=list(EXECUTORS),
        default="process",
        help="Where members train: local worker processes (default), this process, or Ray.",
    )
    parser.add_argument("--jobs", type=_positive_int, help="Local worker processes.")
    parser.add_argument("--ray-address", help="Address of a running Ray cluster.")
    parser.add_argument("--epochs", type=_positive_int, help="Epochs per member.")
    parser.add_argument(
        "--direction",
        choices=["max", "min"],
        default="max",
        help="Whether higher (max) or lower (min) targets are better; rankings put the best "
        "first (default: max).",
    )
    parser.add_argument("--out", type=Path, required=True, help="Output folder.")


def _fit_ensemble_from_args(args: argparse.Namespace, **params: Any) -> Any:
    from autobuild.ensemble import fit_ensemble
    from autobuild.predictor import select_labelled

    data, target = _load_labelled(args.space, args.data, args.target, args.strict)
    chosen, y = select_labelled(
        data, target, n_labeled=args.n_labeled, seed=args.seed, strict=args.strict
    )
    if args.epochs is not None:
        params["epochs"] = args.epochs
    return fit_ensemble(
        data.space,
        list(chosen.archs),
        y,
        folds=args.folds,
        seeds=[1000 * args.seed + i for i in range(args.seeds)],
        executor=args.executor,
        n_jobs=args.jobs,
        ray_address=args.ray_address,
        out=args.out,
        metadata={
            "target": target,
            "seed": args.seed,
            "data": data.source,
            "direction": args.direction,
        },
        **params,
    )


def _ensemble_summary(ens: Any) -> None:
    hops = ens.hop_weights.mean(0)
    print(
        f"{len(ens)} members; mean held-out Spearman of the prediction "
        f"{float(ens.prediction_weights.mean()):.3f}; mean hop weights "
        + " ".join(f"{v:.3f}" for v in hops)
    )


class _EnsembleCommand(_Command):
    name = "ensemble"
    help = "Train a k-fold x seeds ensemble of predictors for few labels (then: build DIR)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        _add_labelled(parser)
        _add_ensemble_options(parser)

    def run(self, args: argparse.Namespace) -> int:
        ens = _fit_ensemble_from_args(args)
        _ensemble_summary(ens)
        print(f"Ensemble in {args.out}; build from it with: autobuild build {args.out}")
        return 0


class _ExhaustiveCommand(_Command):
    name = "exhaustive"
    help = (
        "Exhaustive-Search baseline: an MSE-only ensemble predicts every architecture of "
        "the space; writes the top N."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        _add_labelled(parser)
        parser.add_argument(
            "--top", type=_positive_int, default=4, help="Architectures to keep (default: 4)."
        )
        _add_ensemble_options(parser)

    def run(self, args: argparse.Namespace) -> int:
        import json

        from autobuild._atomic import write_csv_atomic
        from autobuild.ensemble import exhaustive_search

        ens = _fit_ensemble_from_args(args, corr_lambda=0.0, unit_lambda=0.0)
        _ensemble_summary(ens)
        result = exhaustive_search(
            ens.members,
            ens.prediction_weights,
            top=args.top,
            progress=sys.stderr.isatty(),
            direction=ens.direction,
        )
        rows = result.rows(ens.space)
        header = ["rank", "arch_id", "arch", "prediction", "spread"]
        write_csv_atomic(
            args.out / "top.csv",
            header,
            (
                [r["rank"], r["arch_id"], json.dumps(r["arch"]), r["prediction"], r["spread"]]
                for r in rows
            ),
        )
        _print_table(
            ["rank", "arch_id", "prediction", "spread"],
            [
                [
                    str(r["rank"]),
                    str(r["arch_id"]),
                    f"{r['prediction']:.4g}",
                    f"{r['spread']:.3g}",
                ]
                for r in rows
            ],
        )
        print(
            f"Scored {result.n_scored:,} architectures in {result.seconds:.1f} s; top "
            f"{len(rows)} in {args.out / 'top.csv'}"
        )
        return 0


class _SearchCommand(_Command):
    name = "search"
    help = (
        "Multi-objective evolutionary search (NSGA-II): AutoBuild-NAS in a reduced space, or "
        "a baseline in the whole space; resumable with --storage."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from autobuild.search import EVALUATION_EXECUTORS, METHODS

        _add_space(parser)
        parser.add_argument("--method", choices=list(METHODS), required=True)
        parser.add_argument(
            "--objectives",
            type=_objectives,
            required=True,
            help="Metrics and directions, e.g. mean_acc:max,flops:min.",
        )
        parser.add_argument(
            "--data",
            type=Path,
            help="Table of evaluated architectures: the search looks its metrics up in it, and "
            "autobuild-nas draws its --labels from it (default for nasbench-macro: the "
            "benchmark table).",
        )
        parser.add_argument(
            "--constraint",
            action="append",
            metavar="METRIC<=BOUND",
            help="A bound on a metric, e.g. latency_cpu_ms<=5 or mean_acc>=92 (repeatable); "
            "architectures breaking it are evaluated but kept off the front.",
        )
        parser.add_argument(
            "--evaluator",
            metavar="MODULE:NAME",
            help="Your evaluator: NAME in the importable MODULE, a BaseEvaluator subclass (or "
            "factory) called with the space; it gives the objectives it names, before the "
            "table and the measured metrics.",
        )
        parser.add_argument(
            "--predictor",
            type=Path,
            action="append",
            metavar="CKPT",
            help="A trained predictor checkpoint (`autobuild train --out`) as the evaluator of "
            "its target, e.g. a latency surrogate trained with --target latency --direction "
            "min (repeatable).",
        )
        parser.add_argument(
            "--cache",
            type=Path,
            help="SQLite file caching measured latency (latency_cpu_ms, latency_cuda_ms) and, "
            "when given, --evaluator's metrics, so each architecture is measured once; share "
            "it between runs on one machine (default: OUT/measured.sqlite, latency only).",
        )
        parser.add_argument(
            "--threads", type=_positive_int, default=1, help="CPU threads for latency (1)."
        )
        parser.add_argument(
            "--repeats", type=_positive_int, default=50, help="Timed runs for latency (50)."
        )
        parser.add_argument(
            "--budget", type=_positive_int, default=250, help="Unique evaluations (250)."
        )
        parser.add_argument(
            "--initial", type=_positive_int, default=50, help="Initial population (50)."
        )
        parser.add_argument(
            "--batch", type=_positive_int, default=50, help="New evaluations per generation."
        )
        parser.add_argument("--seed", type=int, default=0, help="Random seed (default: 0).")
        parser.add_argument(
            "--labels",
            type=_positive_int,
            default=300,
            help="autobuild-nas: labelled architectures its predictors train on (300); they "
            "do not count towards the budget.",
        )
        parser.add_argument(
            "--equations",
            default="auto",
            help="autobuild-nas: target equations separated by ';', or 'auto' (4 weighted "
            "sums of the two standardised objectives, default).",
        )
        parser.add_argument(
            "--k",
            type=_positive_int,
            default=2,
            help="autobuild-nas: top-K per equation (2, the best of those measured on "
            "NAS-Bench-Macro; the paper uses 25 on the much larger OFA stages).",
        )
        parser.add_argument(
            "--insight",
            type=Path,
            help="layer-insight: JSON file of per-stage restrictions, e.g. "
            '{"s1": {"max_layers": 2, "layer": {"op": ["mb6_k5"]}}}.',
        )
        parser.add_argument(
            "--storage", help="Run store URL, e.g. sqlite:///runs.db (resumable with --name)."
        )
        parser.add_argument("--name", help="Search name in the run store.")
        parser.add_argument(
            "--executor",
            choices=list(EVALUATION_EXECUTORS),
            default="inprocess",
            help="Where evaluations run (default: in this process).",
        )
        parser.add_argument("--jobs", type=_positive_int, help="Worker processes.")
        parser.add_argument("--ray-address", help="Address of a running Ray cluster.")
        parser.add_argument("--no-plot", action="store_true", help="Do not draw OUT/front.png.")
        parser.add_argument("--out", type=Path, required=True, help="Output folder.")

    def run(self, args: argparse.Namespace) -> int:
        import json

        from autobuild import spaces
        from autobuild.search import RunStore, make_evaluate, run_method, write_search_outputs

        if (args.budget - args.initial) % args.batch or args.budget < args.initial:
            raise CLIUsageError(
                f"--budget {args.budget} must be --initial {args.initial} plus a whole number "
                f"of --batch {args.batch} generations, e.g. {args.initial + 4 * args.batch}."
            )
        if args.storage is not None and not args.name:
            raise CLIUsageError("--storage needs --name (the search to create or resume).")
        # The table answers the objectives it holds; the search needs no target ("-").
        space = spaces.get(args.space)
        data = None
        if args.data is not None or space.name == "nasbench-macro":
            data, _ = _load_labelled(args.space, args.data, "-", False)
            space = data.space
        directions = dict(args.objectives)
        constraints = _constraints(args.constraint or [])
        metrics = dict(directions)
        for c in constraints:  # a constraint's metric must be evaluated too
            metrics.setdefault(c.metric, "min" if c.op == "<=" else "max")
        evaluator = _search_evaluator(args, space, data, metrics)
        candidates = None
        if args.method == "autobuild-nas":
            if data is None:
                raise CLIUsageError(
                    "autobuild-nas trains its predictors on labelled architectures: give "
                    "--data (a table with the first objective, "
                    f"{args.objectives[0][0]!r}) to draw --labels {args.labels} from."
                )
            candidates = _autobuild_candidates(args, data, evaluator)
        insight = None
        if args.insight is not None:
            try:
                insight = json.loads(args.insight.read_text())
            except (OSError, json.JSONDecodeError) as err:
                raise CLIUsageError(f"Cannot read --insight {args.insight}: {err}.") from err
        store = None if args.storage is None else RunStore.from_url(args.storage)
        evaluate = make_evaluate(
            evaluator,
            executor=args.executor,
            n_jobs=args.jobs,
            ray_address=args.ray_address,
        )
        try:
            result = run_method(
                space,
                args.method,
                evaluate,
                list(args.objectives),
                candidates=candidates,
                insight=insight,
                initial=args.initial,
                iterations=(args.budget - args.initial) // args.batch,
                batch=args.batch,
                store=store,
                name=args.name,
                seed=args.seed,
                progress=sys.stderr.isatty(),
                constraints=constraints,
            )
        finally:
            evaluate.close()
            if store is not None:
                store.close()
        paths = write_search_outputs(args.out, space, result)
        if not args.no_plot and len(directions) == 2:
            try:
                paths["plot"] = _plot_search_front(args, result)
            except ImportError:
                logger.warning(
                    "matplotlib is not installed; skipping front.png "
                    "(pip install 'autobuild[plot]')"
                )
        front = result.pareto_indices
        _print_table(
            ["arch_id", *directions],
            [
                [space.arch_id(result.archs[i])]
                + [f"{result.metrics[i][m]:.5g}" for m in directions]
                for i in front[:15]
            ],
        )
        failed = sum(st != "ok" for st in result.status)
        infeasible = sum(not f for f in result.feasible) - failed
        broken = f", {infeasible} infeasible" if constraints else ""
        print(
            f"{args.method}: {len(result.archs)} unique evaluations ({result.n_evaluated} new, "
            f"{result.n_reused} from the run store, {failed} failed{broken}); {len(front)} on "
            f"the Pareto front; {', '.join(p.name for p in paths.values())} in {args.out}"
        )
        return 0


class _FrontsCommand(_Command):
    name = "fronts"
    help = (
        "Compare searches: their Pareto fronts in one plot and the hypervolume of each, with "
        "one reference point."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "dirs", type=Path, nargs="+", help="Output folders of `autobuild search`."
        )
        parser.add_argument(
            "--names", help="Comma-separated legend names (default: the folder names)."
        )
        parser.add_argument(
            "--ref",
            type=_floats,
            help="Hypervolume reference point, one value per objective (default: the worst "
            "value of each objective over all the searches).",
        )
        parser.add_argument("--out", type=Path, help="PNG file of the fronts (two objectives).")

    def run(self, args: argparse.Namespace) -> int:
        import numpy as np

        from autobuild.search import hypervolume, plot_fronts, read_search_outputs
        from autobuild.search.nsga import pareto_indices

        names = [d.name or str(d) for d in args.dirs]
        if args.names is not None:
            names = [n.strip() for n in args.names.split(",")]
            if len(names) != len(args.dirs):
                raise CLIUsageError(
                    f"--names has {len(names)} names for {len(args.dirs)} folders."
                )
        if len(set(names)) != len(names):
            raise CLIUsageError(f"Legend names must differ, got {names}; use --names.")
        runs = [read_search_outputs(d) for d in args.dirs]
        objectives = runs[0][0]
        for d, (objs, _) in zip(args.dirs, runs, strict=True):
            if objs != objectives:
                raise CLIUsageError(
                    f"{d} optimised {objs}, {args.dirs[0]} optimised {objectives}: only "
                    "searches of the same objectives compare."
                )
        directions = [dr for _, dr in objectives]
        every = np.concatenate([v for _, v in runs])
        if not len(every):
            raise CLIUsageError("None of the searches has an ok evaluation.")
        if args.ref is not None:
            if len(args.ref) != len(objectives):
                raise CLIUsageError(
                    f"--ref needs {len(objectives)} values (one per objective), got {args.ref}."
                )
            ref = list(args.ref)
        else:
            ref = [
                float(every[:, j].min() if dr == "max" else every[:, j].max())
                for j, dr in enumerate(directions)
            ]
        rows = []
        for name, (_, values) in zip(names, runs, strict=True):
            hv = hypervolume(values, directions, ref) if len(values) else 0.0
            front = len(pareto_indices(values, directions)) if len(values) else 0
            rows.append([name, str(len(values)), str(front), f"{hv:.6g}"])
        _print_table(["search", "ok evaluations", "front", "hypervolume"], rows)
        print(
            "reference point: "
            + ", ".join(f"{n}={v:.6g}" for (n, _), v in zip(objectives, ref, strict=True))
        )
        if args.out is not None:
            if len(objectives) != 2:
                raise CLIUsageError(
                    f"--out plots two objectives; these searches have {len(objectives)}."
                )
            try:
                plot_fronts(
                    args.out,
                    {n: (v, directions) for n, (_, v) in zip(names, runs, strict=True)},
                    objectives,
                    title="Pareto fronts",
                )
            except ImportError as err:
                raise CLIUsageError(
                    "--out needs matplotlib: pip install 'autobuild[plot]'."
                ) from err
            print(f"fronts plotted in {args.out}")
        return 0


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from err


def _constraints(texts: list[str]) -> list[Any]:
    from autobuild.exceptions import ConfigError
    from autobuild.search import Constraint

    try:
        return [Constraint.parse(t) for t in texts]
    except ConfigError as err:
        raise CLIUsageError(f"--constraint: {err}") from err


def _search_evaluator(
    args: argparse.Namespace, space: Any, data: Any, directions: dict[str, str]
) -> Any:
    """The evaluator of the objectives: --evaluator's, --predictor's, the table's, measured."""
    from autobuild.evaluation import (
        CachedEvaluator,
        CombinedEvaluator,
        CostEvaluator,
        LatencyEvaluator,
        LookupEvaluator,
        PredictorEvaluator,
    )

    cache = args.cache if args.cache is not None else args.out / "measured.sqlite"
    parts: list[Any] = []
    todo = list(directions)
    if args.evaluator is not None:
        user = _user_evaluator(args.evaluator, space)
        given = [m for m in todo if m in user.metric_names]
        if not given:
            raise CLIUsageError(
                f"--evaluator {args.evaluator} gives {user.metric_names}, none of the "
                f"objectives {todo}."
            )
        # Cached only when asked: a cache keyed by the class name would outlive edits to it.
        parts.append(user if args.cache is None else CachedEvaluator(user, cache))
        todo = [m for m in todo if m not in given]
    for path in args.predictor or []:
        from autobuild.predictor import AutoBuildPredictor

        predicted = PredictorEvaluator(AutoBuildPredictor.load(path))
        name = predicted.metric_names[0]
        if name not in todo:
            raise CLIUsageError(
                f"--predictor {path} predicts {name!r}, which is not an objective or constraint "
                f"still to evaluate ({todo}); train it with --target {todo[0] if todo else 'X'} "
                "or drop it."
            )
        if predicted.space.fingerprint() != space.fingerprint():
            raise CLIUsageError(
                f"--predictor {path} was trained on space {predicted.space.name!r}, not on "
                f"{space.name!r}."
            )
        parts.append(predicted)
        todo.remove(name)
    table = [m for m in todo if data is not None and m in data.metric_names]
    if table:
        parts.append(LookupEvaluator(data, {m: directions[m] for m in table}))
        todo = [m for m in todo if m not in table]
    cost = [m for m in todo if m in ("params", "flops")]
    if cost:
        _needs_networks(space, cost)
        parts.append(CostEvaluator(space, metrics=cost))
        todo = [m for m in todo if m not in cost]
    for device in ("cpu", "cuda"):
        name = f"latency_{device}_ms"
        if name in todo:
            _needs_networks(space, [name])
            latency = LatencyEvaluator(
                space, device=device, threads=args.threads, repeats=args.repeats
            )
            parts.append(CachedEvaluator(latency, cache))
            todo.remove(name)
    if todo:
        have = [] if data is None else data.metric_names
        raise CLIUsageError(
            f"No evaluator gives objective(s) {todo}: the table has {have}, the measured "
            "metrics are params, flops, latency_cpu_ms and latency_cuda_ms, and --evaluator "
            "MODULE:NAME adds your own."
        )
    return parts[0] if len(parts) == 1 else CombinedEvaluator(parts)


def _needs_networks(space: Any, metrics: list[str]) -> None:
    if space.builder is None:
        raise CLIUsageError(
            f"Objective(s) {metrics} are measured on built networks, but space {space.name!r} "
            "cannot build networks; give them in --data or through --evaluator."
        )


def _user_evaluator(spec: str, space: Any) -> Any:
    """Import ``MODULE:NAME`` and call it with the space (user code, as the user named it)."""
    import importlib

    from autobuild.evaluation import BaseEvaluator

    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise CLIUsageError(
            f"--evaluator expects MODULE:NAME, e.g. mylab.evals:Trainer; got {spec!r}."
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise CLIUsageError(
            f"--evaluator {spec}: cannot import {module_name!r} ({err}); put it on PYTHONPATH."
        ) from err
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise CLIUsageError(f"--evaluator {spec}: {module_name} has no callable {attr!r}.")
    try:
        evaluator = factory(space)
    except Exception as err:  # the user's code: report it, do not crash with a traceback
        raise CLIUsageError(
            f"--evaluator {spec}: {attr}(space) raised {type(err).__name__}: {err}"
        ) from err
    if not isinstance(evaluator, BaseEvaluator):
        raise CLIUsageError(
            f"--evaluator {spec} returned {type(evaluator).__name__}, not a "
            "autobuild.evaluation.BaseEvaluator."
        )
    return evaluator


def _plot_search_front(args: argparse.Namespace, result: Any) -> Path:
    from autobuild.search import plot_fronts

    return plot_fronts(
        args.out / "front.png",
        {args.method: (result.objective_matrix(), [d for _, d in result.objectives])},
        list(result.objectives),
        title=f"{args.method} on {args.space}: {len(result.archs)} evaluations",
    )


def _autobuild_candidates(args: argparse.Namespace, data: Any, evaluator: Any) -> Any:
    """AutoBuild-NAS: predictors per target equation on --labels rows, union of top-K."""
    from autobuild.search.equations import autobuild_candidates

    equations = None
    if args.equations != "auto":
        equations = [e.strip() for e in args.equations.split(";") if e.strip()]
    return autobuild_candidates(
        data,
        args.objectives,
        labels=args.labels,
        seed=args.seed,
        k=args.k,
        equations=equations,
        evaluator=evaluator,
    )


def _objectives(text: str) -> list[tuple[str, str]]:
    out = []
    for item in text.split(","):
        name, sep, direction = item.strip().rpartition(":")
        if not sep or not name or direction not in ("max", "min"):
            raise argparse.ArgumentTypeError(
                f"expected METRIC:max or METRIC:min separated by commas, e.g. "
                f"mean_acc:max,flops:min; got {text!r}"
            )
        out.append((name, direction))
    return out


class _ExportOnnxCommand(_Command):
    name = "export-onnx"
    help = "Export the network of an architecture to ONNX, and optionally its IR graph (JSON)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        _add_space(parser)
        parser.add_argument(
            "--arch",
            required=True,
            help="The architecture: its id or JSON form (e.g. 22212220 for nasbench-macro).",
        )
        parser.add_argument(
            "--input-shape",
            type=_shape,
            help="Shape of one input sample, C,H,W (default: the network's own).",
        )
        parser.add_argument("--out", type=Path, required=True, help="Output .onnx file.")
        parser.add_argument(
            "--ir", type=Path, help="Also write the op-level IR graph to this JSON file."
        )

    def run(self, args: argparse.Namespace) -> int:
        import torch

        from autobuild import spaces
        from autobuild._atomic import write_json_atomic
        from autobuild.ir import export_onnx, onnx_to_ir

        space = spaces.get(args.space)
        arch = space.parse(args.arch)
        model = space.build_model(arch)
        shape = args.input_shape or getattr(model, "input_shape", None)
        if shape is None:
            raise CLIUsageError(
                f"The networks of space {space.name!r} declare no input shape; pass "
                "--input-shape C,H,W."
            )
        proto = export_onnx(model, torch.zeros((1, *shape)), args.out)
        graph = onnx_to_ir(proto)
        if args.ir is not None:
            write_json_atomic(args.ir, {"arch": space.canonical_id(arch), **graph.to_dict()})
        counts = sorted(graph.op_counts().items(), key=lambda kv: (-kv[1], kv[0]))
        _print_table(["op", "nodes"], [[op, str(n)] for op, n in counts])
        print(
            f"{space.arch_id(arch)}: {graph.num_nodes} IR nodes, {graph.num_edges} edges; "
            f"ONNX model in {args.out}" + (f", IR graph in {args.ir}" if args.ir else "")
        )
        return 0


class _DemoCommand(_Command):
    name = "demo"
    help = (
        "On NAS-Bench-Macro: train on a few labelled architectures, build architectures, "
        "and compare them with the truth (writes a report folder)."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--n-labeled",
            type=_positive_int,
            default=100,
            help="Labelled architectures (default: 100).",
        )
        parser.add_argument(
            "--k",
            type=_positive_int,
            default=3,
            help="Subgraphs kept per unit (a stage, or the stages a space scores together) "
            "for the reduced space (default: 3).",
        )
        parser.add_argument("--seed", type=int, default=0, help="Random seed (default: 0).")
        parser.add_argument(
            "--out", type=Path, default=Path("demo-out"), help="Report folder (default: demo-out)."
        )

    def run(self, args: argparse.Namespace) -> int:
        from autobuild.demo import run_demo

        result = run_demo(
            n_labeled=args.n_labeled,
            k=args.k,
            seed=args.seed,
            out=args.out,
            progress=sys.stderr.isatty(),
        )
        s = result.summary
        print(
            f"AutoBuild on NAS-Bench-Macro, {args.n_labeled} labelled architectures "
            f"(seed {args.seed}); true accuracy and rank among all 6,561:"
        )
        _print_table(
            ["", "architecture", "accuracy %", "rank", "evaluations"],
            [
                [
                    r["what"],
                    r["arch"],
                    f"{r['accuracy']:.2f}",
                    f"{r['rank']:g}",
                    str(r["evaluations"]),
                ]
                for r in result.rows
            ],
        )
        hops = " ".join(f"{v:.3f}" for v in s["heldout_hop_srcc"])
        print(
            f"Predictor on the unlabelled architectures: Spearman {s['heldout_srcc']:.3f}; "
            f"hop 0..M: {hops}"
        )
        print(f"Report: {args.out / 'report.md'} ({s['seconds']:.0f} s)")
        return 0


_COMMANDS: dict[str, type[_Command]] = {
    c.name: c
    for c in (
        _TrainCommand,
        _PredictCommand,
        _ScoreCommand,
        _BuildCommand,
        _EnsembleCommand,
        _ExhaustiveCommand,
        _SearchCommand,
        _FrontsCommand,
        _MeasureCommand,
        _ExportOnnxCommand,
        _SpacesCommand,
        _SampleCommand,
        _DemoCommand,
    )
}


def _load_labelled(
    space_name: str, data: Path | None, target: str | None, strict: bool
) -> tuple[Any, str]:
    from autobuild import spaces
    from autobuild.data import load_nasbench_macro, load_table

    space = spaces.get(space_name)
    if data is None:
        if space.name != "nasbench-macro":
            raise CLIUsageError(f"--data is required for space {space.name!r}.")
        return load_nasbench_macro(), target or "mean_acc"
    if target is None:
        raise CLIUsageError("--target is required with --data (e.g. --target acc).")
    return load_table(data, space, strict=strict), target


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


def _score_rows(scores: Any) -> list[Any]:
    """Subgraph records in unit order, best first within a unit."""
    return [r for u in range(scores.space.num_units) for r in scores.unit(u)]


def _subgraph_json(space: Any, unit: int, subgraph: Any) -> Any:
    from autobuild.scoring import subgraph_to_json

    return subgraph_to_json(space, unit, subgraph)


def _layers_text(space: Any, record: Any) -> str:
    """A short text of a subgraph's layers, e.g. ``mb6_k5 > mb6_k5`` or ``e6:k5 > e4:k3``."""
    layers = [layer for stage in record.subgraph for layer in stage]
    if not layers:
        return "(empty)"
    return " > ".join(":".join(str(v) for v in layer) for layer in layers)


def _load_scorer(path: Path) -> Any:
    """A predictor checkpoint, or an ensemble folder (it has ``ensemble.json``)."""
    from autobuild.ensemble import PredictorEnsemble
    from autobuild.ensemble.ensemble import ENSEMBLE_FILE
    from autobuild.predictor import AutoBuildPredictor

    if (path / ENSEMBLE_FILE).is_file():
        return PredictorEnsemble.load(path)
    return AutoBuildPredictor.load(path)


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
    _print_table(
        ["op", "score", "training nodes"],
        [[str(v.value), f"{v.score:.4g}", str(v.count)] for v in ops],
    )
    print(
        f"IR checkpoint: op-type importance in {out} (feature_importance.csv, "
        f"value_importance.csv{plotted}); module scores need a sequence-graph checkpoint."
    )
    return 0


def _shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in text.split(","))
    except ValueError:
        dims = ()
    if not dims or any(d < 1 for d in dims):
        raise argparse.ArgumentTypeError(
            f"expected positive integers separated by commas, e.g. 3,32,32; got {text!r}"
        )
    return dims


def _k_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer or comma-separated integers, got {text!r}"
        ) from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"every K must be >= 1, got {text!r}")
    return values


def _add_space(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--space",
        required=True,
        help="A built-in space (see 'autobuild spaces') or a .toml file declaring one.",
    )


def _add_shift(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shift",
        choices=["auto", "eq5", "additive", "raw"],
        help="How embedding norms become module scores: eq5 (the paper's distribution shift), "
        "additive (the unit heads), raw (the norms themselves) or auto (unit heads when "
        "trained, else eq5). Default: auto for a checkpoint, eq5 for an ensemble.",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _wide(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number in [0, 1], got {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def _big(n: int) -> str:
    return f"{n:,}" if n < 10**9 else f"{n:.3e} (~10^{int(math.log10(n))})"


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))


class _VersionAction(argparse.Action):
    """``--version``: print the installed version and exit (read only when asked for)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="Show the version and exit.")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from autobuild._version import __version__

        print(f"autobuild {__version__}")
        parser.exit()


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autobuild",
        description="Build strong neural architectures from a few evaluated ones (AutoBuild).",
    )
    parser.add_argument("--version", action=_VersionAction)
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="Debug logging.")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="Warnings only.")
    parser.add_argument("--debug", action="store_true", help="Show tracebacks of errors.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, cls in _COMMANDS.items():
        cmd = cls()
        p = sub.add_parser(name, help=cmd.help, description=cmd.help)
        cmd.add_arguments(p)
        p.set_defaults(_command=cmd)
    return parser


@contextlib.contextmanager
def _logging_to_stderr(verbose: bool, quiet: bool) -> Iterator[None]:
    """Send the ``autobuild`` loggers to the current ``sys.stderr`` for one invocation.

    The handler and the level are removed and restored on exit, so calling :func:`main`
    repeatedly in one process (tests, notebooks) neither duplicates messages nor leaves a
    handler bound to a stream that has since been closed.
    """
    root = logging.getLogger("autobuild")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    level = root.level
    root.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_command", None) is None:
        parser.print_help(sys.stderr)
        return 2
    with _logging_to_stderr(args.verbose, args.quiet):
        try:
            return int(args._command.run(args))
        except CLIUsageError as err:
            if args.debug:
                raise
            print(f"autobuild {args.command}: error: {err}", file=sys.stderr)
            return 2
        except AutobuildError as err:
            if args.debug:
                raise
            print(f"autobuild {args.command}: error: {err}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("autobuild: interrupted", file=sys.stderr)
            return 130


def entrypoint() -> None:
    """Console-script entry point."""
    sys.exit(main())
